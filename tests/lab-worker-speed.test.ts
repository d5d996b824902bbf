/**
 * The lab worker's training-speed probe in Node (Dawn on SwiftShader, fake-indexeddb): it answers
 * tokens/s and FLOP/s for the model asked, frees its buffers, rejects bad requests, and refuses
 * while a run trains (a probe then would time the run too, and slow it down).
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { fingerprint, ingest } from '../src/data/ingest';
import type { GPTConfig } from '../src/model/config';
import { trainingFlopsPerToken } from '../src/model/hf';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent, LabRequest, RunSettings } from '../src/train/protocol';
import { RunStore } from '../src/train/run-store';
import { measureTrainingSpeed } from '../src/train/speed-probe';
import { gpu } from './helpers/gpu';

const TINY: GPTConfig = { vocabSize: 256, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 };

function lab(
  react?: (event: LabEvent, handle: (m: LabRequest) => Promise<void>) => void,
  shardStore = new IdbShardStore(createStore('speed-data', 'kv')),
) {
  const events: LabEvent[] = [];
  const handle: (m: LabRequest) => Promise<void> = createLabHandler(
    (event) => {
      events.push(event);
      react?.(event, handle);
    },
    { createContext: gpu, shardStore, runStore: new RunStore(createStore(`speed-runs-${Math.random()}`, 'kv')) },
  );
  const of = <T extends LabEvent['type']>(type: T) =>
    events.filter((e): e is Extract<LabEvent, { type: T }> => e.type === type);
  return { handle, of };
}

describe('speed probe', () => {
  it('times a few training steps and reports tokens/s and FLOP/s for the model asked', async () => {
    const { handle, of } = lab();
    const started = performance.now();
    await handle({ type: 'speed-probe', model: TINY, batchSize: 2, steps: 2 });
    const seconds = (performance.now() - started) / 1000;
    expect(of('error')).toEqual([]);
    const speed = of('speed')[0]!;
    expect(speed.model).toEqual(TINY);
    expect(speed.tokensPerSecond).toBeGreaterThan(0);
    expect(speed.flopsPerSecond).toBeCloseTo(speed.tokensPerSecond * trainingFlopsPerToken(TINY), -1);
    // Two timed steps of 64 tokens cannot take longer than the whole call did.
    expect(speed.tokensPerSecond).toBeGreaterThan((2 * 2 * 32) / seconds);
    console.log(
      `speed probe on SwiftShader (2L 32w T32 B2): ${speed.tokensPerSecond.toFixed(0)} tokens/s, ${(speed.flopsPerSecond / 1e9).toFixed(3)} GFLOP/s, ${seconds.toFixed(1)} s in all`,
    );
  });

  it('frees every GPU buffer it made', async () => {
    const ctx = await gpu();
    const device = ctx.device;
    const created = new Set<GPUBuffer>();
    const destroyed = new Set<GPUBuffer>();
    const original = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      const buffer = original(descriptor);
      created.add(buffer);
      const destroy = buffer.destroy.bind(buffer);
      buffer.destroy = () => {
        destroyed.add(buffer);
        destroy();
      };
      return buffer;
    };
    try {
      await measureTrainingSpeed(ctx, TINY, 1, 1);
    } finally {
      device.createBuffer = original;
    }
    expect(created.size).toBeGreaterThan(3);
    expect([...created].filter((b) => !destroyed.has(b)).map((b) => b.label)).toEqual([]);
  });

  it('rejects bad requests as config errors', async () => {
    const { handle, of } = lab();
    await handle({ type: 'speed-probe', model: { ...TINY, nHead: 3 }, batchSize: 2 });
    await handle({ type: 'speed-probe', model: TINY, batchSize: 0 });
    await handle({ type: 'speed-probe', model: TINY, batchSize: 1, steps: 0 });
    expect(of('speed')).toEqual([]);
    expect(of('error').map((e) => e.kind)).toEqual(['config', 'config', 'config']);
    expect(of('error')[0]!.message).toMatch(/width 32 is not divisible by 3 heads/);
    expect(of('error')[1]!.message).toMatch(/batch size must be a whole number of at least 1/);
    expect(of('error')[2]!.message).toMatch(/probe's steps must be a whole number/);
  });

  it('refuses while a run trains, with a clear error, and the run goes on', async () => {
    const lines = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').filter(Boolean).slice(0, 100);
    const bpe = await trainBpe(lines, { vocabSize: 280, minFrequency: 2, specialTokens: [END_OF_TEXT] });
    const tokenizer = new Tokenizer(bpe);
    const tokenizerJson = toTokenizerJson(bpe);
    const shardStore = new IdbShardStore(createStore('speed-data-run', 'kv'));
    await ingest({
      store: shardStore,
      tokenizer,
      tokenizerFingerprint: fingerprint(tokenizerJson),
      id: 'brown',
      spec: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
      source: {
        description: 'lines',
        rowKind: 'line',
        async *read() {
          yield { rows: lines, cursor: { file: 0, row: lines.length }, bytesRead: 0, endOfFile: true };
        },
      },
      valFraction: 0.1,
    });
    const settings: RunSettings = {
      model: { ...TINY, vocabSize: tokenizer.vocabSize },
      batchSize: 2,
      accumSteps: 1,
      maxSteps: 4,
      lr: { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 1 },
      weightDecay: 0.1,
      gradClip: 1,
      evalEvery: 4,
      evalBatches: 0,
      checkpointEvery: 4,
      seed: 1,
      datasetId: 'brown',
    };
    let probe: Promise<void> | undefined;
    const { handle, of } = lab((event, h) => {
      if (event.type === 'step' && event.point.step === 2)
        probe = h({ type: 'speed-probe', model: TINY, batchSize: 1 });
    }, shardStore);
    await handle({ type: 'start', settings, tokenizerJson });
    await probe;
    expect(of('speed')).toEqual([]);
    expect(of('error')).toEqual([
      {
        type: 'error',
        kind: 'config',
        message: 'a run is training: measure the speed when it has ended (pause or stop it first)',
      },
    ]);
    expect(of('step').map((e) => e.point.step)).toEqual([1, 2, 3, 4]);
    expect(of('run').at(-1)!.run.status).toBe('done');
  });
});
