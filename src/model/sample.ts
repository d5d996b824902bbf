/**
 * Text generation with a KV cache. A prefill plan runs the whole context once (T = block, padded:
 * causal attention keeps padding from touching earlier rows) and fills the caches; a decode plan
 * then runs one token per step. Past the block size the context is cropped to the last block
 * tokens as nanoGPT does, which shifts every position, so each step re-runs the prefill.
 */
import { Graph } from '../autograd/graph';
import { readBytes, type Slice } from '../autograd/params';
import { Plan } from '../autograd/plan';
import type { Tensor } from '../autograd/tensor';
import type { BufferPool } from '../gpu/pool';
import { rng, type Random } from '../util/random';
import type { DecodeState, GPTModel } from './gpt';

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 means greedy (argmax). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Called with each new token as soon as it is chosen (for streaming text). */
  onToken?: (token: number) => void;
  signal?: AbortSignal;
}

interface DecodePlan {
  plan: Plan;
  idx: Tensor; // i32 [1, T]
  pos: Tensor; // i32 [1]
  logits: Tensor; // [1, T, V]
}

export class Sampler {
  private readonly prefill: DecodePlan;
  private readonly step: DecodePlan;
  private readonly caches: GPUBuffer[] = [];

  constructor(
    private readonly model: GPTModel,
    pool?: BufferPool,
  ) {
    const { nLayer, nHead, nEmbd, blockSize } = model.config;
    const cacheBytes = nHead * blockSize * (nEmbd / nHead) * 4; // [NH, blockSize, HS]
    for (let i = 0; i < 2 * nLayer; i++)
      this.caches.push(
        model.ctx.device.createBuffer({
          label: `kv-cache.${i}`,
          size: cacheBytes,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
        }),
      );
    this.prefill = this.build(blockSize, pool);
    this.step = this.build(1, pool);
  }

  private build(T: number, pool?: BufferPool): DecodePlan {
    const { nLayer, nHead, nEmbd, blockSize } = this.model.config;
    const graph = new Graph();
    const idx = graph.input('idx', [1, T], 'i32');
    const pos = graph.input('pos', [1], 'i32');
    const external = new Map<Tensor, Slice>();
    const cache = (i: number) => {
      const t = graph.input(`cache${i}`, [nHead, blockSize, nEmbd / nHead]);
      external.set(t, { buffer: this.caches[i]!, offset: 0, size: this.caches[i]!.size });
      return t;
    };
    const state: DecodeState = {
      kCaches: Array.from({ length: nLayer }, (_, l) => cache(2 * l)),
      vCaches: Array.from({ length: nLayer }, (_, l) => cache(2 * l + 1)),
      pos,
    };
    const logits = this.model.forward(graph, idx, { decode: state });
    const plan = new Plan(this.model.ctx, graph, {
      store: this.model.store,
      retain: [logits],
      pool,
      external,
      label: `decode.T${T}`,
    });
    return { plan, idx, pos, logits };
  }

  /** Runs one plan and reads the logits of row `row` ([V]). */
  private async logitsAt(p: DecodePlan, tokens: number[], position: number, row: number): Promise<Float32Array> {
    const T = p.idx.shape[1]!;
    const ids = new Int32Array(T);
    ids.set(tokens);
    p.plan.write(p.idx, ids);
    p.plan.write(p.pos, Int32Array.of(position));
    p.plan.run();
    const V = this.model.config.vocabSize;
    const slice = p.plan.slice(p.logits);
    return new Float32Array(await readBytes(this.model.ctx.device, slice.buffer, slice.offset + row * V * 4, V * 4));
  }

  /** Generates up to maxNewTokens after `prompt`; returns the new tokens. */
  async generate(prompt: readonly number[], options: SampleOptions): Promise<number[]> {
    if (prompt.length === 0) throw new Error('generate: the prompt needs at least one token');
    const { blockSize, vocabSize } = this.model.config;
    for (const t of prompt)
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize)
        throw new Error(`generate: token ${t} is outside the vocabulary (0..${vocabSize - 1})`);
    const random = rng(options.seed ?? 1);
    const seq = [...prompt];
    const out: number[] = [];
    let cached = 0; // tokens of seq whose keys/values are in the caches at positions 0..cached-1
    for (let i = 0; i < options.maxNewTokens; i++) {
      if (options.signal?.aborted) break;
      let logits: Float32Array;
      if (seq.length > blockSize || cached === 0) {
        const window = seq.slice(-blockSize);
        logits = await this.logitsAt(this.prefill, window, 0, window.length - 1);
        cached = seq.length > blockSize ? 0 : window.length;
      } else {
        logits = await this.logitsAt(this.step, [seq[seq.length - 1]!], seq.length - 1, 0);
        cached = seq.length;
      }
      const token = pickToken(logits, options, random);
      seq.push(token);
      out.push(token);
      options.onToken?.(token);
    }
    return out;
  }

  destroy(): void {
    this.prefill.plan.destroy();
    this.step.plan.destroy();
    for (const b of this.caches) b.destroy();
  }
}

/** Chooses the next token: greedy when temperature is 0, else temperature, top-k, top-p sampling. */
export function pickToken(
  logits: Float32Array,
  options: Pick<SampleOptions, 'temperature' | 'topK' | 'topP'>,
  random: Random,
): number {
  const temperature = options.temperature ?? 1;
  if (temperature <= 0) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v; // first max wins, as torch.argmax
    return best;
  }
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (options.topK && options.topK > 0) order = order.slice(0, options.topK);
  const max = logits[order[0]!]!;
  let probs = order.map((v) => Math.exp((logits[v]! - max) / temperature));
  const sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (options.topP !== undefined && options.topP < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < probs.length && cumulative < options.topP) cumulative += probs[keep++]!;
    order = order.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
  }
  const total = probs.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < order.length; i++) {
    r -= probs[i]!;
    if (r <= 0) return order[i]!;
  }
  return order[order.length - 1]!;
}
