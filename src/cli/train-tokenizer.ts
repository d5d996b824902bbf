/**
 * `gpt-garden train-tokenizer --vocab N --in corpus.txt --out tokenizer.json [--min-frequency N]`:
 * trains a byte-level BPE on text files and writes a Hugging Face tokenizer.json.
 * Files are streamed and read line by line, as Hugging Face's trainer reads them.
 */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { toTokenizerJson } from '../tokenizer/tokenizer-json';
import { DEFAULT_MIN_FREQUENCY, type TrainProgress, trainBpe } from '../tokenizer/trainer';
import { END_OF_TEXT, TokenizerError } from '../tokenizer/types';

export const TRAIN_TOKENIZER_HELP = `gpt-garden train-tokenizer --vocab N --in corpus.txt [--in more.txt] --out tokenizer.json

  --vocab N            vocabulary size, special tokens and the 256 byte symbols included (>= 257)
  --in FILE            UTF-8 text to train on (repeat for several files)
  --out FILE           where to write the tokenizer.json
  --min-frequency N    merge only pairs seen at least N times (default ${DEFAULT_MIN_FREQUENCY})
  --special TOKEN      special token (repeatable; default ${END_OF_TEXT})
  --quiet              no progress bar
`;

/** Bad command-line input: reported without a stack, exit code 2. */
class UsageError extends Error {}

function parseCount(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

/** Lines of the files, each with its '\n'; the stream decodes UTF-8 across chunk boundaries. */
async function* readLines(files: string[]): AsyncGenerator<string> {
  for (const file of files) {
    let carry = '';
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = carry + (chunk as string);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        yield text.slice(start, nl + 1);
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    if (carry) yield carry;
  }
}

/** A one-line progress bar on stderr (redrawn in place on a terminal, sparse lines otherwise). */
function progressBar(stream: NodeJS.WriteStream): { update(p: TrainProgress): void; end(): void } {
  const t0 = performance.now();
  let last = '';
  let lastDraw = 0;
  let drawn = false;
  const draw = (p: TrainProgress, force: boolean) => {
    const now = performance.now();
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const mb = (p.bytes ?? 0) / 1e6;
    const rate = p.phase === 'counting' ? ` ${mb.toFixed(1)} MB ${(mb / ((now - t0) / 1000 || 1e-9)).toFixed(1)} MB/s` : '';
    const count = p.phase === 'merging' ? ` ${p.done}/${p.total} tokens` : '';
    const line = `${p.phase.padEnd(8)} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%${count}${rate}`;
    if (stream.isTTY) {
      if (!force && now - lastDraw < 100) return;
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    } else {
      // Logs get a line per phase and per 10%, not a redraw every 50 ms.
      const key = `${p.phase} ${Math.floor(frac * 10)}`;
      if (key === last && !force) return;
      last = key;
      stream.write(`${line}\n`);
    }
    lastDraw = now;
  };
  return {
    update: (p) => draw(p, false),
    end: () => {
      if (drawn) stream.write('\n');
    },
  };
}

export async function trainTokenizerCommand(args: string[]): Promise<number> {
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          vocab: { type: 'string' },
          in: { type: 'string', multiple: true },
          out: { type: 'string' },
          'min-frequency': { type: 'string' },
          special: { type: 'string', multiple: true },
          quiet: { type: 'boolean' },
          help: { type: 'boolean' },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values } = parsed;
    if (values.help) {
      process.stdout.write(TRAIN_TOKENIZER_HELP);
      return 0;
    }
    const vocabSize = parseCount('vocab', values.vocab);
    const minFrequency = parseCount('min-frequency', values['min-frequency']);
    if (vocabSize === undefined) throw new UsageError('--vocab N is required');
    if (!values.in?.length) throw new UsageError('--in FILE is required');
    if (!values.out) throw new UsageError('--out FILE is required');
    let totalBytes = 0;
    for (const file of values.in) {
      const info = await stat(file).catch(() => null);
      if (!info) throw new UsageError(`cannot read ${file}: no such file`);
      if (!info.isFile()) throw new UsageError(`cannot read ${file}: not a file`);
      totalBytes += info.size;
    }

    const t0 = performance.now();
    bar = values.quiet ? undefined : progressBar(process.stderr);
    const model = await trainBpe(readLines(values.in), {
      vocabSize,
      minFrequency,
      specialTokens: values.special,
      totalBytes,
      onProgress: bar?.update,
    });
    bar?.end();
    bar = undefined;
    await writeFile(values.out, toTokenizerJson(model));
    const seconds = (performance.now() - t0) / 1000;
    const note = model.vocab.size < vocabSize ? ` (asked for ${vocabSize}: no pair left occurring often enough)` : '';
    console.log(
      `trained ${model.vocab.size} tokens${note}, ${model.merges.length} merges, on ${(totalBytes / 1e6).toFixed(1)} MB ` +
        `in ${seconds.toFixed(1)} s -> ${values.out}`,
    );
    return 0;
  } catch (error) {
    bar?.end();
    if (error instanceof UsageError || error instanceof TokenizerError) {
      console.error(`train-tokenizer: ${error.message}`);
      if (error instanceof UsageError) console.error(`\n${TRAIN_TOKENIZER_HELP}`);
      return 2;
    }
    throw error;
  }
}
