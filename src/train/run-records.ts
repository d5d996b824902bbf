/**
 * The checkers of the training layer's stored records (`run:<id>`, `ckpt:<id>:<step>`), on the
 * data layer's Checker: every read goes through them so a damaged record is named, not crashed on.
 */
import { type Checked, Checker, checkPoints, checkSource, checkTokenizerInfo, describe, result } from '../data/records';
import { lossScaleProblem, PRECISIONS, type LossScaleState } from './loss-scale';
import type { CheckpointData, RunRecord } from './run-store';
import { LOG_EVENT_KINDS, MAX_LOG_LINES, type LogEvent } from './train-log';

/** A `run:<id>` record: the fields the lab, the runs list and resume read. */
export function checkRunRecord(value: unknown): Checked<RunRecord> {
  const c = new Checker();
  const root = c.object({ v: value }, 'v');
  if (!root) return { ok: false, problems: [`the record is ${describe(value)}, expected an object`] };
  const summary = c.object(root, 'summary');
  if (summary) {
    const s = c.nested('summary');
    for (const k of ['id', 'name', 'createdAt', 'updatedAt']) s.string(summary, k);
    s.oneOf(summary, 'status', ['running', 'paused', 'stopped', 'done', 'error']);
    s.number(summary, 'checkpointStep', 0, true);
    s.number(summary, 'tokens', 0);
    s.string(summary, 'message', true);
    s.string(summary, 'imported', true);
    s.optionalNumber(summary, 'lastLoss');
    s.optionalNumber(summary, 'lastValLoss');
    checkTokenizerInfo(s, summary, 'tokenizer');
    if (summary.missingDataset !== undefined) {
      const d = s.object(summary, 'missingDataset');
      if (d) {
        const n = s.nested('missingDataset');
        // As strict as run.json's reader (run-dir.ts), which such a record comes from.
        for (const k of ['id', 'tokenizerFingerprint']) n.string(d, k);
        n.string(d, 'name', true);
        n.optionalNumber(d, 'tokens');
        n.optionalNumber(d, 'valFraction');
        checkSource(n, d, 'source');
        s.merge(n);
      }
    }
    const settings = s.object(summary, 'settings');
    if (settings) {
      const st = s.nested('settings');
      const model = st.object(settings, 'model');
      if (model) {
        const m = st.nested('model');
        for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd']) m.number(model, k, 1, true);
        st.merge(m);
      }
      // Types and signs only: whether settings are sensible is settingsProblems' job (0 evalBatches is fine).
      for (const k of ['batchSize', 'accumSteps', 'maxSteps', 'evalEvery', 'evalBatches', 'checkpointEvery'])
        st.number(settings, k, 0, true);
      st.number(settings, 'seed', -Infinity, true);
      st.number(settings, 'weightDecay', 0);
      st.number(settings, 'gradClip', 0);
      st.string(settings, 'datasetId');
      if (settings.precision !== undefined) st.oneOf(settings, 'precision', PRECISIONS);
      const lr = st.object(settings, 'lr');
      if (lr) {
        const l = st.nested('lr');
        for (const k of ['maxLr', 'minLr', 'warmupSteps']) l.number(lr, k, 0);
        st.merge(l);
      }
      s.merge(st);
    }
    c.merge(s);
  }
  c.string(root, 'tokenizerJson');
  // The loss curve's fields; run.json's reader asks the same of an imported run.
  checkPoints(c, root, 'steps', ['step', 'loss']);
  checkPoints(c, root, 'evals', ['step', 'valLoss']);
  return result(c, value);
}

/** A `ckpt:<id>:<step>` record: counters and the three arenas, all of the same length. */
export function checkCheckpoint(value: unknown): Checked<CheckpointData> {
  const c = new Checker();
  const root = c.object({ v: value }, 'v');
  if (!root) return { ok: false, problems: [`the record is ${describe(value)}, expected an object`] };
  for (const k of ['step', 'adamStep']) c.number(root, k, 0, true);
  c.number(root, 'samplerState', -Infinity, true); // an RNG state: any integer
  c.number(root, 'tokens', 0);
  c.number(root, 'elapsedSeconds', 0);
  for (const k of ['params', 'adamM', 'adamV']) c.bytes(root, k);
  // Absent in checkpoints from before loss scaling.
  if (root.lossScale !== undefined) {
    const scale = c.object(root, 'lossScale');
    if (scale) {
      const n = c.nested('lossScale');
      n.number(scale, 'scale', 0);
      for (const k of ['cleanSteps', 'skippedSteps']) n.number(scale, k, 0, true);
      const problem = n.problems.length === 0 ? lossScaleProblem(scale as unknown as LossScaleState) : undefined;
      if (problem) n.problems.push(`lossScale: ${problem}`);
      c.merge(n);
    }
  }
  if (c.problems.length === 0) {
    const { params, adamM, adamV } = root as unknown as CheckpointData;
    if (params.byteLength % 4 !== 0)
      c.problems.push(`params holds ${params.byteLength} bytes, not a whole number of f32 values`);
    if (adamM.byteLength !== params.byteLength || adamV.byteLength !== params.byteLength)
      c.problems.push(`adamM/adamV hold ${adamM.byteLength}/${adamV.byteLength} bytes, params ${params.byteLength}`);
  }
  return result(c, value);
}

/**
 * A run record's `log`, checked apart from the rest: a damaged log must not cost the run. Absent
 * (a record from before logs) reads as empty; damaged reads as empty with the first problem named.
 */
export function checkRunLog(value: unknown): { log: LogEvent[]; problem?: string } {
  if (value === undefined) return { log: [] };
  if (!Array.isArray(value)) return { log: [], problem: `log is ${describe(value)}, expected an array` };
  for (let i = 0; i < value.length; i++) {
    const c = new Checker(`log[${i}]`);
    const e = c.object({ v: value[i] as unknown }, 'v');
    if (!e) return { log: [], problem: `log[${i}] is ${describe(value[i])}, expected an object` };
    c.number(e, 'step', 0, true);
    c.oneOf(e, 'kind', LOG_EVENT_KINDS);
    c.string(e, 'message', true);
    c.string(e, 'at', true);
    c.number(e, 'bytes', 0, true, true);
    if (c.problems.length) return { log: [], problem: c.problems[0] };
  }
  return { log: (value as LogEvent[]).slice(-MAX_LOG_LINES) };
}
