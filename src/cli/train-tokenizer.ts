/**
 * `gpt-garden train-tokenizer --vocab N (--source <id|url|file|bundled> [--sample-mb N] | --in corpus.txt)
 * --out tokenizer.json`: trains a byte-level BPE on the first N MB of any source `prepare` reads
 * (a Hugging Face dataset, a URL, a file, the bundled corpus), or on whole text files, and writes a
 * Hugging Face tokenizer.json. Text is streamed and read line by line (a parquet sentence row is a
 * line, a document row a document), as Hugging Face's trainer reads files.
 * A sample that cannot reach the vocabulary is refused (exit 2, nothing written) unless
 * --allow-smaller; --out is written to a temporary name and renamed, so an error or Ctrl-C never
 * leaves a partial file there.
 */
import { createReadStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createSource } from '../data/sources/index';
import { DEFAULT_SAMPLE_MB, MB, type SampleStats, trainBpeOnSample } from '../data/text-sample';
import { DataError, type TextRows, type TextSource } from '../data/types';
import { toTokenizerJson } from '../tokenizer/tokenizer-json';
import { DEFAULT_MIN_FREQUENCY, isCancelled, type TrainProgress } from '../tokenizer/trainer';
import { END_OF_TEXT, TokenizerError } from '../tokenizer/types';
import { parseFlags, VOCAB_FLAG } from './args';
import { sourceFromArg } from './source-arg';

export const TRAIN_TOKENIZER_HELP = `gpt-garden train-tokenizer --vocab N --source <dataset id | url | file | bundled> [--sample-mb N] --out tokenizer.json
gpt-garden train-tokenizer --vocab N --in corpus.txt [--in more.txt] --out tokenizer.json

  --vocab N            vocabulary size, special tokens and the 256 byte symbols included (>= 257)
  --source SRC         what prepare reads: a Hugging Face dataset id (bookcorpus/bookcorpus), a parquet,
                       text or JSON-lines URL, a file, or "bundled" (the Brown fiction corpus)
  --sample-mb N        train on the first N MB (10^6 bytes) of text (default ${DEFAULT_SAMPLE_MB} with --source;
                       whole files with --in)
  --in FILE            UTF-8 text to train on (repeat for several files)
  --out FILE           where to write the tokenizer.json (replaced only once training succeeded)
  --allow-smaller      write the tokenizer even when the sample reaches fewer than N tokens
  --min-frequency N    merge only pairs seen at least N times (default ${DEFAULT_MIN_FREQUENCY})
  --special TOKEN      special token (repeatable; default ${END_OF_TEXT})
  --column NAME        the text column of a parquet or JSON-lines source (default: guessed)
  --hub-endpoint URL, --datasets-server URL   other Hub servers (mirrors, tests)
  --stall-timeout S    a server silent for S seconds is retried, then given up on (default 30)
  --quiet              no progress bar
`;

export const TRAIN_TOKENIZER_FLAGS = {
  vocab: VOCAB_FLAG,
  in: { type: 'string', multiple: true },
  source: { type: 'string' },
  'sample-mb': { type: 'number', above: 0, want: 'a number of MB above 0' },
  out: { type: 'string' },
  'allow-smaller': { type: 'boolean' },
  'min-frequency': { type: 'int', min: 0 },
  special: { type: 'string', multiple: true },
  column: { type: 'string' },
  'hub-endpoint': { type: 'string' },
  'datasets-server': { type: 'string' },
  'stall-timeout': { type: 'number', above: 0, max: 3600, want: 'a number of seconds above 0 and at most 3600' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

/** Bad command-line input: reported without a stack, exit code 2. */
class UsageError extends Error {}

/** Files given with --in as a source whose rows are lines that already end in '\n'. */
function linesSource(files: string[], totalBytes: number): TextSource {
  return {
    description: files.join(', '),
    totalBytes,
    rowKind: 'document', // rows are taken as they are: readLines keeps each line's '\n'
    async *read(_from, signal): AsyncIterable<TextRows> {
      let rows: string[] = [];
      for await (const line of readLines(files)) {
        if (signal?.aborted) return;
        rows.push(line);
        if (rows.length === 1024) {
          yield { rows, cursor: { file: 0, row: 0 }, bytesRead: 0, endOfFile: false };
          rows = [];
        }
      }
      yield { rows, cursor: { file: 1, row: 0 }, bytesRead: 0, endOfFile: true };
    },
  };
}

function formatMb(bytes: number): string {
  return (bytes / MB).toLocaleString('en-US', { maximumFractionDigits: 2, useGrouping: false });
}

/** One line saying that a sample falls short of a vocabulary, and what to do. */
export function shortfallMessage(reached: number, asked: number, sampleBytes: number, stats: SampleStats): string {
  const sample = stats.cut
    ? `the first ${formatMb(sampleBytes)} MB`
    : `the whole source (${formatMb(stats.bytes)} MB of text)`;
  const more = stats.cut ? ' or a larger --sample-mb' : ' or a larger source';
  return `${sample} reaches a vocabulary of ${reached}, not ${asked}: use --vocab ${reached}${more} (or --allow-smaller); nothing was written`;
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
function progressBar(stream: NodeJS.WriteStream): { update: (p: TrainProgress) => void; end: () => void } {
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
    const rate =
      p.phase === 'counting' ? ` ${mb.toFixed(1)} MB ${(mb / ((now - t0) / 1000 || 1e-9)).toFixed(1)} MB/s` : '';
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

function stallOption(seconds: number | undefined): { stallTimeoutMs?: number } {
  return seconds === undefined ? {} : { stallTimeoutMs: seconds * 1000 };
}

export async function trainTokenizerCommand(args: string[]): Promise<number> {
  let bar: ReturnType<typeof progressBar> | undefined;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  let out: string | undefined;
  try {
    const { values } = parseFlags(args, TRAIN_TOKENIZER_FLAGS, { command: 'train-tokenizer' });
    if (values.help) {
      process.stdout.write(TRAIN_TOKENIZER_HELP);
      return 0;
    }
    const vocabSize = values.vocab;
    const minFrequency = values['min-frequency'];
    const sampleMb = values['sample-mb'];
    if (vocabSize === undefined) throw new UsageError('--vocab N is required');
    if (values.in?.length && values.source) throw new UsageError('give --source or --in, not both');
    if (!values.in?.length && !values.source)
      throw new UsageError('--source <dataset id | url | file | bundled> or --in FILE is required');
    if (!values.out) throw new UsageError('--out FILE is required');
    out = values.out;
    const outInfo = await stat(out).catch(() => null);
    if (outInfo && !outInfo.isFile())
      throw new UsageError(`--out ${out} is a directory: give a file name such as ${out}/tokenizer.json`);
    // Said now, not after an hour of training.
    if (!(await stat(dirname(resolve(out))).catch(() => null))?.isDirectory())
      throw new UsageError(`--out ${out}: the folder ${dirname(resolve(out))} does not exist`);

    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let source: TextSource;
    let sampleBytes: number;
    if (values.source) {
      const { spec, env } = await sourceFromArg(values.source, values.column);
      source = await createSource(spec, {
        ...env,
        hubEndpoint: values['hub-endpoint'],
        datasetsServer: values['datasets-server'],
        ...stallOption(values['stall-timeout']),
        signal: controller.signal,
      });
      sampleBytes = Math.round((sampleMb ?? DEFAULT_SAMPLE_MB) * MB);
    } else {
      let totalBytes = 0;
      for (const file of values.in!) {
        const info = await stat(file).catch(() => null);
        if (!info) throw new UsageError(`cannot read ${file}: no such file`);
        if (!info.isFile()) throw new UsageError(`cannot read ${file}: not a file`);
        totalBytes += info.size;
      }
      source = linesSource(values.in!, totalBytes);
      sampleBytes = sampleMb !== undefined ? Math.round(sampleMb * MB) : Math.max(1, totalBytes);
    }
    if (!values.quiet)
      process.stderr.write(`train-tokenizer: the first ${formatMb(sampleBytes)} MB of ${source.description}\n`);

    const t0 = performance.now();
    bar = values.quiet ? undefined : progressBar(process.stderr);
    const result = await trainBpeOnSample(source, {
      sampleBytes,
      vocabSize,
      minFrequency,
      specialTokens: values.special,
      signal: controller.signal,
      onProgress: bar?.update,
    });
    bar?.end();
    bar = undefined;
    const { model, stats, reached } = result;
    if (reached < vocabSize && !values['allow-smaller']) {
      process.stderr.write(`train-tokenizer: ${shortfallMessage(reached, vocabSize, sampleBytes, stats)}\n`);
      return 2;
    }
    // A temporary name then a rename: --out is never left half written.
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, toTokenizerJson(model));
      await rename(tmp, out);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const seconds = (performance.now() - t0) / 1000;
    const note = reached < vocabSize ? ` (asked for ${vocabSize}: no pair left occurring often enough)` : '';
    process.stdout.write(
      `trained ${reached} tokens${note}, ${model.merges.length} merges, on ${formatMb(stats.bytes)} MB ` +
        `in ${seconds.toFixed(1)} s (${(stats.bytes / MB / seconds).toFixed(1)} MB/s) -> ${out}\n`,
    );
    return 0;
  } catch (error) {
    bar?.end();
    if (isCancelled(error) || controller.signal.aborted) {
      process.stderr.write(`train-tokenizer: cancelled${out ? `; ${out} was not written` : ''}\n`);
      return 130;
    }
    if (error instanceof UsageError || error instanceof TokenizerError || error instanceof DataError) {
      process.stderr.write(`train-tokenizer: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`\n${TRAIN_TOKENIZER_HELP}`);
      return 2;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
