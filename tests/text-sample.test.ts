/**
 * "The first N MB" of a source as the BPE trainer's texts: streamed off a local Hub-like parquet
 * server, cut at exactly N bytes (never inside a character), stopping the download there; the
 * tokenizer it trains equals trainBpe on the same first-N-bytes text; cancel; the worker's
 * 'train-source' message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/data/sources/index';
import { cutUtf8, sampleTexts, trainBpeOnSample } from '../src/data/text-sample';
import type { SourceSpec, TextSource } from '../src/data/types';
import { createTrainHandler, type TrainResponse } from '../src/data/tokenizer-worker';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { isCancelled, splitLines, trainBpe, utf8Length } from '../src/tokenizer/trainer';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { bookRows } from './helpers/text';

const ROWS = bookRows(3000, 11);
const TEXT = ROWS.map((r) => `${r}\n`).join('');
const HUB = (dataset: string, rowKind?: 'line' | 'document'): SourceSpec => ({ kind: 'hub', dataset, rowKind });

let server: DataServer;
let env: { hubEndpoint: string; datasetsServer: string };

beforeAll(async () => {
  server = await startDataServer();
  const half = ROWS.length / 2;
  const files = [ROWS.slice(0, half), ROWS.slice(half)];
  const bytes = await Promise.all(files.map((rows) => makeParquet(rows, { rowGroupSize: 100 })));
  server.addDataset(
    'garden/books',
    bytes.map((b, i) => ({ config: 'default', split: 'train', name: `${i}.parquet`, bytes: b })),
  );
  server.add(
    'docs.jsonl',
    ROWS.slice(0, 50)
      .map((text) => JSON.stringify({ text }))
      .join('\n'),
  );
  env = { hubEndpoint: `${server.url}/hub`, datasetsServer: `${server.url}/datasets-server` };
});

afterAll(async () => {
  await server?.close();
});

async function collect(source: TextSource, maxBytes: number) {
  const sample = sampleTexts(source, { maxBytes });
  const texts: string[] = [];
  for await (const t of sample.texts) texts.push(t);
  return { texts, stats: sample.stats };
}

/** The first `n` bytes of an ASCII-and-a-few-accents text, cut on a character boundary. */
function prefix(text: string, n: number): string {
  return cutUtf8(text, n);
}

describe('text sample', () => {
  it('cutUtf8 never splits a character', () => {
    expect(cutUtf8('café', 4)).toBe('caf');
    expect(cutUtf8('café', 5)).toBe('café');
    expect(cutUtf8('a😀b', 2)).toBe('a');
    expect(cutUtf8('a😀b', 5)).toBe('a😀');
    expect(cutUtf8('abc', 0)).toBe('');
  });

  it('streams the first N bytes of a Hub dataset as lines, and stops fetching there', async () => {
    const n = 20_000 + 7; // mid-row
    const before = server.requests.length;
    const { texts, stats } = await collect(await createSource(HUB('garden/books', 'line'), env), n);
    expect(texts.join('')).toBe(prefix(TEXT, n));
    expect([...texts]).toEqual([...splitLines(prefix(TEXT, n))]);
    expect(stats).toMatchObject({ bytes: utf8Length(prefix(TEXT, n)), cut: true });
    expect(stats.bytes).toBeLessThanOrEqual(n);
    expect(stats.bytes).toBeGreaterThan(n - 4);
    // Reading stopped inside the first file: the second one was never fetched.
    const fetched = server.requests
      .slice(before)
      .map((r) => r.path)
      .filter((p) => p.endsWith('.parquet'));
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.every((p) => p.endsWith('/0.parquet'))).toBe(true);
  });

  it('an exact row boundary is kept whole; a source smaller than N is read to its end', async () => {
    const source = await createSource(HUB('garden/books', 'line'), env);
    const boundary = utf8Length(
      ROWS.slice(0, 10)
        .map((r) => `${r}\n`)
        .join(''),
    );
    const atBoundary = await collect(source, boundary);
    expect(atBoundary.texts).toEqual(ROWS.slice(0, 10).map((r) => `${r}\n`));
    expect(atBoundary.stats).toEqual({ bytes: boundary, rows: 10, cut: true });
    const whole = await collect(source, 1e9);
    expect(whole.texts.join('')).toBe(TEXT);
    expect(whole.stats).toEqual({ bytes: utf8Length(TEXT), rows: ROWS.length, cut: false });
  });

  it('document rows are documents (no newline added)', async () => {
    const { texts } = await collect(await createSource({ kind: 'url', url: `${server.url}/files/docs.jsonl` }), 1e6);
    expect(texts).toEqual(ROWS.slice(0, 50));
  });

  it('trains the same tokenizer as trainBpe on the same first-N-bytes text', async () => {
    const n = 60_000 + 3;
    const source = await createSource(HUB('garden/books', 'line'), env);
    const progress: number[] = [];
    const result = await trainBpeOnSample(source, {
      sampleBytes: n,
      vocabSize: 600,
      onProgress: (p) => p.phase === 'counting' && progress.push(p.done / p.total),
    });
    const expected = await trainBpe(splitLines(prefix(TEXT, n)), { vocabSize: 600 });
    expect(result.model.merges).toEqual(expected.merges);
    expect(toTokenizerJson(result.model)).toBe(toTokenizerJson(expected));
    expect(result).toMatchObject({ reached: 600, asked: 600 });
    expect(result.stats.bytes).toBe(utf8Length(prefix(TEXT, n)));
    expect(progress.at(-1)).toBeCloseTo(result.stats.bytes / n, 6);
    expect(progress.every((f) => f >= 0 && f <= 1)).toBe(true);
  });

  it('says when the sample cannot reach the vocabulary (reached < asked)', async () => {
    const source = await createSource(HUB('garden/books', 'line'), env);
    const result = await trainBpeOnSample(source, { sampleBytes: 2_000, vocabSize: 5_000 });
    expect(result.asked).toBe(5_000);
    expect(result.reached).toBe(result.model.vocab.size);
    expect(result.reached).toBeLessThan(1_000);
  });

  it('cancels: the signal stops reading and training with the trainer’s cancel error', async () => {
    const controller = new AbortController();
    const source = await createSource(HUB('garden/books', 'line'), env);
    const run = trainBpeOnSample(source, {
      sampleBytes: 1e9,
      vocabSize: 50_000,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    const error = await run.catch((e: unknown) => e);
    expect(isCancelled(error)).toBe(true);
  });
});

describe("tokenizer worker: 'train-source'", () => {
  it('streams the sample itself and answers the tokenizer and the bytes read; cancel answers cancelled', async () => {
    const replies: TrainResponse[] = [];
    const handle = createTrainHandler((m) => replies.push(m), env);
    await handle({
      type: 'train-source',
      spec: HUB('garden/books', 'line'),
      sampleBytes: 30_000,
      options: { vocabSize: 400 },
    });
    const done = replies.at(-1)!;
    expect(done.type).toBe('done');
    const expected = await trainBpe(splitLines(prefix(TEXT, 30_000)), { vocabSize: 400 });
    expect(done).toMatchObject({ json: toTokenizerJson(expected), sampleBytes: 30_000 });
    expect(replies.some((r) => r.type === 'progress' && r.progress.phase === 'counting')).toBe(true);

    replies.length = 0;
    const running = handle({
      type: 'train-source',
      spec: HUB('garden/books', 'line'),
      sampleBytes: 1e9,
      options: { vocabSize: 50_000 },
    });
    await handle({ type: 'cancel' });
    await running;
    expect(replies.at(-1)).toMatchObject({ type: 'error', cancelled: true });
  });

  it('a source that cannot be read is an error, not a hang', async () => {
    const replies: TrainResponse[] = [];
    await createTrainHandler((m) => replies.push(m), { ...env, retries: 0 })({
      type: 'train-source',
      spec: { kind: 'url', url: `${server.url}/status/404/files/docs.jsonl` },
      sampleBytes: 1000,
      options: { vocabSize: 300 },
    });
    expect(replies.at(-1)).toMatchObject({ type: 'error', cancelled: false, message: expect.stringMatching(/404/) });
  });
});
