/**
 * `sample --run <run dir | HF folder> --prompt "..."`: the lab's sampling (sampleText over a
 * KV-cache Sampler) from a run's checkpoint or any Hugging Face GPT-2 folder, streamed to stdout.
 * `--temperature 0` is greedy.
 */
import { resolve } from 'node:path';
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
import { parseFlags } from './args';
import { messageOf } from '../util/errors';

const USAGE =
  'usage: sample --run <run dir | Hugging Face folder> --prompt "life is about" [--tokens N --temperature T --top-k K --top-p P --seed S]';

export const SAMPLE_FLAGS = {
  run: { type: 'string' },
  prompt: { type: 'string' },
  tokens: { type: 'int', min: 0 },
  temperature: { type: 'number', min: 0, want: 'a number of at least 0 (0: greedy)' },
  'top-k': { type: 'int', min: 1 },
  'top-p': { type: 'number', above: 0, max: 1 },
  seed: { type: 'int', min: 0, max: 2 ** 32 - 1, want: 'a whole number from 0 to 2^32-1' },
} as const;

/** The weights and tokenizer of a run directory (its checkpoint) or of a bare HF folder. */
export async function loadModelFolder(
  dirArg: string,
): Promise<{ model: ReturnType<typeof importHfRun>['settings']['model']; params: Uint8Array; tokenizerJson: string }> {
  const dir = resolve(dirArg);
  const files = await readRunFolder(dir);
  if (isRunDir(files)) {
    const run = readRunDir(files);
    return {
      model: run.record.summary.settings.model,
      params: run.checkpoint.params,
      tokenizerJson: run.record.tokenizerJson,
    };
  }
  const hf = importHfRun(files);
  return { model: hf.settings.model, params: hf.checkpoint.params, tokenizerJson: hf.tokenizerJson };
}

export async function sampleCommand(
  args: string[],
  options: { context?: () => Promise<GpuContext> } = {},
): Promise<number> {
  let ctx: GpuContext | undefined;
  try {
    const { values } = parseFlags(args, SAMPLE_FLAGS, { command: 'sample' });
    if (!values.run) throw new DataError('config', USAGE);
    const request = {
      prompt: values.prompt ?? '',
      maxTokens: values.tokens ?? 100,
      temperature: values.temperature ?? 0.8,
      topK: values['top-k'],
      topP: values['top-p'],
    };
    const seed = values.seed;
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
    process.stderr.write(`sample: ${messageOf(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  } finally {
    if (ctx && !options.context) ctx.device.destroy();
  }
}
