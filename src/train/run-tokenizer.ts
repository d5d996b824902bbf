/**
 * A run's tokenizer and dataset, checked against each other and the model before anything trains:
 * a stored tokenizer that does not parse or is not the run's blames the run, a dataset made with
 * another tokenizer blames the dataset.
 */
import { fingerprint } from '../data/ingest';
import { DataError, type DatasetManifest, type ShardStore } from '../data/types';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { TokenizerError } from '../tokenizer/types';
import type { RunSettings } from './protocol';

export interface RunTokenizer {
  manifest: DatasetManifest;
  tokenizer: Tokenizer;
  fingerprint: string;
}

export async function loadRunTokenizer(
  shardStore: ShardStore,
  tokenizerJson: string,
  settings: RunSettings,
  fingerprintWanted?: string,
): Promise<RunTokenizer> {
  const print = fingerprint(tokenizerJson);
  // A stored run's own tokenizer is checked before its dataset: when it is damaged, the run is to blame.
  const damaged = (why: string) =>
    new DataError(
      'format',
      `this run's stored tokenizer is damaged (${why}): the run cannot continue; start a new one`,
    );
  if (fingerprintWanted !== undefined && fingerprintWanted !== print)
    throw damaged('it is not the tokenizer the run was trained with');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(parseTokenizerJson(tokenizerJson));
  } catch (error) {
    throw fingerprintWanted !== undefined && error instanceof TokenizerError ? damaged(error.message) : error;
  }
  const manifest = await shardStore.getManifest(settings.datasetId);
  if (!manifest)
    throw new DataError('config', `there is no prepared dataset "${settings.datasetId}": prepare the data first`);
  if (manifest.tokenizer.fingerprint !== print) {
    throw new DataError(
      'config',
      `dataset "${manifest.name}" was tokenized with another tokenizer: prepare the data again with this tokenizer, or pick the tokenizer it was made with`,
    );
  }
  if (tokenizer.vocabSize !== settings.model.vocabSize) {
    throw new DataError(
      'config',
      `the model's vocabulary size is ${settings.model.vocabSize} but the tokenizer has ${tokenizer.vocabSize} tokens: set the vocabulary size to ${tokenizer.vocabSize}`,
    );
  }
  return { manifest, tokenizer, fingerprint: print };
}
