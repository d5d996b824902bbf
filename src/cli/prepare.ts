/**
 * `prepare --source <dataset id | url | file> --tokenizer t.json --out dir [--max-tokens N]`:
 * the browser's ingestion, headless: token shards and a manifest in a folder. Running the same
 * command again resumes after the last saved shard (Ctrl-C keeps what is saved).
 * The last line of stdout is a JSON summary; errors go to stderr with exit code 2.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FolderShardStore } from '../data/folder-store';
import { fingerprint, ingest, type IngestProgress } from '../data/ingest';
import { StallError } from '../data/sources/http';
import { createSource } from '../data/sources/index';
import { formatBytes } from '../data/storage';
import { DataError } from '../data/types';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { parseFlags } from './args';
import { sourceFromArg } from './source-arg';
import { messageOf } from '../util/errors';

const USAGE = `usage: prepare --source <dataset id | url | file | bundled> --tokenizer tokenizer.json --out dir
       [--max-tokens N] [--column text] [--shard-tokens N] [--val-fraction 0.05] [--stall-timeout 30]`;

export const PREPARE_FLAGS = {
  source: { type: 'string' },
  tokenizer: { type: 'string' },
  out: { type: 'string' },
  'max-tokens': { type: 'int', min: 1, want: 'a whole number of at least 1 (e.g. 1.1e9)' },
  column: { type: 'string' },
  'shard-tokens': { type: 'int', min: 1 },
  'val-fraction': { type: 'number', above: 0, max: 0.5 },
  'hub-endpoint': { type: 'string' },
  'datasets-server': { type: 'string' },
  /** Seconds without a byte before a request is retried (then given up on). */
  'stall-timeout': { type: 'number', above: 0, max: 3600, want: 'a number of seconds above 0 and at most 3600' },
} as const;

function progressLine(p: IngestProgress): string {
  const pct = p.fraction !== undefined ? `${(p.fraction * 100).toFixed(1)}% ` : '';
  const eta = p.etaSeconds !== undefined ? ` ETA ${Math.round(p.etaSeconds)} s` : '';
  return `\r${pct}${p.rows} rows, ${p.tokens} tokens, ${p.shards} shards, ${formatBytes(p.textBytesPerSecond)}/s text${eta}   `;
}

/**
 * The data folder keeps the tokenizer its ids were made with (train gives it to the run). One that
 * is there already stays: ingest refused a mismatch before writing anything.
 */
async function keepTokenizer(out: string, tokenizerJson: string): Promise<void> {
  const path = join(out, 'tokenizer.json');
  if (await stat(path).catch(() => undefined)) return;
  await mkdir(out, { recursive: true });
  await writeFile(`${path}.tmp`, tokenizerJson);
  await rename(`${path}.tmp`, path);
}

export async function prepareCommand(args: string[]): Promise<number> {
  let drawn = false; // a progress line is on stderr: a message goes below it
  try {
    const { values } = parseFlags(args, PREPARE_FLAGS, { command: 'prepare' });
    if (!values.source || !values.tokenizer || !values.out) throw new DataError('config', USAGE.replace(/\n\s*/g, ' '));
    const tokenizerJson = await readFile(values.tokenizer, 'utf8').catch((e: unknown) => {
      throw new Error(`cannot read the tokenizer ${values.tokenizer}: ${messageOf(e)}`);
    });
    const tokenizer = new Tokenizer(parseTokenizerJson(tokenizerJson));
    const { spec, env } = await sourceFromArg(values.source, values.column);
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const source = await createSource(spec, {
      ...env,
      hubEndpoint: values['hub-endpoint'],
      datasetsServer: values['datasets-server'],
      ...(values['stall-timeout'] !== undefined ? { stallTimeoutMs: values['stall-timeout'] * 1000 } : {}),
      signal: controller.signal,
    });
    const out = resolve(values.out);
    process.stderr.write(`prepare: ${source.description} -> ${out}\n`);
    const manifest = await ingest({
      store: new FolderShardStore(out),
      tokenizer,
      tokenizerFingerprint: fingerprint(tokenizerJson),
      id: basename(out),
      spec,
      source,
      maxTokens: values['max-tokens'],
      shardTokens: values['shard-tokens'],
      valFraction: values['val-fraction'],
      signal: controller.signal,
      onProgress: (p) => {
        drawn = true;
        process.stderr.write(progressLine(p));
      },
    });
    process.stderr.write('\n');
    await keepTokenizer(out, tokenizerJson);
    const { id, tokens, rows, textBytes, dtype, complete, shards } = manifest;
    process.stdout.write(
      `${JSON.stringify({ id, dir: out, tokens, rows, textBytes, dtype, shards: shards.length, complete })}\n`,
    );
    return 0;
  } catch (error) {
    // A stalled server is worth another try later: say that what was saved waits for it.
    const resumable =
      error instanceof DataError && error.cause instanceof StallError
        ? ' (the shards saved so far are kept: the same command resumes)'
        : '';
    // Below the progress line if one was drawn; a refusal before reading is its one line.
    process.stderr.write(`${drawn ? '\n' : ''}prepare: ${messageOf(error)}${resumable}\n`);
    return 2;
  }
}
