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
import { cast } from '../autograd/ops/cast';
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

export interface ForwardOptions {
  /** Decode with KV caches (sampling); f32 only. */
  decode?: DecodeState;
  /** Mixed precision: f16 weight copies and activations into the matmuls and attention. */
  mixed?: boolean;
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
   * f16 copies of the weights, one cast per graph (so once per micro-batch): what mixed precision's matmuls read.
   * Their gradients pass straight through the cast into the f32 slots.
   */
  halfParams(graph: Graph, p = this.params(graph)): (name: string) => Tensor {
    const cache = new Map<string, Tensor>();
    return (name) => {
      let t = cache.get(name);
      if (!t) cache.set(name, (t = cast(p(name), 'f16')));
      return t;
    };
  }

  /**
   * Forward pass to logits [B, T, V]. With `decode`, attention reads and extends the KV caches
   * and positions start at decode.pos. With `mixed`, the matmuls take f16 weight copies and f16
   * activations (layernorm, qkv, attention, fc and GELU outputs are stored as halves) and
   * accumulate in f32; the logits are stored as halves too (cross-entropy computes in f32), while
   * the residual stream and the loss stay f32, as under autocast.
   */
  forward(graph: Graph, idx: Tensor /* i32 [B, T] */, options: ForwardOptions = {}): Tensor {
    const { decode, mixed = false } = options;
    if (decode && mixed) throw new Error('decoding runs in f32');
    const { nLayer, nHead } = this.config;
    const p = this.params(graph);
    const w = mixed ? this.halfParams(graph, p) : p; // matmul weights
    const act = mixed ? ({ out: 'f16' } as const) : {}; // storage of what feeds a matmul
    const mm = mixed ? { half: true } : {};
    let x = embedding(idx, p('transformer.wte.weight'), p('transformer.wpe.weight'), decode?.pos); // f32 [B, T, C]
    for (let l = 0; l < nLayer; l++) {
      const h = `transformer.h.${l}`;
      const ln1 = layerNorm(x, p(`${h}.ln_1.weight`), p(`${h}.ln_1.bias`), act); // [B, T, C]
      const qkv = linear(ln1, w(`${h}.attn.c_attn.weight`), p(`${h}.attn.c_attn.bias`), { ...mm, ...act }); // [B, T, 3C]
      const att = decode
        ? attentionDecode(qkv, decode.kCaches[l]!, decode.vCaches[l]!, decode.pos, nHead)
        : attention(qkv, nHead, act); // [B, T, C]
      x = add(x, linear(att, w(`${h}.attn.c_proj.weight`), p(`${h}.attn.c_proj.bias`), mm)); // f32
      const ln2 = layerNorm(x, p(`${h}.ln_2.weight`), p(`${h}.ln_2.bias`), act);
      const fc = gelu(linear(ln2, w(`${h}.mlp.c_fc.weight`), p(`${h}.mlp.c_fc.bias`), { ...mm, ...act }), act); // [B, T, 4C]
      x = add(x, linear(fc, w(`${h}.mlp.c_proj.weight`), p(`${h}.mlp.c_proj.bias`), mm));
    }
    const xf = layerNorm(x, p('transformer.ln_f.weight'), p('transformer.ln_f.bias'), act);
    return matmul(xf, w('transformer.wte.weight'), { transB: true, ...mm, ...act }); // tied LM head: [B, T, V]
  }

  /** Forward pass and mean cross-entropy loss [1]. */
  loss(
    graph: Graph,
    idx: Tensor /* i32 [B, T] */,
    targets: Tensor /* i32 [B, T] */,
    mixed = false,
  ): { logits: Tensor; loss: Tensor } {
    const logits = this.forward(graph, idx, { mixed });
    return { logits, loss: crossEntropy(logits, targets) };
  }

  destroy(): void {
    this.store.destroy();
  }
}
