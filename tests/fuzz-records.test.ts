/**
 * Seeded fuzz of the stored-record checkers (run record, dataset manifest, checkpoint): healthy
 * records with fields deleted, swapped for other types (NaN, BigInt, bytes, a cyclic object, deep
 * nesting, a 100 KB string) or wrapped in another level. Each case is either refused with short
 * one-line problems naming the field, or accepted and then read the way the runs list, the dataset
 * list and resume read it without a TypeError.
 */
import { describe, expect, it } from 'vitest';
import { checkManifest, problemText, type Checked } from '../src/data/records';
import { checkCheckpoint, checkRunRecord } from '../src/train/run-records';
import type { DatasetManifest } from '../src/data/types';
import type { CheckpointData, RunRecord } from '../src/train/run-store';
import { rng, type Random } from '../src/util/random';
import { testManifest } from './helpers/manifest';
import { testSettings } from './helpers/settings';

const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

const run: RunRecord = {
  summary: {
    id: 'run-1',
    name: 'healthy',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    settings: testSettings({ vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 }),
    status: 'paused',
    checkpointStep: 5,
    tokens: 320,
    lastLoss: 5.5,
    lastValLoss: 5.6,
    tokenizer: { vocabSize: 300, fingerprint: 'f00d' },
    missingDataset: {
      id: 'd',
      name: 'd',
      source: { kind: 'hub', dataset: 'a/b' },
      tokenizerFingerprint: 'f00d',
      tokens: 1000,
      valFraction: 0.1,
    },
  },
  tokenizerJson: '{}',
  steps: [
    {
      step: 1,
      loss: 5.7,
      lr: 1e-3,
      gradNorm: 1,
      tokens: 64,
      elapsedSeconds: 1,
      tokensPerSecond: 64,
    } as RunRecord['steps'][number],
  ],
  evals: [{ step: 5, valLoss: 5.6 }],
};
const manifest = testManifest('brown', {
  source: { kind: 'files', files: [{ name: 'a.txt', size: 10 }] },
  maxTokens: 5000,
});
const checkpoint: CheckpointData = {
  step: 5,
  adamStep: 5,
  samplerState: 9,
  tokens: 320,
  elapsedSeconds: 2,
  params: new Uint8Array(16),
  adamM: new Uint8Array(16),
  adamV: new Uint8Array(16),
};

function cyclic(): object {
  const o: Record<string, unknown> = { kind: 'hub' };
  o.self = o;
  return o;
}
const deep = JSON.parse(`${'['.repeat(20000)}${']'.repeat(20000)}`) as unknown;
const NASTY: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => '',
  () => 'x'.repeat(100_000),
  () => NaN,
  () => -Infinity,
  () => -1,
  () => 1.5,
  () => 0,
  () => 5n,
  () => true,
  () => [],
  () => ({}),
  () => [1, 2],
  () => new Uint8Array(3),
  () => new Date(0),
  cyclic,
  () => deep,
  () => 'paused',
  () => 'uint32',
  () => 'bundled',
];

/** Every path to a value inside `v` (object keys and array indices), the root excluded; not into planted values. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v === deep || prefix.length > 6 || 'self' in v)
    return out;
  for (const [k, child] of Object.entries(v)) {
    const path = [...prefix, Array.isArray(v) ? Number(k) : k];
    out.push(path);
    paths(child, path, out);
  }
  return out;
}

function mutated<T>(healthy: T, r: Random): unknown {
  if (r() < 0.04) return pick(r, NASTY)(); // the whole record replaced
  const root = structuredClone(healthy) as Record<string, unknown>;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const all = paths(root);
    if (all.length === 0) break;
    const path = pick(r, all);
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, root);
    const key = path[path.length - 1]!;
    const choice = r();
    if (choice < 0.3) delete parent[key];
    else if (choice < 0.4)
      parent[key] = r() < 0.5 ? [parent[key]] : { value: parent[key] }; // one level too deep
    else parent[key] = pick(r, NASTY)();
  }
  return root;
}

/** What the runs list, the status line and resume read from an accepted run record. */
function readRunLikeTheUi(record: RunRecord): string {
  const s = record.summary;
  const parts = [
    s.imported ? `imported from ${s.imported}` : `step ${s.checkpointStep} of ${s.settings.maxSteps}`,
    s.lastLoss !== undefined ? s.lastLoss.toFixed(3) : '',
    s.lastValLoss !== undefined ? s.lastValLoss.toFixed(3) : '',
    new Date(s.updatedAt).toString(),
    s.status.toUpperCase(),
    s.message?.trim() ?? '',
    s.missingDataset
      ? `${s.missingDataset.name ?? ''} ${s.missingDataset.id.trim()} ${s.missingDataset.source.kind}`
      : '',
    s.tokenizer.vocabSize.toLocaleString('en-US'),
    s.tokenizer.fingerprint.slice(0, 6),
    String(s.settings.model.nLayer * s.settings.model.nEmbd),
    s.settings.lr.maxLr.toExponential(2),
    s.settings.datasetId.trim(),
    record.tokenizerJson.length.toString(),
    record.steps.at(-1)?.loss.toFixed(3) ?? '',
    record.evals.at(-1)?.valLoss.toFixed(3) ?? '',
  ];
  return parts.join(' ');
}

/** What the dataset list, the sampler and a resumed ingestion read from an accepted manifest. */
function readManifestLikeTheUi(m: DatasetManifest): string {
  const src = m.source;
  const where =
    src.kind === 'files'
      ? src.files.map((f) => f.name.trim()).join()
      : src.kind === 'hub'
        ? src.dataset.trim()
        : src.url.trim();
  return [
    m.name.trim(),
    m.id.trim(),
    m.tokenizer.vocabSize.toLocaleString('en-US'),
    m.tokenizer.fingerprint.slice(0, 4),
    m.shards.map((x) => `${x.key.trim()}:${x.tokens.toFixed(0)}`).join(),
    m.tokens.toLocaleString('en-US'),
    m.textBytes.toFixed(0),
    m.cursor.file.toFixed(0),
    m.cursor.row.toFixed(0),
    m.complete ? 'done' : 'partial',
    m.valFraction.toFixed(2),
    m.maxTokens?.toFixed(0) ?? '',
    m.dtype.toUpperCase(),
    where,
  ].join(' ');
}

function fuzz<T>(
  name: string,
  healthy: T,
  check: (v: unknown) => Checked<T>,
  read: (v: T) => unknown,
  seed: number,
  minOk = 10,
): void {
  it(`${name}: 400 damaged copies are refused in short lines or read without a TypeError`, () => {
    const r = rng(seed);
    const outcomes = { ok: 0, refused: 0 };
    expect(check(healthy).ok).toBe(true);
    for (let i = 0; i < 400; i++) {
      const value = mutated(healthy, r);
      const checked = check(value);
      if (checked.ok) {
        outcomes.ok++;
        expect(() => read(checked.value), `case ${i}`).not.toThrow();
        continue;
      }
      outcomes.refused++;
      expect(checked.problems.length).toBeGreaterThan(0);
      for (const problem of checked.problems) {
        expect(problem, `case ${i}`).not.toMatch(/\n/);
        expect(problem.length, `case ${i}: ${problem.slice(0, 200)}`).toBeLessThan(300);
      }
      expect(problemText(checked.problems).length).toBeLessThan(1000);
    }
    expect(outcomes.ok, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(minOk);
    expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(250);
  });
}

describe('stored record fuzz', () => {
  fuzz('run record', run, checkRunRecord, readRunLikeTheUi, 11);
  fuzz('dataset manifest', manifest, checkManifest, readManifestLikeTheUi, 12, 5);
  fuzz(
    'checkpoint',
    checkpoint,
    checkCheckpoint,
    (c) =>
      new Float32Array(c.params.buffer, c.params.byteOffset, c.params.byteLength / 4).length +
      c.adamM.length +
      c.adamV.length,
    13,
    2,
  );

  it('names the field that an accepted-looking record would have crashed the list on', () => {
    const lossAsText = structuredClone(run) as unknown as { summary: Record<string, unknown> };
    lossAsText.summary.lastLoss = '5.5';
    expect(checkRunRecord(lossAsText)).toEqual({
      ok: false,
      problems: ['summary.lastLoss is a string, expected a number'],
    });
    const noSource = structuredClone(run) as unknown as { summary: { missingDataset: Record<string, unknown> } };
    noSource.summary.missingDataset.source = {};
    expect(checkRunRecord(noSource)).toEqual({
      ok: false,
      problems: ['summary.missingDataset.source.kind is missing'],
    });
    const badStep = structuredClone(run) as unknown as { steps: unknown[] };
    badStep.steps.push({ step: 2, loss: null });
    expect(checkRunRecord(badStep)).toEqual({ ok: false, problems: ['steps[1].loss is null, expected a number'] });
    const bigFormat = { ...manifest, format: 5n, source: { kind: 'hub' } };
    expect(checkManifest(bigFormat)).toEqual({
      ok: false,
      problems: ['format is 5n, expected "gpt-garden-tokens"', 'source.dataset is missing'],
    });
    // A total past its shards would size an array of every token from a claim (1e12: a RangeError).
    expect(checkManifest({ ...manifest, tokens: 1e12 })).toEqual({
      ok: false,
      problems: ['tokens is 1000000000000 but the shards hold 5000'],
    });
  });
});
