/**
 * `train` when its Dawn device is destroyed mid-run (in-process, SwiftShader): one stderr line per
 * recovery, the run carries on from the checkpoint in its folder (the lost steps trained again to
 * the same bits), log.jsonl keeps each step once; a device lost on every try ends the command
 * after the bound, exit 1, with the checkpoint and the way to resume named.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainCommand, type TrainOptions } from '../src/cli/train';
import type { GpuContext } from '../src/gpu/context';
import { createNodeContext } from '../src/gpu/node';
import { readRunDir } from '../src/train/run-dir';
import { readRunFolder } from '../src/cli/run-folder';
import { inProcess } from './helpers/cli';
import { preparedCorpus } from './helpers/prepare-env';
import { tinyModelFlags } from './helpers/tiny-run';

const RUN = [
  ...tinyModelFlags(2),
  '--seed',
  '5',
  '--steps',
  '6',
  '--checkpoint-every',
  '3',
  '--eval-every',
  '3',
  '--eval-batches',
  '1',
  '--print-every',
  '1',
];
const NO_WAIT = { maxTries: 3, windowMs: 60_000, backoffMs: () => 0 };

let dir: string;
let data: string;
/** The last device made: the next command starts on it while it lives (its kernels are compiled). */
let warm: GpuContext | undefined;
const reuse = async () => (warm = warm && !warm.isLost() ? warm : await createNodeContext());

const train = (out: string, options: TrainOptions) =>
  inProcess(
    (a) => trainCommand(a, { context: reuse, recovery: NO_WAIT, ...options }),
    ['--data', data, '--out', out, ...RUN],
  );

async function logSteps(folder: string): Promise<number[]> {
  const lines = (await readFile(join(folder, 'log.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; loss?: number });
  return lines.filter((l) => l.loss !== undefined).map((l) => l.step);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'garden-lost-'));
  const text = (await readFile('public/corpus/brown-fiction.txt', 'utf8')).slice(0, 30_000);
  data = await preparedCorpus(dir, text, 300);
});

describe('train on a lost GPU device', () => {
  it('recovers from the checkpoint at step 3 when the device is lost at step 5: steps 4 and 5 trained again to the same bits, every step logged once', async () => {
    const out = join(dir, 'lost');
    const seen: { step: number; loss: number; device: number }[] = [];
    const devices: GpuContext[] = [];
    const result = await train(out, {
      watch: (event, ctx) => {
        if (event.type !== 'step') return;
        if (!devices.includes(ctx)) devices.push(ctx);
        seen.push({ step: event.point.step, loss: event.point.loss, device: devices.indexOf(ctx) });
        if (event.point.step === 5 && devices.length === 1) ctx.device.destroy();
      },
    });
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter((l) => l.includes('GPU device lost'))).toEqual([
      'train: GPU device lost at step 5: resuming from the checkpoint at step 3 (try 1 of 3)…',
    ]);
    expect(seen.map((p) => [p.step, p.device])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [5, 0],
      [4, 1],
      [5, 1],
      [6, 1],
    ]);
    // The new device, from the checkpoint on disk, redoes the lost steps bit for bit (the resume is exact).
    expect(seen.slice(5, 7).map((p) => p.loss)).toEqual(seen.slice(3, 5).map((p) => p.loss));
    expect(await logSteps(out)).toEqual([1, 2, 3, 4, 5, 6]);
    const run = readRunDir(await readRunFolder(out));
    expect(run.record.summary.status).toBe('done');
    expect(run.checkpoint.step).toBe(6);
    expect(run.record.steps.map((p) => p.loss)).toEqual([...seen.slice(0, 3), ...seen.slice(5)].map((p) => p.loss));
  }, 400_000); // two devices, each compiling the kernels (tens of seconds on a busy SwiftShader)

  it('lost on every try: exit 1 after 3 tries, naming the checkpoint kept and how to resume', async () => {
    const out = join(dir, 'dead');
    let made = 0;
    const result = await train(out, {
      context: async () => {
        if (made++ === 0) return reuse();
        const dead = await createNodeContext();
        dead.device.destroy();
        await dead.lost;
        return dead;
      },
      watch: (event, ctx) => event.type === 'step' && event.point.step === 4 && ctx.device.destroy(),
    });
    expect(result.code).toBe(1);
    expect(made).toBe(4);
    expect(result.stderr.split('\n').filter((l) => l.includes('(try '))).toHaveLength(3);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `train: GPU device lost at step 4: the new GPU device was lost before the run could continue. 3 tries to continue on a new device within 60 seconds failed. The checkpoint at step 3 is saved: continue with \`train --resume ${out}\``,
    );
    expect(await logSteps(out)).toEqual([1, 2, 3]);
    const run = readRunDir(await readRunFolder(out));
    expect(run.checkpoint.step).toBe(3);
    expect(run.record.steps.map((p) => p.step)).toEqual([1, 2, 3]);
  }, 200_000);
});
