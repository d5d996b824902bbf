/**
 * The GPT: parameters in a ParameterStore under Hugging Face GPT-2 names, nanoGPT initialisation,
 * and the traced forward pass (training and KV-cache decoding share the same blocks).
 */
import type { GpuContext } from '../gpu/context';
import type { Graph } from '../autograd/graph';
import { ParameterStore } from '../autograd/params';
import type { Tensor } from '../autograd/tensor';
import { add, gelu } from '../autograd/ops/elementwise';
import { linear, matmul } from '../autograd/ops/matmul';
import { attention } from '../autograd/ops/attention';
import { attentionDecode } from '../autograd/ops/attention-decode';
import { layerNorm } from '../autograd/ops/layernorm';
import { embedding } from '../autograd/ops/embedding';
import { crossEntropy } from '../autograd/ops/cross-entropy';
import { rng, randn } from '../util/random';
import { type GPTConfig, assertValidConfig } from './config';
import { gpt2ParamShapes } from './hf';

/** Per-layer KV caches for decoding: kCache, vCache are [NH, blockSize, HS]. */
export interface DecodeState {
  kCaches: Tensor[];
  vCaches: Tensor[];
  /** i32 [1]: absolute position of the first token of this call. */
  pos: Tensor;
}

export class GPTModel {
  readonly store: ParameterStore;

  constructor(
    readonly ctx: GpuContext,
    readonly config: GPTConfig,
  ) {
    assertValidConfig(config);
    this.store = new ParameterStore(ctx.device, gpt2ParamShapes(config));
  }

  get paramCount(): number {
    return this.store.count;
  }

  /**
   * nanoGPT initialisation: weights N(0, 0.02), residual projections (attn.c_proj, mlp.c_proj)
   * N(0, 0.02/sqrt(2L)) so the residual stream's variance does not grow with depth; biases 0;
   * layernorms weight 1, bias 0.
   */
  initialize(seed = 1337): void {
    const random = rng(seed);
    const residualStd = 0.02 / Math.sqrt(2 * this.config.nLayer);
    for (const e of this.store.entries) {
      let data: Float32Array;
      if (e.name.includes('.ln_')) data = new Float32Array(e.numel).fill(e.name.endsWith('.weight') ? 1 : 0);
      else if (e.name.endsWith('.bias')) data = new Float32Array(e.numel);
      else data = randn(e.numel, random, e.name.endsWith('c_proj.weight') ? residualStd : 0.02);
      this.store.write(e.name, data);
    }
  }

  /** Loads weights by Hugging Face name; every parameter must be present with its exact size. */
  loadWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const e of this.store.entries) {
      const data = weights.get(e.name);
      if (!data) throw new Error(`missing weight ${e.name} (shape [${e.shape.join(', ')}])`);
      if (data.length !== e.numel)
        throw new Error(
          `weight ${e.name} has ${data.length} values, expected ${e.numel} for shape [${e.shape.join(', ')}]`,
        );
      this.store.write(e.name, data);
    }
  }

  exportWeights(): Promise<Map<string, Float32Array>> {
    return this.store.readAll('param');
  }

  /** Parameter tensors of one graph (each created once per graph). */
  params(graph: Graph): (name: string) => Tensor {
    const cache = new Map<string, Tensor>();
    return (name) => {
      let t = cache.get(name);
      if (!t) cache.set(name, (t = graph.param(name, this.store.entry(name).shape)));
      return t;
    };
  }

  /**
   * Forward pass to logits [B, T, V]. With `decode`, attention reads and extends the KV caches
   * and positions start at decode.pos.
   */
  forward(graph: Graph, idx: Tensor /* i32 [B, T] */, decode?: DecodeState): Tensor {
    const { nLayer, nHead } = this.config;
    const p = this.params(graph);
    let x = embedding(idx, p('transformer.wte.weight'), p('transformer.wpe.weight'), decode?.pos); // [B, T, C]
    for (let l = 0; l < nLayer; l++) {
      const h = `transformer.h.${l}`;
      const ln1 = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`)); // [B, T, C]
      const qkv = linear(ln1, p(`${h}.attn.c_attn.weight`), p(`${h}.attn.c_attn.bias`)); // [B, T, 3C]
      const att = decode
        ? attentionDecode(qkv, decode.kCaches[l]!, decode.vCaches[l]!, decode.pos, nHead)
        : attention(qkv, nHead); // [B, T, C]
      x = add(x, linear(att, p(`${h}.attn.c_proj.weight`), p(`${h}.attn.c_proj.bias`)));
      const ln2 = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`));
      const fc = gelu(linear(ln2, p(`${h}.mlp.c_fc.weight`), p(`${h}.mlp.c_fc.bias`))); // [B, T, 4C]
      x = add(x, linear(fc, p(`${h}.mlp.c_proj.weight`), p(`${h}.mlp.c_proj.bias`)));
    }
    const xf = layerNorm(x, p('transformer.ln_f.weight'), p('transformer.ln_f.bias'));
    return matmul(xf, p('transformer.wte.weight'), { transB: true }); // tied LM head: [B, T, V]
  }

  /** Forward pass and mean cross-entropy loss [1]. */
  loss(graph: Graph, idx: Tensor /* i32 [B, T] */, targets: Tensor /* i32 [B, T] */): { logits: Tensor; loss: Tensor } {
    const logits = this.forward(graph, idx);
    return { logits, loss: crossEntropy(logits, targets) };
  }

  destroy(): void {
    this.store.destroy();
  }
}
