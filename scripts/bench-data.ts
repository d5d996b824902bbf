/**
 * `npm run bench:data`: (1) the bundled corpus's size in tokens for a 16k byte-level BPE trained on
 * it; (2) ingestion speed — parquet rows served over HTTP Range requests by a local server,
 * tokenized and stored as shards — in Node (fake-indexeddb) and in headless Chromium (a Web Worker
 * writing the real IndexedDB). Prints a table and, with --out file.json, writes the numbers.
 */
import 'fake-indexeddb/auto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createStore } from 'idb-keyval';
import { IdbShardStore } from '../src/data/idb-store';
import { createIngestHandler, type IngestRequest, type IngestResponse } from '../src/data/ingest-worker';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { splitLines, trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { IngestRun } from '../tests/browser/data-entry';
import { startBrowserEnv } from '../tests/helpers/browser';
import { startDataServer } from '../tests/helpers/data-server';
import { makeParquet } from '../tests/helpers/parquet';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '24' }, out: { type: 'string' } } });
const results: Record<string, number | string> = {};

// 1. The bundled corpus in tokens.
const corpus = await readFile('public/corpus/brown-fiction.txt', 'utf8');
let started = performance.now();
const model = await trainBpe(splitLines(corpus), { vocabSize: 16384, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const trainSeconds = (performance.now() - started) / 1000;
const tokenizer = new Tokenizer(model);
const lines = [...splitLines(corpus)];
const bundledTokens = lines.reduce((n, line) => n + tokenizer.encode(line).length, 0);
Object.assign(results, {
  bundledBytes: Buffer.byteLength(corpus),
  bundledLines: lines.length,
  vocabReached: tokenizer.vocabSize,
  tokenizerTrainSeconds: +trainSeconds.toFixed(2),
  bundledTokens,
});
console.log(
  `bundled corpus: ${((results.bundledBytes as number) / 1e6).toFixed(2)} MB, ${lines.length} lines -> ${bundledTokens} tokens with a ${tokenizer.vocabSize}-token BPE (asked 16384; trained in ${trainSeconds.toFixed(2)} s)`,
);

// 2. Ingestion speed. The parquet files repeat the corpus's lines up to the requested size.
const targetBytes = Number(values.mb) * 1e6;
const rows: string[] = [];
let textBytes = 0;
while (textBytes < targetBytes) {
  for (const line of lines) {
    if (!line || textBytes >= targetBytes) continue;
    rows.push(line);
    textBytes += Buffer.byteLength(line) + 1;
  }
}
const perFile = Math.ceil(rows.length / 4);
const server = await startDataServer();
const files = await Promise.all(
  [0, 1, 2, 3].map((i) =>
    makeParquet(rows.slice(i * perFile, (i + 1) * perFile), { rowGroupSize: 10_000, codec: 'SNAPPY' }),
  ),
);
server.addDataset(
  'bench/books',
  files.map((bytes, i) => ({ config: 'default', split: 'train', name: `${i}.parquet`, bytes })),
);
const tokenizerJson = toTokenizerJson(model);
const request: IngestRequest = {
  type: 'ingest',
  id: 'bench',
  spec: { kind: 'hub', dataset: 'bench/books' },
  tokenizerJson,
  hubEndpoint: `${server.url}/hub`,
  datasetsServer: `${server.url}/datasets-server`,
};
console.log(
  `ingestion: ${(textBytes / 1e6).toFixed(1)} MB of text in 4 snappy parquet files (${(files.reduce((n, f) => n + f.length, 0) / 1e6).toFixed(1)} MB)`,
);

started = performance.now();
const nodeDone = await new Promise<IngestResponse>((resolve) => {
  const handle = createIngestHandler(
    (m) => m.type !== 'progress' && resolve(m),
    new IdbShardStore(createStore('bench', 'kv')),
  );
  void handle(request);
});
const nodeSeconds = (performance.now() - started) / 1000;
if (nodeDone.type !== 'done') throw new Error(`Node ingestion failed: ${JSON.stringify(nodeDone)}`);
results.nodeMBps = +(textBytes / 1e6 / nodeSeconds).toFixed(2);
results.ingestedTokens = nodeDone.manifest.tokens;
console.log(
  `  Node (fake-indexeddb): ${nodeSeconds.toFixed(1)} s, ${results.nodeMBps} MB/s text, ${nodeDone.manifest.tokens} tokens`,
);

const env = await startBrowserEnv();
try {
  const page = await env.browser.newPage();
  await page.goto(`${env.base}/tests/browser/data.html`);
  await page.locator('#result[data-status="ready"]').waitFor({ timeout: 60_000 });
  const run: IngestRun = await page.evaluate((r) => window.gardenData.ingest(r), request);
  if (run.last.type !== 'done') throw new Error(`browser ingestion failed: ${JSON.stringify(run.last)}`);
  results.chromiumMBps = +(textBytes / 1e6 / run.seconds).toFixed(2);
  console.log(
    `  headless Chromium (Web Worker -> IndexedDB): ${run.seconds.toFixed(1)} s, ${results.chromiumMBps} MB/s text`,
  );
} finally {
  await env.close();
  await server.close();
}
if (values.out) await writeFile(values.out, JSON.stringify(results, null, 2));
