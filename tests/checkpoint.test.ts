import { describe, expect, it } from 'vitest';
import { createContext, type GpuContext } from '../src/gpu/context';
import { exportHfModel, importHfModel } from '../src/model/checkpoint';
import { GPTModel } from '../src/model/gpt';
import { parseSafetensors, tensorAsFloat32, writeSafetensors } from '../src/model/safetensors';
import { gpu } from './helpers/gpu';

const keepAlive: GpuContext[] = [];
const cfg = { vocabSize: 29, blockSize: 9, nLayer: 2, nHead: 2, nEmbd: 12 };

describe('Hugging Face checkpoints', () => {
  it('round trip: export then import gives the same weights and config', async () => {
    const ctx = await gpu();
    const model = new GPTModel(ctx, cfg);
    model.initialize(9);
    const files = await exportHfModel(model);
    expect(files.config).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_embd: 12,
      n_layer: 2,
      n_head: 2,
      vocab_size: 29,
      n_positions: 9,
      activation_function: 'gelu_new',
    });
    const parsed = parseSafetensors(files.safetensors);
    expect(parsed.metadata.format).toBe('pt');
    expect(parsed.tensors.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([12, 36]); // Conv1D [in, out]
    const copy = importHfModel(ctx, files);
    const [a, b] = [await model.exportWeights(), await copy.exportWeights()];
    for (const [name, w] of a) expect([...b.get(name)!], name).toEqual([...w]);
    // The nanoGPT init: residual projections are narrower than other weights, layernorms are 1/0.
    const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(std(a.get('transformer.h.0.mlp.c_fc.weight')!)).toBeCloseTo(0.02, 2);
    expect(std(a.get('transformer.h.0.mlp.c_proj.weight')!)).toBeCloseTo(0.01, 2);
    expect([...a.get('transformer.ln_f.weight')!].every((v) => v === 1)).toBe(true);
    model.destroy();
    copy.destroy();
  });

  it('names a missing tensor, a wrong shape and a truncated file', async () => {
    const ctx = await gpu();
    const model = new GPTModel(ctx, cfg);
    const files = await exportHfModel(model);
    const parsed = parseSafetensors(files.safetensors);
    const rewrite = (edit: (name: string, shape: number[]) => number[] | null) =>
      writeSafetensors(
        [...parsed.tensors.values()].flatMap((t) => {
          const shape = edit(t.name, t.shape);
          if (!shape) return [];
          const data = tensorAsFloat32(t);
          return [
            {
              name: t.name,
              dtype: 'F32' as const,
              shape,
              data:
                shape.reduce((a, b) => a * b, 1) === data.length
                  ? data
                  : new Float32Array(shape.reduce((a, b) => a * b, 1)),
            },
          ];
        }),
      );
    const missing = rewrite((name, shape) => (name === 'transformer.h.1.ln_2.bias' ? null : shape));
    expect(() => importHfModel(ctx, { safetensors: missing, config: files.config })).toThrow(
      /missing tensor transformer\.h\.1\.ln_2\.bias/,
    );
    const wrong = rewrite((name, shape) => (name === 'transformer.wpe.weight' ? [10, 12] : shape));
    expect(() => importHfModel(ctx, { safetensors: wrong, config: files.config })).toThrow(
      /tensor transformer\.wpe\.weight has shape \[10,12\], expected \[9,12\]/,
    );
    expect(() =>
      importHfModel(ctx, {
        safetensors: files.safetensors.slice(0, files.safetensors.length - 7),
        config: files.config,
      }),
    ).toThrow(/truncated|shorter|out of range|exceeds/i);
    expect(() =>
      importHfModel(ctx, { safetensors: files.safetensors, config: { ...files.config, n_head: 5 } }),
    ).toThrow(/not divisible/);
    model.destroy();
  });

  it('reports a destroyed (lost) device with its reason', async () => {
    // A second device from the same Dawn instance: a second instance torn down at exit can crash the process.
    const ctx = await createContext((await gpu()).gpu);
    // Dawn in Node aborts the process when a live adapter is garbage-collected: hold it to the end.
    keepAlive.push(ctx);
    ctx.device.destroy();
    await expect(ctx.lost).resolves.toMatch(/GPU device lost \(destroyed\)/);
    expect(ctx.isLost()).toBe(true);
  });
});
