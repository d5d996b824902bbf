/**
 * Training runs and their checkpoints in IndexedDB (idb-keyval): `run:<id>` holds a RunRecord
 * (summary, tokenizer.json, the loss curve up to the checkpoint), `ckpt:<id>:<step>` a
 * CheckpointData. A new checkpoint is written under its own key first, then the record is pointed
 * at it, then the old one is deleted: a crash or a full disk at any point leaves a loadable pair.
 * Needs no GPU (exporting a run works even where WebGPU does not).
 */
import { createStore, del, delMany, get, keys, set, type UseStore } from 'idb-keyval';
import { damagedError, damagedRecord, type DamagedRecord } from '../data/records';
import { checkCheckpoint, checkRunLog, checkRunRecord } from './run-records';
import { logUpTo, type LogEvent } from './train-log';
import { DataError, writing } from '../data/types';
import type { LossScaleState } from './loss-scale';
import type { EvalPoint, RunSettings, RunSummary, StepPoint } from './protocol';
import { hfFolderFiles, paramArenaLength, paramLayout } from './run-dir';
import type { RunDataset } from './run-dir';

/** Everything needed to continue a run exactly where it stopped. */
export interface CheckpointData {
  /** Optimizer steps done. */
  step: number;
  /** AdamW's step count (its bias corrections); lower than `step` when steps were skipped. */
  adamStep: number;
  /** The training BatchSampler's RNG state: the next batch drawn is the one step+1 trains on. */
  samplerState: number;
  tokens: number;
  elapsedSeconds: number;
  /** Whole arenas in the ParameterStore's byte layout (f32, padding included). */
  params: Uint8Array;
  adamM: Uint8Array;
  adamV: Uint8Array;
  /** The loss scaler's state (scale 1 in f32); absent in checkpoints from before it: the run's default. */
  lossScale?: LossScaleState;
}

export interface RunRecord {
  summary: RunSummary;
  tokenizerJson: string;
  /** The curve up to summary.checkpointStep (a reload continues from there). */
  steps: StepPoint[];
  evals: EvalPoint[];
  /** The training log's events (steps and validations are the curve's), newest MAX_LOG_LINES. */
  log?: LogEvent[];
  /** Where its tokens come from, for a run imported from elsewhere (to find or prepare them here). */
  dataset?: RunDataset;
}

export interface ExportFile {
  name: string;
  bytes: Uint8Array;
}

const RUN = 'run:';
const CKPT = 'ckpt:';

function checkpointKey(id: string, step: number): string {
  return `${CKPT}${id}:${step}`;
}

export class RunStore {
  constructor(private readonly db: UseStore = createStore('gpt-garden-runs', 'kv')) {}

  /** A new run record (status 'running', no checkpoint yet). */
  async create(options: {
    settings: RunSettings;
    tokenizerJson: string;
    tokenizer: RunSummary['tokenizer'];
    name?: string;
    id?: string;
    dataset?: RunDataset;
  }): Promise<RunRecord> {
    const now = new Date().toISOString();
    const id = options.id ?? `run-${now.replace(/[-:.TZ]/g, '')}-${Math.random().toString(36).slice(2, 6)}`;
    const record: RunRecord = {
      summary: {
        id,
        name:
          options.name ??
          `${options.settings.model.nLayer}L ${options.settings.model.nEmbd}w on ${options.settings.datasetId}`,
        createdAt: now,
        updatedAt: now,
        settings: options.settings,
        status: 'running',
        checkpointStep: 0,
        tokens: 0,
        tokenizer: options.tokenizer,
      },
      tokenizerJson: options.tokenizerJson,
      steps: [],
      evals: [],
      ...(options.dataset ? { dataset: options.dataset } : {}),
    };
    await this.put(record);
    return record;
  }

  /** The run's record, checked: a damaged one throws a DataError naming its key and what is wrong. */
  async get(id: string): Promise<RunRecord | undefined> {
    const value = await get<unknown>(RUN + id, this.db);
    if (value === undefined) return undefined;
    const checked = checkRunRecord(value);
    if (!checked.ok) throw damagedError(`the record of run "${id}"`, RUN + id, checked.problems);
    const record = checked.value;
    // A damaged log is dropped and said so in a fresh one; the run itself stays usable.
    const { log, problem } = checkRunLog(record.log);
    const step = record.summary.checkpointStep;
    record.log = problem
      ? [{ step, kind: 'error', message: `the stored log was damaged (${problem}) and was dropped` }]
      : log;
    return record;
  }

  /** Every run's summary, the most recently updated first. */
  async list(): Promise<RunSummary[]> {
    return (await this.listAll()).runs;
  }

  /** Healthy runs' summaries and the damaged records beside them (one never hides the others). */
  async listAll(): Promise<{ runs: RunSummary[]; damaged: DamagedRecord[] }> {
    const runKeys = (await keys(this.db)).filter((k): k is string => typeof k === 'string' && k.startsWith(RUN));
    const runs: RunSummary[] = [];
    const damaged: DamagedRecord[] = [];
    for (const key of runKeys) {
      const value = await get<unknown>(key, this.db);
      if (value === undefined) continue;
      const checked = checkRunRecord(value);
      if (checked.ok) runs.push(checked.value.summary);
      else damaged.push(damagedRecord(key, RUN, checked.problems));
    }
    runs.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    return { runs, damaged };
  }

  /** Changes a run's summary (status, message...) and keeps its history and checkpoint as they are. */
  async updateSummary(id: string, patch: Partial<Omit<RunSummary, 'id'>>, log?: LogEvent[]): Promise<RunSummary> {
    const record = await this.require(id);
    record.summary = { ...record.summary, ...patch, updatedAt: new Date().toISOString() };
    if (log) record.log = log;
    await this.put(record);
    return record.summary;
  }

  /**
   * Saves a checkpoint and the curve up to it. Order matters for crash safety: the new checkpoint,
   * then the record naming it, then the old checkpoint's removal. If the record cannot be written
   * (a full quota), the new checkpoint is dropped and the previous one stays current.
   */
  async saveCheckpoint(
    id: string,
    data: CheckpointData,
    history: { steps: StepPoint[]; evals: EvalPoint[]; log?: LogEvent[] },
    patch: Partial<Omit<RunSummary, 'id'>> = {},
  ): Promise<RunSummary> {
    const record = await this.require(id);
    const key = checkpointKey(id, data.step);
    await writing(`the checkpoint of run "${record.summary.name}" at step ${data.step}`, () => set(key, data, this.db));
    const last = history.steps.at(-1);
    const lastEval = history.evals.at(-1);
    const updated: RunRecord = {
      ...record,
      steps: history.steps,
      evals: history.evals,
      // Events past the checkpoint are not kept (a resume continues from it); none given: the record's, cut there.
      log: logUpTo(history.log ?? record.log ?? [], data.step),
      summary: {
        ...record.summary,
        ...(last ? { lastLoss: last.loss } : {}),
        ...(lastEval ? { lastValLoss: lastEval.valLoss } : {}),
        ...patch,
        checkpointStep: data.step,
        tokens: data.tokens,
        updatedAt: new Date().toISOString(),
      },
    };
    try {
      await this.put(updated);
    } catch (error) {
      if (data.step !== record.summary.checkpointStep) await del(key, this.db).catch(() => undefined);
      throw error;
    }
    // Also sweeps checkpoints orphaned by a crash between the two writes of an earlier save.
    const stale = (await this.checkpointKeys(id)).filter((k) => k !== key);
    await delMany(stale, this.db).catch(() => undefined);
    return updated.summary;
  }

  /** The checkpoint the run record points at (undefined before the first one). */
  async latestCheckpoint(id: string): Promise<CheckpointData | undefined> {
    const record = await this.get(id);
    if (!record || (record.summary.checkpointStep === 0 && !record.summary.imported)) return undefined;
    const key = checkpointKey(id, record.summary.checkpointStep);
    const data = await get<unknown>(key, this.db);
    if (data === undefined) {
      throw new DataError(
        'format',
        `the checkpoint of run "${record.summary.name}" at step ${record.summary.checkpointStep} is missing from IndexedDB (the browser may have evicted it): start the run again`,
      );
    }
    const what = `the checkpoint of run "${record.summary.name}" at step ${record.summary.checkpointStep}`;
    const checked = checkCheckpoint(data);
    if (!checked.ok) throw damagedError(what, key, checked.problems);
    const problems = arenaProblems(checked.value.params, record.summary.settings.model);
    if (problems.length > 0) throw damagedError(what, key, problems);
    return checked.value;
  }

  /** Removes the run and every checkpoint of it (the record first, so nothing names a deleted checkpoint). */
  async delete(id: string): Promise<void> {
    await del(RUN + id, this.db);
    await delMany(await this.checkpointKeys(id), this.db);
  }

  /**
   * The run's latest checkpoint as a Hugging Face folder: model.safetensors (GPT-2 names,
   * `{"format":"pt"}`), config.json and tokenizer.json, ready for transformers' from_pretrained.
   */
  async exportHf(id: string): Promise<ExportFile[]> {
    const record = await this.require(id);
    const data = await this.latestCheckpoint(id);
    if (!data)
      throw new DataError(
        'config',
        `run "${record.summary.name}" has no checkpoint yet: train it for a while (or pause it) before exporting`,
      );
    return hfFolderFiles(record.summary.settings.model, data.params, record.tokenizerJson);
  }

  private async require(id: string): Promise<RunRecord> {
    const record = await this.get(id);
    if (!record)
      throw new DataError('config', `there is no run "${id}" (it may have been deleted): refresh the list of runs`);
    return record;
  }

  private put(record: RunRecord): Promise<void> {
    return writing(`run "${record.summary.name}"`, () => set(RUN + record.summary.id, record, this.db));
  }

  private async checkpointKeys(id: string): Promise<string[]> {
    const prefix = `${CKPT}${id}:`;
    return (await keys(this.db)).filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
  }
}

/** Weights that do not fit the run's model, or are not finite, would load as garbage: named instead. */
function arenaProblems(params: Uint8Array, model: RunSummary['settings']['model']): string[] {
  // Between the end of the last tensor and the whole arena (its tail padding is optional).
  const least = 4 * paramLayout(model).reduce((end, e) => Math.max(end, e.offset + e.numel), 0);
  const most = 4 * paramArenaLength(model);
  if (params.byteLength < least || params.byteLength > most || params.byteLength % 4 !== 0)
    return [
      `params holds ${params.byteLength} bytes, the run's model needs ${least === most ? least : `${least} to ${most}`}`,
    ];
  // A view needs 4-byte alignment; a misaligned array (a subarray) is copied first.
  const aligned = params.byteOffset % 4 === 0 ? params : params.slice();
  const values = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  return bad < 0 ? [] : [`params hold a non-finite value (${values[bad]}) at index ${bad}`];
}

// The arena layout lives with the run directory format; kept importable from here.
export { paramArenaLength, paramLayout } from './run-dir';
