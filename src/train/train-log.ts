/**
 * A run's training log as nanoGPT prints one: a line per step (loss, learning rate, ms/step,
 * tokens/s, TFLOP/s), per validation (on how many tokens), per checkpoint (its size) and per event
 * (start, pause, resume, stop, NaN, device lost, error). Steps and validations come from the run's
 * curve, and so do overflows (a skipped step that carried a loss scale); only the other events are
 * kept as LogEvents. Pure: the lab's Log card and the CLI's stderr share these lines.
 */
import type { EvalPoint, RunSettings, StepPoint } from './protocol';

export type LogEventKind =
  'start' | 'resume' | 'checkpoint' | 'pause' | 'stop' | 'done' | 'nan' | 'device-lost' | 'error';
export const LOG_EVENT_KINDS: readonly LogEventKind[] = [
  'start',
  'resume',
  'checkpoint',
  'pause',
  'stop',
  'done',
  'nan',
  'device-lost',
  'error',
];

/** Something that happened to a run at a step (after that step's line, before the next one's). */
export interface LogEvent {
  step: number;
  kind: LogEventKind;
  /** Details in words (why it failed, what it continues from). */
  message?: string;
  /** A checkpoint's size (weights and optimizer state). */
  bytes?: number;
  /** When, as an ISO time. */
  at?: string;
}

/** Lines kept in a run's record and shown: the newest ones, as a terminal's scrollback would. */
export const MAX_LOG_LINES = 10_000;

/** What the lines need from the run's settings. */
export type LogSettings = Pick<RunSettings, 'maxSteps' | 'batchSize' | 'accumSteps'> & {
  model: Pick<RunSettings['model'], 'blockSize'>;
};

const count = (n: number) => Math.round(n).toLocaleString('en-US');

function prefix(step: number, settings: LogSettings): string {
  return `step ${step}/${settings.maxSteps}`;
}

/** `step 25/200: loss 5.4321, lr 1.00e-3, 512.3 ms, 1,234 tok/s, 0.0012 TFLOP/s` */
export function formatStepLine(p: StepPoint, settings: LogSettings): string {
  const tokensPerStep = settings.batchSize * settings.accumSteps * settings.model.blockSize;
  const ms = p.tokensPerSecond > 0 ? (1000 * tokensPerStep) / p.tokensPerSecond : NaN;
  const skipped = p.skipped
    ? p.lossScale !== undefined
      ? ' (skipped: gradients overflowed)'
      : ' (skipped: gradients not finite)'
    : '';
  return `${prefix(p.step, settings)}: loss ${p.loss.toFixed(4)}, lr ${p.lr.toExponential(2)}, ${ms.toFixed(1)} ms, ${count(p.tokensPerSecond)} tok/s, ${p.tflops.toPrecision(2)} TFLOP/s${skipped}`;
}

/** The scale after an overflow: halved, but not below loss-scale.ts's MIN_LOSS_SCALE (2^-24). */
function halvedScale(scale: number): number {
  return scale / 2 >= 2 ** -24 ? scale / 2 : scale;
}

/**
 * `step 120/300: overflow: step skipped, loss scale 65536 → 32768` for a step whose scaled gradients
 * overflowed; undefined for any other step.
 */
export function formatOverflowLine(p: StepPoint, settings: LogSettings): string | undefined {
  if (!p.skipped || p.lossScale === undefined) return undefined;
  return `${prefix(p.step, settings)}: overflow: step skipped, loss scale ${p.lossScale} → ${halvedScale(p.lossScale)}`;
}

/** `step 25/200: val loss 5.5123 ± 0.0081 on 17,408 tokens` */
export function formatEvalLine(p: EvalPoint, settings: LogSettings): string {
  const error = p.standardError !== undefined ? ` ± ${p.standardError.toFixed(4)}` : '';
  const on = p.tokens !== undefined ? ` on ${count(p.tokens)} tokens` : '';
  return `${prefix(p.step, settings)}: val loss ${p.valLoss.toFixed(4)}${error}${on}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

const EVENT_WORDS: Record<LogEventKind, string> = {
  start: 'started',
  resume: 'resumed from the checkpoint',
  checkpoint: 'checkpoint saved',
  pause: 'paused',
  stop: 'stopped',
  done: 'done',
  nan: 'loss is NaN',
  'device-lost': 'GPU device lost',
  error: 'error',
};

/** `step 25/200: checkpoint saved (1.2 MB)`, `step 40/200: paused`, `step 7/200: GPU device lost: …` */
export function formatEventLine(e: LogEvent, settings: LogSettings): string {
  const size = e.bytes !== undefined ? ` (${formatBytes(e.bytes)})` : '';
  const message = e.message ? `: ${e.message}` : '';
  return `${prefix(e.step, settings)}: ${EVENT_WORDS[e.kind]}${size}${message}`;
}

/**
 * The log's lines in order: at each step its step line, then its validation, then its events in
 * the order they happened. The newest MAX_LOG_LINES (or `max`) only.
 */
export function logLines(
  steps: readonly StepPoint[],
  evals: readonly EvalPoint[],
  events: readonly LogEvent[],
  settings: LogSettings,
  max = MAX_LOG_LINES,
): string[] {
  const tagged: { step: number; order: number; index: number; line: () => string }[] = [];
  steps.forEach((p, index) => {
    tagged.push({ step: p.step, order: 0, index: 2 * index, line: () => formatStepLine(p, settings) });
    if (formatOverflowLine(p, settings) !== undefined)
      tagged.push({ step: p.step, order: 0, index: 2 * index + 1, line: () => formatOverflowLine(p, settings)! });
  });
  evals.forEach((p, index) => tagged.push({ step: p.step, order: 1, index, line: () => formatEvalLine(p, settings) }));
  // A start or resume at step s comes before step s+1's line but after anything else at s.
  events.forEach((e, index) =>
    tagged.push({ step: e.step, order: 2, index, line: () => formatEventLine(e, settings) }),
  );
  tagged.sort((a, b) => a.step - b.step || a.order - b.order || a.index - b.index);
  // Formatted only for the lines kept.
  return tagged.slice(Math.max(0, tagged.length - max)).map((t) => t.line());
}

/** Events up to `step` (a resumed run's log goes on from its checkpoint, as its curve does). */
export function logUpTo(events: readonly LogEvent[], step: number): LogEvent[] {
  return events.filter((e) => e.step <= step);
}

/** Appends an event, keeping the newest MAX_LOG_LINES. */
export function appendLog(events: LogEvent[], event: LogEvent): LogEvent[] {
  events.push(event);
  if (events.length > MAX_LOG_LINES) events.splice(0, events.length - MAX_LOG_LINES);
  return events;
}
