/**
 * Prompt in, streamed text out: encodes the prompt, runs a KV-cache Sampler and releases text as
 * soon as its characters are whole. Only reads the parameters, so it can run between training steps.
 */
import type { GPTModel } from '../model/gpt';
import type { Sampler } from '../model/sample';
import type { Tokenizer } from '../tokenizer/tokenizer';
import type { ArenaRole } from '../autograd/params';
import type { SampleRequest } from './protocol';

export interface SampleResult {
  text: string;
  tokens: number;
  seconds: number;
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
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 0) throw new Error(`the number of tokens to sample must be a whole number of at least 0, not ${request.maxTokens}`);
  if (!(request.temperature >= 0)) throw new Error(`the temperature must be 0 (greedy) or more, not ${request.temperature}`);
  const started = performance.now();
  const decoder = tokenizer.streamDecoder();
  let text = '';
  const emit = (piece: string) => {
    if (!piece) return;
    text += piece;
    onText(piece);
  };
  const tokens = await sampler.generate(promptTokens(tokenizer, request.prompt), {
    maxNewTokens: request.maxTokens,
    temperature: request.temperature,
    topK: request.topK,
    topP: request.topP,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    signal: options.signal,
    onToken: (token) => emit(decoder.push(token)),
  });
  emit(decoder.flush());
  return { text, tokens: tokens.length, seconds: (performance.now() - started) / 1000 };
}

/** Writes a whole arena saved by Trainer.snapshot back into a model's store. */
export function writeArena(model: GPTModel, role: ArenaRole, bytes: Uint8Array): void {
  const expected = model.store.length * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(`the checkpoint holds ${bytes.byteLength} bytes of ${role} but this model needs ${expected}: it was saved for another model shape`);
  }
  model.ctx.device.queue.writeBuffer(model.store.arena(role), 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
