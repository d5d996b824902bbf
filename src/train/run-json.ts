/**
 * run.json, the part of a run directory that is plain JSON (settings, dataset, curve): read and
 * checked field by field, every problem naming the file (see run-dir.ts for the whole directory).
 */
import { DataError } from '../data/types';
import { messageOf } from '../util/errors';
import { settingsProblems } from './defaults';
import { PRECISIONS } from './loss-scale';
import type { EvalPoint, RunDataset, RunSummary, StepPoint } from './protocol';

export const RUN_FORMAT = 'gpt-garden-run';

/** Refuses a run directory's file: what is wrong with it and what to do. */
export function fail(file: string, what: string): never {
  throw new DataError('format', `${file}: ${what}`);
}

export interface RunJson {
  summary: RunSummary;
  steps: StepPoint[];
  evals: EvalPoint[];
  dataset?: RunDataset;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readRunJson(bytes: Uint8Array): RunJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    fail('run.json', `not valid JSON (${messageOf(error)}): the file is damaged; copy it again`);
  }
  if (!isObject(json) || json.format !== RUN_FORMAT)
    fail('run.json', `not a GPT Garden run (its "format" must be "${RUN_FORMAT}")`);
  if (json.version !== 1)
    fail('run.json', `version ${JSON.stringify(json.version)} is not supported (only 1): update GPT Garden`);
  const summary = json.summary;
  if (
    !isObject(summary) ||
    typeof summary.id !== 'string' ||
    typeof summary.name !== 'string' ||
    !isObject(summary.settings) ||
    !isObject(summary.tokenizer)
  ) {
    fail('run.json', 'its "summary" lacks the run\'s id, name, settings or tokenizer');
  }
  if (
    typeof summary.checkpointStep !== 'number' ||
    typeof summary.tokenizer.fingerprint !== 'string' ||
    typeof summary.tokenizer.vocabSize !== 'number'
  ) {
    fail('run.json', 'its "summary" lacks checkpointStep or the tokenizer\'s fingerprint and vocabSize');
  }
  const settings = summary.settings as unknown as RunSummary['settings'];
  if (!isObject(settings.model) || !isObject(settings.lr))
    fail('run.json', 'its settings lack the model or the learning-rate schedule');
  if (settings.precision !== undefined && !PRECISIONS.includes(settings.precision))
    fail('run.json', `its precision ${JSON.stringify(settings.precision)} is not one of ${PRECISIONS.join(', ')}`);
  const problems = settingsProblems(settings);
  if (problems.length > 0) fail('run.json', `its settings cannot train: ${problems.join(' ')}`);
  const points = (key: 'steps' | 'evals', field: string) => {
    const list = json[key];
    if (
      !Array.isArray(list) ||
      !list.every((p) => isObject(p) && typeof p.step === 'number' && typeof p[field] === 'number')
    ) {
      fail('run.json', `"${key}" is not a list of {step, ${field}} points`);
    }
    return list as unknown[];
  };
  const dataset = json.dataset;
  if (
    dataset !== undefined &&
    (!isObject(dataset) ||
      typeof dataset.id !== 'string' ||
      typeof dataset.tokenizerFingerprint !== 'string' ||
      !isObject(dataset.source))
  ) {
    fail('run.json', '"dataset" lacks its id, source or tokenizerFingerprint');
  }
  return {
    summary: summary as unknown as RunSummary,
    steps: points('steps', 'loss') as StepPoint[],
    evals: points('evals', 'valLoss') as EvalPoint[],
    ...(dataset ? { dataset: dataset as unknown as RunDataset } : {}),
  };
}
