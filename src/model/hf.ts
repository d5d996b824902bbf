/**
 * Hugging Face GPT-2 interop: config.json, parameter names/shapes, and the counts derived from them.
 * The model is HF's GPT2LMHeadModel: tanh GELU (`gelu_new`), LayerNorm eps 1e-5, biases everywhere,
 * lm_head tied to wte. Conv1D weights are stored [in, out], so x @ W needs no transpose.
 */

import type { GPTConfig } from './config';

/** The dimensions that fix a GPT-2's parameter shapes. */
export type GptDims = GPTConfig;

export interface ParamShape {
  name: string;
  shape: number[];
}

export class HfConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfConfigError';
  }
}

/** The text that separates documents; its id is the model's bos and eos (GPT-2's convention). */
export const END_OF_TEXT = '<|endoftext|>';

/**
 * The id of <|endoftext|> in a tokenizer.json (its added_tokens, else model.vocab); undefined when
 * it has none or the text is not such a file. A loose read: export must not fail on a tokenizer
 * that the run already trained with.
 */
export function endOfTextId(tokenizerJson: string): number | undefined {
  let root: unknown;
  try {
    root = JSON.parse(tokenizerJson);
  } catch {
    return undefined;
  }
  if (typeof root !== 'object' || root === null) return undefined;
  const { added_tokens: added, model } = root as { added_tokens?: unknown; model?: { vocab?: unknown } };
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (Array.isArray(added)) {
    const token = added.find(
      (t) => typeof t === 'object' && t !== null && (t as { content?: unknown }).content === END_OF_TEXT,
    ) as { id?: unknown } | undefined;
    if (token && isId(token.id)) return token.id;
  }
  const vocab = model?.vocab;
  if (typeof vocab === 'object' && vocab !== null && !Array.isArray(vocab)) {
    const id = (vocab as Record<string, unknown>)[END_OF_TEXT];
    if (isId(id)) return id;
  }
  return undefined;
}

/**
 * config.json for GPT2LMHeadModel with our fixed architecture choices. `endOfText` (see
 * endOfTextId) becomes bos_token_id and eos_token_id, so generate() stops at a document's end.
 */
export function hfConfigJson(cfg: GptDims, endOfText?: number): Record<string, unknown> {
  validateDims(cfg);
  // An id the model has no row for would make generate() fail: none is better than that one.
  const eot =
    endOfText !== undefined && Number.isSafeInteger(endOfText) && endOfText >= 0 && endOfText < cfg.vocabSize
      ? endOfText
      : null;
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: cfg.vocabSize,
    n_positions: cfg.blockSize,
    n_ctx: cfg.blockSize,
    n_embd: cfg.nEmbd,
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    n_inner: null, // = 4 * n_embd
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.02,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    // Null when the tokenizer has no <|endoftext|>: left out, transformers would default both to
    // 50256, outside a small vocab.
    bos_token_id: eot,
    eos_token_id: eot,
    torch_dtype: 'float32',
  };
}

/** Upper bounds per config field, checked before anything is sized from them. */
export const HF_CAPS: Record<string, number> = {
  vocab_size: 1 << 22,
  n_positions: 1 << 20,
  n_layer: 1 << 12,
  n_head: 1 << 12,
  n_embd: 1 << 16,
};

/** "1.2 TB", "730 KB": decimal units, as file managers show sizes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * Throws when the weights config.json implies cannot be in a file of `fileBytes` bytes (at the
 * narrowest dtype we read, 2 bytes per weight) or exceed a device's largest buffer: checked before
 * any arena or typed array is made, so a crafted n_layer never reaches the allocator. The message
 * names the field that makes the count largest.
 */
export function checkWeightsFit(
  cfg: GptDims,
  fileBytes: number,
  fileName = 'model.safetensors',
  maxBufferSize?: number,
): void {
  const params = paramCount(cfg);
  const need = params * 4; // f32, as the arena holds them
  // Which field would shrink the count most if it were small: that one is to blame.
  const trials: [string, number][] = [
    ['n_layer', paramCount({ ...cfg, nLayer: 1 })],
    ['n_embd', paramCount({ ...cfg, nEmbd: cfg.nHead })],
    ['vocab_size', paramCount({ ...cfg, vocabSize: 1 })],
    ['n_positions', paramCount({ ...cfg, blockSize: 1 })],
  ];
  trials.sort((a, b) => a[1] - b[1]);
  const field = trials[0]![0];
  const value = { n_layer: cfg.nLayer, n_embd: cfg.nEmbd, vocab_size: cfg.vocabSize, n_positions: cfg.blockSize }[
    field
  ];
  if (params * 2 > fileBytes) {
    throw new HfConfigError(
      `${field} ${value} needs ${formatBytes(need)} of weights but ${fileName} holds ${formatBytes(fileBytes)}`,
    );
  }
  if (maxBufferSize !== undefined && need > maxBufferSize) {
    throw new HfConfigError(
      `${field} ${value} needs ${formatBytes(need)} of weights but this device's largest buffer is ${formatBytes(maxBufferSize)}`,
    );
  }
}

/**
 * Throws when config.json's dimensions disagree with the weights' own shapes: wte is [vocab_size,
 * n_embd], wpe [n_positions, n_embd], one transformer.h.{i} per layer. Only when the weights are a
 * whole model of other dimensions (every tensor fits the dimensions they imply) is the config at
 * fault, and the message names the field and both values; a tensor that is wrong on its own, or
 * missing, is left for the weights check to name. n_head leaves no trace in the shapes.
 */
export function checkConfigMatchesTensors(
  cfg: GptDims,
  shapes: ReadonlyMap<string, readonly number[]>,
  fileName = 'model.safetensors',
): void {
  const wte = shapes.get('transformer.wte.weight');
  const wpe = shapes.get('transformer.wpe.weight');
  if (wte?.length !== 2 || wpe?.length !== 2) return;
  let layers = 0;
  for (const name of shapes.keys()) {
    const m = /^transformer\.h\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  const implied: GptDims = { vocabSize: wte[0]!, nEmbd: wte[1]!, blockSize: wpe[0]!, nLayer: layers, nHead: cfg.nHead };
  if (layers === 0 || !Object.values(implied).every((v) => Number.isSafeInteger(v) && v > 0)) return;
  for (const p of gpt2ParamShapes(implied)) {
    const shape = shapes.get(p.name);
    if (!shape || shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) return;
  }
  const fields: [string, keyof GptDims, string][] = [
    ['n_embd', 'nEmbd', `transformer.wte.weight is [${wte.join(', ')}]`],
    ['vocab_size', 'vocabSize', `transformer.wte.weight is [${wte.join(', ')}]`],
    ['n_positions', 'blockSize', `transformer.wpe.weight is [${wpe.join(', ')}]`],
    ['n_layer', 'nLayer', `it has blocks transformer.h.0 to transformer.h.${layers - 1}`],
  ];
  const wrong = fields.find(([, key]) => cfg[key] !== implied[key]);
  if (wrong) {
    const [field, key, evidence] = wrong;
    throw new HfConfigError(
      `${field} is ${cfg[key]} but ${fileName} was saved with ${field} ${implied[key]} (${evidence}): the config is not this model's`,
    );
  }
}

/** Activation names meaning the tanh approximation of GELU (HF, PyTorch and nanoGPT spellings). */
const TANH_GELU = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_tanh'];

/**
 * Reads a GPT-2 config.json (or the same fields as nanoGPT names them: block_size, activation,
 * layer_norm_eps, tied_embeddings, bias). Rejects configs this engine cannot run faithfully.
 */
export function configFromHfJson(json: unknown): GptDims {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HfConfigError('config is not a JSON object');
  }
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== 'gpt2') {
    throw new HfConfigError(`model_type is ${JSON.stringify(j.model_type)}, expected "gpt2"`);
  }
  const int = (...keys: string[]): number => {
    const key = keys.find((k) => j[k] !== undefined && j[k] !== null);
    if (key === undefined) {
      const alt = keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : '';
      throw new HfConfigError(`config is missing ${keys[0]}${alt}`);
    }
    const v = j[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new HfConfigError(`config ${key} is ${JSON.stringify(v)}, expected a positive integer`);
    }
    // Caps far past any model this engine trains, but small enough that the counts stay exact.
    const cap = HF_CAPS[keys[0]!];
    if (cap !== undefined && v > cap)
      throw new HfConfigError(`config ${key} is ${v}, more than the ${cap} this engine allows`);
    return v;
  };
  const cfg: GptDims = {
    vocabSize: int('vocab_size'),
    blockSize: int('n_positions', 'n_ctx', 'block_size'),
    nLayer: int('n_layer'),
    nHead: int('n_head'),
    nEmbd: int('n_embd'),
  };
  validateDims(cfg);

  const act = j.activation_function ?? j.activation;
  if (act !== undefined && !TANH_GELU.includes(act as string)) {
    throw new HfConfigError(`activation ${JSON.stringify(act)} is not supported (only the tanh GELU, "gelu_new")`);
  }
  const eps = j.layer_norm_epsilon ?? j.layer_norm_eps;
  if (eps !== undefined && (typeof eps !== 'number' || Math.abs(eps - 1e-5) > 1e-12)) {
    throw new HfConfigError(`layer_norm_epsilon ${JSON.stringify(eps)} is not supported (only 1e-5)`);
  }
  if (j.n_inner !== undefined && j.n_inner !== null && j.n_inner !== 4 * cfg.nEmbd) {
    throw new HfConfigError(
      `n_inner ${JSON.stringify(j.n_inner)} is not supported (only 4 * n_embd = ${4 * cfg.nEmbd})`,
    );
  }
  if (j.tie_word_embeddings === false || j.tied_embeddings === false) {
    throw new HfConfigError('untied word embeddings are not supported (tie_word_embeddings must be true)');
  }
  if (j.bias === false) throw new HfConfigError('models without biases are not supported (bias must be true)');
  if (j.n_positions !== undefined && j.n_ctx !== undefined && j.n_positions !== j.n_ctx) {
    throw new HfConfigError(
      `n_positions ${JSON.stringify(j.n_positions)} and n_ctx ${JSON.stringify(j.n_ctx)} disagree`,
    );
  }
  return cfg;
}

function validateDims(cfg: GptDims): void {
  for (const key of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    const v = cfg[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new HfConfigError(`${key} is ${JSON.stringify(v)}, expected a positive integer`);
    }
  }
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new HfConfigError(`n_embd ${cfg.nEmbd} is not divisible by n_head ${cfg.nHead}`);
  }
}

/** Every parameter with its HF name, in a fixed order (embeddings, blocks in order, final LayerNorm). */
export function gpt2ParamShapes(cfg: GptDims): ParamShape[] {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C } = cfg;
  const out: ParamShape[] = [
    { name: 'transformer.wte.weight', shape: [V, C] },
    { name: 'transformer.wpe.weight', shape: [T, C] },
  ];
  for (let i = 0; i < L; i++) {
    const h = `transformer.h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [C] },
      { name: `${h}.ln_1.bias`, shape: [C] },
      { name: `${h}.attn.c_attn.weight`, shape: [C, 3 * C] },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * C] },
      { name: `${h}.attn.c_proj.weight`, shape: [C, C] },
      { name: `${h}.attn.c_proj.bias`, shape: [C] },
      { name: `${h}.ln_2.weight`, shape: [C] },
      { name: `${h}.ln_2.bias`, shape: [C] },
      { name: `${h}.mlp.c_fc.weight`, shape: [C, 4 * C] },
      { name: `${h}.mlp.c_fc.bias`, shape: [4 * C] },
      { name: `${h}.mlp.c_proj.weight`, shape: [4 * C, C] },
      { name: `${h}.mlp.c_proj.bias`, shape: [C] },
    );
  }
  out.push({ name: 'transformer.ln_f.weight', shape: [C] }, { name: 'transformer.ln_f.bias', shape: [C] });
  return out;
}

/** All parameters (lm_head is tied to wte, so it adds none). GPT-2 small: 124,439,808. */
export function paramCount(cfg: GptDims): number {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C } = cfg;
  // Per block: ln_1 2C, c_attn 3C^2+3C, c_proj C^2+C, ln_2 2C, c_fc 4C^2+4C, mlp c_proj 4C^2+C.
  return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
}

/**
 * The N of "6N" FLOPs: all parameters except the position embeddings, as nanoGPT's
 * get_num_params() (used by its estimate_mfu). wpe is a table lookup and costs no matmul FLOPs,
 * while wte is kept because the tied lm_head multiplies by it. GPT-2 small: 123,653,376.
 */
export function flopParamCount(cfg: GptDims): number {
  return paramCount(cfg) - cfg.blockSize * cfg.nEmbd;
}

/**
 * Training FLOPs per token (forward + backward): 6N + 12·L·T·C, PaLM appendix B as in nanoGPT's
 * estimate_mfu, with N = flopParamCount (no wpe) and T the attended context (default blockSize).
 */
export function trainingFlopsPerToken(cfg: GptDims, seqLen: number = cfg.blockSize): number {
  return 6 * flopParamCount(cfg) + 12 * cfg.nLayer * seqLen * cfg.nEmbd;
}
