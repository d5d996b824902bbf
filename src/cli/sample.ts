/**
 * `sample --run <run dir | HF folder> --prompt "..."`: the lab's sampling (sampleText over a
 * KV-cache Sampler) from a run's checkpoint or any Hugging Face GPT-2 folder, streamed to stdout.
 * `--temperature 0` is greedy.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DataError } from '../data/types';
import type { GpuContext } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { GPTModel } from '../model/gpt';
import { Sampler } from '../model/sample';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { importHfRun } from '../train/import-run';
import { isRunDir, readRunDir } from '../train/run-dir';
import { sampleText, writeArena } from '../train/sampling';
import { readRunFolder } from './run-folder';
import { attachNegatives } from './train-args';

const USAGE = 'usage: sample --run <run dir | Hugging Face folder> --prompt "life is about" [--tokens N --temperature T --top-k K --top-p P --seed S]';

function number(flag: string, text: string | undefined, fallback: number | undefined, check: (n: number) => boolean, want: string): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !check(value)) throw new DataError('config', `--${flag} must be ${want}, got "${text}"`);
  return value;
}

/** The weights and tokenizer of a run directory (its checkpoint) or of a bare HF folder. */
export async function loadModelFolder(dirArg: string): Promise<{ model: ReturnType<typeof importHfRun>['settings']['model']; params: Uint8Array; tokenizerJson: string }> {
  const dir = resolve(dirArg);
  const files = await readRunFolder(dir);
  if (isRunDir(files)) {
    const run = readRunDir(files);
    return { model: run.record.summary.settings.model, params: run.checkpoint.params, tokenizerJson: run.record.tokenizerJson };
  }
  const hf = importHfRun(files);
  return { model: hf.settings.model, params: hf.checkpoint.params, tokenizerJson: hf.tokenizerJson };
}

export async function sampleCommand(args: string[], options: { context?: () => Promise<GpuContext> } = {}): Promise<number> {
  let ctx: GpuContext | undefined;
  try {
    let values: Record<string, string | undefined>;
    try {
      ({ values } = parseArgs({
        args: attachNegatives(args),
        options: { run: { type: 'string' }, prompt: { type: 'string' }, tokens: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' } },
      }) as { values: Record<string, string | undefined> });
    } catch (error) {
      throw new DataError('config', `${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    }
    if (!values.run) throw new DataError('config', USAGE);
    const isWhole = (min: number) => (n: number) => Number.isSafeInteger(n) && n >= min;
    const request = {
      prompt: values.prompt ?? '',
      maxTokens: number('tokens', values.tokens, 100, isWhole(0), 'a whole number of at least 0')!,
      temperature: number('temperature', values.temperature, 0.8, (n) => Number.isFinite(n) && n >= 0, 'a number of at least 0 (0: greedy)')!,
      topK: number('top-k', values['top-k'], undefined, isWhole(1), 'a whole number of at least 1'),
      topP: number('top-p', values['top-p'], undefined, (n) => n > 0 && n <= 1, 'a number above 0 and at most 1'),
    };
    const seed = number('seed', values.seed, undefined, (n) => Number.isSafeInteger(n) && n >= 0 && n < 2 ** 32, 'a whole number from 0 to 2^32-1');
    const loaded = await loadModelFolder(values.run);
    const tokenizer = new Tokenizer(parseTokenizerJson(loaded.tokenizerJson));
    ctx = await (options.context ?? createNodeContext)();
    const model = new GPTModel(ctx, loaded.model);
    const sampler = new Sampler(model);
    try {
      writeArena(model, 'param', loaded.params);
      process.stdout.write(request.prompt);
      await sampleText(sampler, tokenizer, request, (piece) => process.stdout.write(piece), { seed });
      process.stdout.write('\n');
    } finally {
      sampler.destroy();
      model.destroy();
    }
    return 0;
  } catch (error) {
    process.stderr.write(`sample: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  } finally {
    if (ctx && !options.context) ctx.device.destroy();
  }
}
