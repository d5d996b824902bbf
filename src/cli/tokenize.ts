/**
 * `tokenize --tokenizer tokenizer.json --text "..."`: prints the ids as one JSON array on the last
 * line of stdout; `--decode "[ids]"` prints the text instead. Errors go to stderr with exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { parseFlags } from './args';
import { messageOf } from '../util/errors';

const USAGE = 'usage: tokenize --tokenizer tokenizer.json (--text "..." | --decode "[ids]")';

class UsageError extends Error {}

function parseIds(text: string): number[] {
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--decode needs a JSON array of token ids: ${messageOf(e)}`);
  }
  if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new UsageError(`--decode needs a JSON array of non-negative integer token ids, got ${text}`);
  }
  return ids as number[];
}

async function run(args: string[]): Promise<void> {
  const { values } = parseFlags(
    args,
    { tokenizer: { type: 'string' }, text: { type: 'string' }, decode: { type: 'string' } },
    { command: 'tokenize' },
  );
  if (values.tokenizer === undefined) throw new UsageError(`--tokenizer is required\n${USAGE}`);
  if ((values.text === undefined) === (values.decode === undefined)) {
    throw new UsageError(`give exactly one of --text and --decode\n${USAGE}`);
  }
  let json: string;
  try {
    json = await readFile(values.tokenizer, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.tokenizer}: ${messageOf(e)}`);
  }
  const ids = values.decode === undefined ? undefined : parseIds(values.decode);
  const tokenizer = new Tokenizer(parseTokenizerJson(json));
  if (ids === undefined) process.stdout.write(`${JSON.stringify(tokenizer.encode(values.text ?? ''))}\n`);
  else process.stdout.write(`${tokenizer.decode(ids)}\n`);
}

/** Runs the command; returns the exit code (0, or 2 for any error, after printing it to stderr). */
export async function tokenizeCommand(args: string[]): Promise<number> {
  try {
    await run(args);
    return 0;
  } catch (e) {
    process.stderr.write(`tokenize: ${messageOf(e)}\n`);
    return 2;
  }
}
