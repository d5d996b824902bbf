/**
 * Prompt in, streamed text out: encodes the prompt, runs a KV-cache Sampler and releases text as
 * soon as its characters are whole. Only reads the parameters, so it can run between training steps.
 */
import type { GPTModel } from '../model/gpt';
import type { Sampler } from '../model/sample';
import type { Tokenizer } from '../tokenizer/tokenizer';
import type { ArenaRole } from '../autograd/params';
import type { SampleRequest, TokenPiece } from './protocol';

export interface SampleResult {
  text: string;
  tokens: number;
  seconds: number;
  /** How the prompt (as the model saw it) and the output were split into tokens. */
  promptTokens: TokenPiece[];
  outputTokens: TokenPiece[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Each id with its own text. A byte-level token can hold part of a character (an emoji spans
 * several): its bytes are shown as <0xNN> rather than as a replacement character.
 */
export function tokenPieces(tokenizer: Tokenizer, ids: readonly number[]): TokenPiece[] {
  return ids.map((id) => {
    const special = tokenizer.tokenOf(id);
    if (id === tokenizer.endOfText && special !== undefined) return { id, text: special };
    const bytes = tokenizer.decodeBytes([id]);
    try {
      return { id, text: strictUtf8.decode(bytes) };
    } catch {
      return { id, text: Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('') };
    }
  });
}

/** The prompt's tokens; an empty prompt starts from <|endoftext|> (a document boundary) or a newline. */
export function promptTokens(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = tokenizer.encode(prompt);
  if (ids.length > 0) return ids;
  return tokenizer.endOfText !== undefined ? [tokenizer.endOfText] : tokenizer.encode('\n');
}

export async function sampleText(
  sampler: Sampler,
  tokenizer: Tokenizer,
  request: Pick<SampleRequest, 'prompt' | 'maxTokens' | 'temperature' | 'topK' | 'topP'>,
  onText: (piece: string) => void,
  options: { seed?: number; signal?: AbortSignal } = {},
): Promise<SampleResult> {
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 0)
    throw new Error(`the number of tokens to sample must be a whole number of at least 0, not ${request.maxTokens}`);
  if (!(request.temperature >= 0))
    throw new Error(`the temperature must be 0 (greedy) or more, not ${request.temperature}`);
  const started = performance.now();
  const decoder = tokenizer.streamDecoder();
  let text = '';
  const emit = (piece: string) => {
    if (!piece) return;
    text += piece;
    onText(piece);
  };
  const prompt = promptTokens(tokenizer, request.prompt);
  const tokens = await sampler.generate(prompt, {
    maxNewTokens: request.maxTokens,
    temperature: request.temperature,
    topK: request.topK,
    topP: request.topP,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    signal: options.signal,
    onToken: (token) => emit(decoder.push(token)),
  });
  emit(decoder.flush());
  const seconds = (performance.now() - started) / 1000;
  return {
    text,
    tokens: tokens.length,
    seconds,
    promptTokens: tokenPieces(tokenizer, prompt),
    outputTokens: tokenPieces(tokenizer, tokens),
  };
}

/** Writes a whole arena saved by Trainer.snapshot back into a model's store. */
export function writeArena(model: GPTModel, role: ArenaRole, bytes: Uint8Array): void {
  const expected = model.store.length * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(
      `the checkpoint holds ${bytes.byteLength} bytes of ${role} but this model needs ${expected}: it was saved for another model shape`,
    );
  }
  model.ctx.device.queue.writeBuffer(model.store.arena(role), 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
