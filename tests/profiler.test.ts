/**
 * The step profiler on SwiftShader (it has timestamp-query): one row per op and direction the step
 * dispatches, every dispatch counted once, FLOPs from the shapes, the total near the wall time;
 * and `bench --profile --out` writes the same as JSON.
 */
import 'fake-indexeddb/auto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate, Profiler, ProfilerUnavailable, type ProfileResult } from '../src/gpu/profiler';
import { benchCommand } from '../src/cli/bench';
import type { GPTConfig } from '../src/model/config';
import { GPTModel } from '../src/model/gpt';
import { TrainStep } from '../src/train/step';
import { randint, rng } from '../src/util/random';
import { createStore } from 'idb-keyval';
import { IdbShardStore } from '../src/data/idb-store';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent } from '../src/train/protocol';
import { RunStore } from '../src/train/run-store';
import { inProcess } from './helpers/cli';
import { gpu } from './helpers/gpu';
import { tinyModelFlags } from './helpers/tiny-run';

const CONFIG: GPTConfig = { vocabSize: 400, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 };
const B = 4;
const ACCUM = 2;

describe('aggregate', () => {
  it('sums dispatches per op and direction, counts a call once, sorts by time', () => {
    const p = aggregate(
      [
        { op: 'matmul', phase: 'forward', first: true, flops: 2e9, bytes: 100 },
        { op: 'matmul', phase: 'forward', first: false, flops: 0, bytes: 0 },
        { op: 'matmul', phase: 'backward', first: true, flops: 4e9, bytes: 200 },
        { op: 'gelu', phase: 'forward', first: true, bytes: 1e6 },
      ],
      [1, 1, 3, 0.5],
    );
    expect(p.rows.map((r) => `${r.op}/${r.phase}/${r.calls}/${r.dispatches}`)).toEqual([
      'matmul/backward/1/1',
      'matmul/forward/1/2',
      'gelu/forward/1/1',
    ]);
    expect(p.totalMs).toBe(5.5);
    expect(p.rows[1]!.tflops).toBeCloseTo(2e9 / 2e-3 / 1e12, 12); // 2 GFLOP in 2 ms = 1 TFLOP/s
    expect(p.rows[2]!.tflops).toBeNull();
    expect(p.rows[2]!.gbps).toBeCloseTo(1e6 / 0.5e-3 / 1e9, 12);
    expect(p.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 12);
  });

  it('refuses an adapter without timestamp-query in one line', async () => {
    const ctx = await gpu();
    expect(() => new Profiler(ctx.device, new Set(['shader-f16']), 4)).toThrow(ProfilerUnavailable);
    expect(() => new Profiler(ctx.device, new Set(['shader-f16']), 4)).toThrow(/no timestamp-query/);
  });
});

/** 2·M·N·K of every matmul node, from the stored shapes and transpose flags (not the op's own helper). */
function matmulFlops(train: TrainStep, from: number, to: number): number {
  let flops = 0;
  train.graph.nodes.slice(from, to).forEach((node) => {
    if (node.op.name !== 'matmul') return;
    const [a, b] = node.inputs;
    const aCols = a!.shape.at(-1)!;
    const aRows = a!.numel / aCols;
    const bCols = b!.shape.at(-1)!;
    const bRows = b!.numel / bCols;
    const M = node.attrs.transA ? aCols : aRows;
    const K = node.attrs.transA ? aRows : aCols;
    const N = node.attrs.transB ? bRows : bCols;
    flops += 2 * M * N * K;
  });
  return flops;
}

describe('profiling one training step (tiny model, SwiftShader)', () => {
  it('has one row per op kind dispatched, counts every dispatch once and agrees with the wall time', async () => {
    const ctx = await gpu();
    expect(ctx.features.has('timestamp-query')).toBe(true);
    const model = new GPTModel(ctx, CONFIG);
    model.initialize(3);
    const train = new TrainStep(model, { batchSize: B, seqLen: CONFIG.blockSize, accumSteps: ACCUM }, { lr: 1e-3 });
    const random = rng(5);
    const batches = () =>
      Array.from({ length: ACCUM }, () => ({
        idx: randint(B * CONFIG.blockSize, CONFIG.vocabSize, random),
        targets: randint(B * CONFIG.blockSize, CONFIG.vocabSize, random),
      }));
    try {
      await train.step(batches(), 1e-3); // compiles and warms up
      const start = performance.now();
      await train.step(batches(), 1e-3);
      const wallMs = performance.now() - start;
      await train.profile(batches(), 1e-3); // the first single-dispatch replay pays one-off costs
      const before = await model.store.readAll('param');
      const p: ProfileResult & { loss: number } = await train.profile(batches(), 1e-3);
      const after = await model.store.readAll('param');

      // It is a real step: finite loss, and the weights moved.
      expect(Number.isFinite(p.loss)).toBe(true);
      expect([...before.keys()].some((k) => before.get(k)!.some((v, i) => v !== after.get(k)![i]))).toBe(true);

      // One row per (op, direction) the plan dispatches, plus AdamW's.
      const kinds = new Set([...train.plan.dispatchTags.map((t) => `${t.op}/${t.phase}`), 'adamw/optimizer']);
      expect(new Set(p.rows.map((r) => `${r.op}/${r.phase}`))).toEqual(kinds);
      expect(p.rows.length).toBe(kinds.size);
      for (const k of [
        'matmul/forward',
        'matmul/backward',
        'attention/forward',
        'attention_backward/backward',
        'cross_entropy/forward',
        'layernorm/forward',
      ])
        expect(kinds).toContain(k);

      // Every dispatch of every micro-batch, once; calls are nodes, once per micro-batch.
      expect(p.dispatches).toBe(ACCUM * train.plan.dispatchCount + 1);
      expect(p.rows.reduce((s, r) => s + r.dispatches, 0)).toBe(p.dispatches);
      const dispatching = train.graph.nodes.filter(
        (n) =>
          n.op.encode(
            n.inputs.map((t) => t.spec),
            n.attrs,
          ).length > 0,
      ).length;
      expect(p.rows.reduce((s, r) => s + r.calls, 0)).toBe(ACCUM * dispatching + 1);

      // Shares sum to 1, times are sane, the rows add up to the total.
      expect(p.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
      expect(p.rows.reduce((s, r) => s + r.ms, 0)).toBeCloseTo(p.totalMs, 6);
      for (const r of p.rows) expect(r.ms).toBeGreaterThanOrEqual(0);
      expect(p.rows.filter((r) => r.op === 'matmul').every((r) => r.ms > 0)).toBe(true);
      // The dispatches run alone in profile mode; their sum stays within a factor 3 of a normal step.
      expect(p.totalMs).toBeGreaterThan(wallMs / 3);
      expect(p.totalMs).toBeLessThan(wallMs * 3);

      // Matmul FLOPs: 2·M·N·K over the forward nodes and over the backward nodes, per micro-batch.
      const split = train.graph.nodes.findIndex((n) => n.op.name === 'cross_entropy') + 1;
      const forward = p.rows.find((r) => r.op === 'matmul' && r.phase === 'forward')!;
      const backward = p.rows.find((r) => r.op === 'matmul' && r.phase === 'backward')!;
      expect(forward.flops).toBe(ACCUM * matmulFlops(train, 0, split));
      expect(backward.flops).toBe(ACCUM * matmulFlops(train, split, train.graph.nodes.length));
      // The lm head alone (BT x C x V, forward) is in there: 2·(B·T)·C·V per micro-batch.
      expect(forward.flops).toBeGreaterThan(ACCUM * 2 * B * CONFIG.blockSize * CONFIG.nEmbd * CONFIG.vocabSize);
      expect(forward.tflops).toBeCloseTo(forward.flops / (forward.ms / 1000) / 1e12, 9);
    } finally {
      train.destroy();
      model.destroy();
    }
  }, 120_000);
});

describe('bench --profile', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('parses the flag and writes the profile as JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gg-profile-'));
    const out = join(dir, 'bench.json');
    const args = ['--profile', ...tinyModelFlags(2), '--vocab', '400', '--steps', '1', '--out', out];
    const result = await inProcess(benchCommand, args);
    expect(result.code).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8')) as {
      profile: ProfileResult;
      trainStep: { msPerStep: number };
    };
    expect(json.profile.rows.length).toBeGreaterThan(10);
    expect(json.profile.wallMs).toBe(json.trainStep.msPerStep);
    expect(json.profile.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
    expect(json.profile.rows.some((r) => r.op === 'adamw' && r.phase === 'optimizer')).toBe(true);
    expect(json.profile.rows.reduce((s, r) => s + r.dispatches, 0)).toBe(json.profile.dispatches);
  }, 120_000);

  it('refuses a bad number in one line', async () => {
    await expect(benchCommand(['--profile', '--batch', 'x'])).rejects.toThrow(/--batch must be a whole number/);
  });
});

describe("the lab's 'profile' message", () => {
  it('answers with the same table for the model asked', async () => {
    const events: LabEvent[] = [];
    const handle = createLabHandler((e) => events.push(e), {
      createContext: gpu,
      shardStore: new IdbShardStore(createStore('profile-data', 'kv')),
      runStore: new RunStore(createStore('profile-runs', 'kv')),
    });
    await handle({ type: 'profile', model: CONFIG, batchSize: 2 });
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const answer = events.find((e): e is Extract<LabEvent, { type: 'profile' }> => e.type === 'profile')!;
    expect(answer.model).toEqual(CONFIG);
    const p = answer.profile;
    expect(p.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
    expect(p.rows.reduce((s, r) => s + r.dispatches, 0)).toBe(p.dispatches);
    expect(p.wallMs).toBeGreaterThan(0);
    // The lm head alone: 2·(B·T)·C·V FLOPs in the forward matmuls.
    const forward = p.rows.find((r) => r.op === 'matmul' && r.phase === 'forward')!;
    expect(forward.flops).toBeGreaterThan(2 * 2 * CONFIG.blockSize * CONFIG.nEmbd * CONFIG.vocabSize);
    expect(p.rows.some((r) => r.op === 'adamw' && r.phase === 'optimizer')).toBe(true);
  }, 120_000);
});
