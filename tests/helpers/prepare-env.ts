/** For the `prepare` command's tests: a tokenizer trained on their rows, and a folder and data server to prepare from. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../../src/tokenizer/tokenizer-json';
import { trainBpe } from '../../src/tokenizer/trainer';
import { END_OF_TEXT } from '../../src/tokenizer/types';
import { prepareCommand } from '../../src/cli/prepare';
import { inProcess } from './cli';
import { startDataServer, type DataServer } from './data-server';

/** A byte-level BPE trained on `rows`, its <|endoftext|> id and its tokenizer.json. */
export async function rowsTokenizer(
  rows: string[],
  vocabSize: number,
): Promise<{ tokenizer: Tokenizer; eot: number; json: string }> {
  const model = await trainBpe(rows, { vocabSize, minFrequency: 2, specialTokens: [END_OF_TEXT] });
  const tokenizer = new Tokenizer(model);
  return { tokenizer, eot: tokenizer.idOf(END_OF_TEXT)!, json: toTokenizerJson(model) };
}

/** A new temporary folder holding `tokenizerJson` as tokenizer.json, and a started data server. */
export async function prepareFolder(
  prefix: string,
  tokenizerJson: string,
): Promise<{ dir: string; tokenizerPath: string; server: DataServer }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const tokenizerPath = join(dir, 'tokenizer.json');
  await writeFile(tokenizerPath, tokenizerJson);
  return { dir, tokenizerPath, server: await startDataServer() };
}

/**
 * `prepare`'s folder (`dir`/data) made from `text` (written as corpus.txt) with a BPE of
 * `vocabSize` trained on its lines (tok.json): the data a `train` test runs on.
 */
export async function preparedCorpus(dir: string, text: string, vocabSize: number): Promise<string> {
  await writeFile(join(dir, 'corpus.txt'), text);
  await writeFile(join(dir, 'tok.json'), (await rowsTokenizer(text.split('\n'), vocabSize)).json);
  const data = join(dir, 'data');
  const args = ['--source', join(dir, 'corpus.txt'), '--tokenizer', join(dir, 'tok.json'), '--out', data];
  const prepared = await inProcess(prepareCommand, args);
  if (prepared.code !== 0) throw new Error(`prepare failed: ${prepared.stderr}`);
  return data;
}
