/**
 * `train`'s progress on stderr: a bar redrawn in place on a terminal, otherwise one line every N
 * steps (logs and CI keep them): the lab's Log lines (train-log.ts) and the ETA.
 */
import { paramCount } from '../model/hf';
import { formatDuration } from '../scaling/format';
import type { EvalPoint, RunSettings, StepPoint } from '../train/protocol';
import { formatEvalLine, formatOverflowLine, formatStepLine } from '../train/train-log';

const BAR = 24;

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly every: number;
  private readonly started = performance.now();
  private stepsThisSession = 0;
  private lastVal: string | undefined;
  private drawn = false;

  constructor(
    private readonly settings: RunSettings,
    every: number | undefined,
    private readonly firstStep: number,
  ) {
    // About 100 lines for a whole run unless told otherwise.
    this.every = every ?? Math.max(1, Math.round(settings.maxSteps / 100));
  }

  describe(): string {
    const { model, batchSize, accumSteps, maxSteps } = this.settings;
    const from = this.firstStep > 0 ? `, from step ${this.firstStep}` : '';
    const precision = this.settings.precision ?? 'f32';
    return `${model.nLayer} layers × ${model.nEmbd} wide, ${model.nHead} heads, block ${model.blockSize}, vocab ${model.vocabSize} (${paramCount(model).toLocaleString('en-US')} parameters, ${precision}); ${maxSteps} steps of ${batchSize}×${accumSteps}×${model.blockSize} tokens${from}`;
  }

  step(p: StepPoint): void {
    this.stepsThisSession++;
    const { maxSteps } = this.settings;
    const perStep = (performance.now() - this.started) / 1000 / this.stepsThisSession;
    const eta = formatDuration(Math.max(0, maxSteps - p.step) * perStep);
    const val = this.lastVal !== undefined ? ` val ${this.lastVal}` : '';
    if (this.tty) {
      const stats = `step ${p.step}/${maxSteps} loss ${p.loss.toFixed(4)}${val} lr ${p.lr.toExponential(2)} ${Math.round(p.tokensPerSecond)} tok/s ${p.tflops.toPrecision(3)} TFLOP/s ETA ${eta}${p.skipped ? ' (skipped: gradients not finite)' : ''}`;
      const filled = Math.round((BAR * p.step) / maxSteps);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${stats}\x1b[K`);
      this.drawn = true;
    } else if (p.step % this.every === 0 || p.step === maxSteps || this.stepsThisSession === 1) {
      process.stderr.write(`${formatStepLine(p, this.settings)}, ETA ${eta}\n`);
    }
    // Every overflow is said, whatever --print-every (on a terminal, on its own line under the bar).
    const overflow = formatOverflowLine(p, this.settings);
    if (overflow) process.stderr.write(this.tty ? `\n${overflow}\n` : `${overflow}\n`);
  }

  eval(p: EvalPoint): void {
    const se = p.standardError !== undefined ? ` ± ${p.standardError.toFixed(4)}` : '';
    this.lastVal = `${p.valLoss.toFixed(4)}${se}`;
    if (!this.tty) process.stderr.write(`${formatEvalLine(p, this.settings)}\n`);
  }

  finish(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }

  /** A line of its own: under the bar when one is drawn (the next step draws it again below). */
  say(line: string): void {
    this.finish();
    process.stderr.write(`${line}\n`);
  }
}
