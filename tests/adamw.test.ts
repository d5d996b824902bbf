import { afterEach, describe, expect, it } from 'vitest';
import { ParameterStore, readBytes } from '../src/autograd/params';
import type { GpuContext } from '../src/gpu/context';
import { AdamW, type AdamWOptions } from '../src/optim/adamw';
import { type AdamState, adamwReference, clipReference, zeroAdamState } from '../src/optim/reference';
import { maxRelError } from '../src/util/compare';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

type Specs = { name: string; shape: number[] }[];
const SPECS: Specs = [
  { name: 'w1', shape: [37, 48] },
  { name: 'b1', shape: [67] },
  { name: 'w3', shape: [5, 3, 2] },
  { name: 's', shape: [1] },
];
const HP = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const TOL = 2e-6;

const toF64 = (m: ReadonlyMap<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));
const cloneF64 = (m: ReadonlyMap<string, Float64Array>) => new Map([...m].map(([k, v]) => [k, v.slice()]));
const cloneState = (s: AdamState): AdamState => ({ m: cloneF64(s.m), v: cloneF64(s.v) });

/** Float64 parameters and Adam state, updated alongside the GPU. */
interface Mirror {
  params: Map<string, Float64Array>;
  state: AdamState;
  decayNames: ReadonlySet<string>;
}

/** A parameter store, its optimizer and a float64 mirror of both. */
class Rig implements Mirror {
  readonly store: ParameterStore;
  readonly opt: AdamW;
  params = new Map<string, Float64Array>();
  state: AdamState;
  readonly decayNames: Set<string>;

  constructor(
    readonly ctx: GpuContext,
    readonly specs: Specs,
    readonly options: AdamWOptions & typeof HP & { gradClip: number },
    seed: number,
  ) {
    this.store = new ParameterStore(ctx.device, specs);
    this.opt = new AdamW(ctx, this.store, options);
    const random = rng(seed);
    for (const { name } of specs) {
      const p = randn(this.store.entry(name).numel, random);
      this.store.write(name, p);
      this.params.set(name, Float64Array.from(p));
    }
    this.state = zeroAdamState(this.params);
    this.decayNames = new Set(specs.filter((s) => s.shape.length >= 2).map((s) => s.name));
  }

  grads(seed: number, scale: number): Map<string, Float32Array> {
    const random = rng(seed);
    return new Map(this.specs.map(({ name }) => [name, randn(this.store.entry(name).numel, random, scale)]));
  }

  /** One GPU step (own submit); returns the reference norm after mirroring the step in float64. */
  async step(grads: Map<string, Float32Array>, lr: number): Promise<number> {
    for (const [name, g] of grads) this.store.write(name, g, 'grad');
    const encoder = this.ctx.device.createCommandEncoder();
    this.opt.encodeStep(encoder, { lr });
    this.ctx.device.queue.submit([encoder.finish()]);
    return this.reference(grads, lr, this.opt.stepCount);
  }

  reference(grads: Map<string, Float32Array>, lr: number, step: number, target: Mirror = this): number {
    const g = toF64(grads);
    const norm = clipReference(g, this.options.gradClip);
    adamwReference(target.params, g, target.state, { ...this.options, lr }, step, target.decayNames);
    return norm;
  }

  async expectMatches(tol = TOL): Promise<void> {
    const [p, m, v] = await Promise.all([
      this.store.readAll('param'),
      this.store.readAll('adamM'),
      this.store.readAll('adamV'),
    ]);
    for (const { name } of this.specs) {
      expect(maxRelError(p.get(name)!, this.params.get(name)!), `param ${name}`).toBeLessThan(tol);
      expect(maxRelError(m.get(name)!, this.state.m.get(name)!), `m ${name}`).toBeLessThan(tol);
      expect(maxRelError(v.get(name)!, this.state.v.get(name)!), `v ${name}`).toBeLessThan(tol);
    }
  }

  /** Raw bytes of the param, m and v arenas (to check a skipped step changed nothing). */
  async snapshot(): Promise<Uint8Array[]> {
    const roles = ['param', 'adamM', 'adamV'] as const;
    return Promise.all(
      roles.map(
        async (r) => new Uint8Array(await readBytes(this.ctx.device, this.store.arena(r), 0, this.store.length * 4)),
      ),
    );
  }

  destroy(): void {
    this.opt.destroy();
    this.store.destroy();
  }
}

let rigs: Rig[] = [];
afterEach(() => {
  rigs.forEach((r) => r.destroy());
  rigs = [];
});
async function rig(options: Partial<AdamWOptions> = {}, specs = SPECS, seed = 1): Promise<Rig> {
  const r = new Rig(await gpu(), specs, { ...HP, gradClip: 1.0, ...options }, seed);
  rigs.push(r);
  return r;
}

describe('AdamW + global-norm clipping against float64 torch semantics', () => {
  it('three steps (clipped, unclipped, clipped) with different lr', async () => {
    const r = await rig();
    // A mirror that wrongly decays every tensor (biases too): the comparison must be able to fail.
    const wrong: Mirror = {
      params: cloneF64(r.params),
      state: cloneState(r.state),
      decayNames: new Set(SPECS.map((s) => s.name)),
    };
    const plan = [
      { seed: 11, scale: 1, lr: 1e-2, clipped: true },
      { seed: 12, scale: 0.005, lr: 3e-3, clipped: false },
      { seed: 13, scale: 0.3, lr: 2e-2, clipped: true },
    ];
    for (const { seed, scale, lr, clipped } of plan) {
      const grads = r.grads(seed, scale);
      r.reference(grads, lr, r.opt.stepCount + 1, wrong);
      const norm = await r.step(grads, lr);
      expect(norm > 1, `step ${r.opt.stepCount} clipped`).toBe(clipped);
      const record = await r.opt.readNormRecord();
      expect(Math.abs(record.norm - norm) / norm).toBeLessThan(1e-6);
      expect(record.skipped).toBe(false);
      expect(Math.abs(record.clipCoef - Math.min(1 / (norm + 1e-6), 1))).toBeLessThan(1e-6);
      await r.expectMatches();
    }
    expect(r.opt.stepCount).toBe(3);
    const p = await r.store.readAll('param');
    expect(maxRelError(p.get('b1')!, wrong.params.get('b1')!)).toBeGreaterThan(100 * TOL);
    expect(maxRelError(p.get('w1')!, wrong.params.get('w1')!)).toBeLessThan(TOL);
  });

  it('NaN or Inf gradients (or an overflowing norm) skip the step on the GPU', async () => {
    const r = await rig();
    await r.step(r.grads(21, 1), 1e-2);
    const before = await r.snapshot();
    const cases: [string, number, number][] = [
      ['w1', 100, NaN],
      ['s', 0, Infinity],
      ['b1', 66, -Infinity],
      ['w3', 29, NaN],
    ];
    for (const [name, index, value] of cases) {
      const grads = r.grads(22, 1);
      grads.get(name)![index] = value;
      if (name === 'w3') grads.get('b1')![3] = Infinity; // NaN wins over Inf
      for (const [n, g] of grads) r.store.write(n, g, 'grad');
      const encoder = r.ctx.device.createCommandEncoder();
      r.opt.encodeStep(encoder, { lr: 1e-2, step: 2 });
      r.ctx.device.queue.submit([encoder.finish()]);
      const record = await r.opt.readNormRecord();
      expect(record.skipped, `${name}[${index}] = ${value}`).toBe(true);
      if (Number.isNaN(value)) expect(record.norm).toBeNaN();
      else expect(record.norm).toBe(Infinity);
      expect(await r.snapshot()).toEqual(before);
    }
    // Finite gradients whose squares overflow f32: the norm is Infinity and the step is skipped too.
    const huge = r.grads(23, 1e20);
    for (const [n, g] of huge) r.store.write(n, g, 'grad');
    const encoder = r.ctx.device.createCommandEncoder();
    r.opt.encodeStep(encoder, { lr: 1e-2, step: 2 });
    r.ctx.device.queue.submit([encoder.finish()]);
    expect(await r.opt.readGradNorm()).toBe(Infinity);
    expect(await r.snapshot()).toEqual(before);

    // The guard does not stick: the next finite step is Adam's step 2.
    r.opt.stepCount = 1;
    const norm = await r.step(r.grads(24, 0.5), 5e-3);
    expect(r.opt.stepCount).toBe(2);
    expect(Math.abs((await r.opt.readGradNorm()) - norm) / norm).toBeLessThan(1e-6);
    await r.expectMatches();
  });

  it('gradient norm over many workgroup partials: exact, deterministic; clipping disabled', async () => {
    const specs: Specs = [
      { name: 'big', shape: [300, 100] },
      { name: 'odd', shape: [7, 7] },
      { name: 'bias', shape: [1000] },
    ];
    const r = await rig({ gradClip: 0 }, specs, 5);
    expect(r.store.length / 4096).toBeGreaterThan(7); // several partials reduced by stage 2
    const grads = r.grads(31, 3);
    grads.get('bias')!.fill(0.25, 0, 500);
    const norm = await r.step(grads, 1e-3);
    const record = await r.opt.readNormRecord();
    expect(norm).toBeGreaterThan(100);
    expect(Math.abs(record.norm - norm) / norm).toBeLessThan(1e-6);
    expect(record.clipCoef).toBe(1); // gradClip 0: measured, not clipped
    await r.expectMatches();

    // Same gradients again: bit-identical norm.
    const encoder = r.ctx.device.createCommandEncoder();
    r.opt.encodeStep(encoder, { lr: 1e-3 });
    r.ctx.device.queue.submit([encoder.finish()]);
    expect(await r.opt.readGradNorm()).toBe(record.norm);
  });

  it('several steps recorded into one command buffer each use their own uniforms', async () => {
    const r = await rig({ gradClip: Infinity });
    const grads = r.grads(41, 0.2);
    for (const [name, g] of grads) r.store.write(name, g, 'grad');
    const lrs = [1e-2, 3e-2, 5e-3];
    expect(lrs.length).toBeLessThanOrEqual(r.opt.ringSize);
    const encoder = r.ctx.device.createCommandEncoder();
    const sink = r.ctx.device.createBuffer({
      size: 16 * lrs.length,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    lrs.forEach((lr, k) => {
      r.opt.encodeStep(encoder, { lr });
      r.opt.copyNormTo(encoder, sink, 16 * k, 16);
    });
    r.ctx.device.queue.submit([encoder.finish()]);
    let norm = 0;
    lrs.forEach((lr, k) => (norm = r.reference(grads, lr, k + 1)));
    await r.expectMatches();
    const copied = new Float32Array(await readBytes(r.ctx.device, sink, 0, 16 * lrs.length));
    sink.destroy();
    for (let k = 0; k < lrs.length; k++) expect(Math.abs(copied[4 * k]! - norm) / norm).toBeLessThan(1e-6);
  });
});
