/**
 * A GPU device lost mid-run (driver reset, GPU process crash, another tab's hang) is survivable:
 * the run's last checkpoint is saved, so a new device can take the run on from there. These pieces
 * are shared by the lab worker and the CLI's `train`: a bound on how often that is tried, and a
 * run of the Trainer that tells "the device went away" apart from any other ending.
 */
import { GpuError, type GpuContext } from '../gpu/context';
import type { CheckpointData } from './run-store';
import type { Trainer, TrainerOutcome } from './trainer';
import { messageOf } from '../util/errors';

export interface RecoveryPolicy {
  /** New devices tried for one run within `windowMs`; one more loss than this ends the run. */
  maxTries: number;
  windowMs: number;
  /** Wait before try n (1-based): a device lost to a driver reset comes back after a moment. */
  backoffMs: (attempt: number) => number;
}

export const DEFAULT_RECOVERY: RecoveryPolicy = {
  maxTries: 3,
  windowMs: 5 * 60_000,
  backoffMs: (attempt) => 1000 * 2 ** (attempt - 1),
};

/** Counts losses in a sliding window, so a rare loss over a days-long run never exhausts it. */
export class RecoveryBudget {
  private losses: number[] = [];

  constructor(
    readonly policy: RecoveryPolicy = DEFAULT_RECOVERY,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a loss: the try number (1-based) to make, or null when past the bound. */
  next(): number | null {
    const t = this.now();
    this.losses = this.losses.filter((at) => t - at < this.policy.windowMs);
    this.losses.push(t);
    return this.losses.length <= this.policy.maxTries ? this.losses.length : null;
  }

  /** How many tries were made in the window (for the message when they ran out). */
  get tries(): number {
    return Math.min(this.losses.length, this.policy.maxTries);
  }

  /** "5 minutes" / "30 seconds", for messages. */
  get window(): string {
    const s = Math.round(this.policy.windowMs / 1000);
    return s >= 120 ? `${Math.round(s / 60)} minutes` : `${s} second${s === 1 ? '' : 's'}`;
  }
}

export type RunResult = { outcome: TrainerOutcome } | { lost: string };

/**
 * How long a failed call waits for the device's lost signal: a read-back on a lost device rejects
 * on its own, and Dawn may deliver that before the lost promise settles.
 */
const LOST_GRACE_MS = 1000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `work`'s result, or null when the device is lost first (work on a dead device may never settle)
 * or when `work` fails and the device turns out lost right after (its failure is the loss).
 */
export async function unlessLost<T>(ctx: GpuContext, work: Promise<T>): Promise<T | null> {
  work.catch(() => undefined); // when the loss wins the race, a later rejection is expected
  try {
    return await Promise.race([work, ctx.lost.then(() => null)]);
  } catch (error) {
    if (await Promise.race([ctx.lost.then(() => true), delay(LOST_GRACE_MS).then(() => false)])) return null;
    throw error;
  }
}

/**
 * Trains until the run ends or its device is lost; in that case the trainer is asked to pause, so
 * a loop that still wakes up stops at its next step. `request`: a pause or stop asked for before
 * this trainer existed (while a new device was being made).
 */
export async function runUntilLost(trainer: Trainer, ctx: GpuContext, request?: 'pause' | 'stop'): Promise<RunResult> {
  const running = trainer.run();
  // run() marks the trainer running synchronously, so the request sticks.
  if (request === 'pause') trainer.pause();
  else if (request === 'stop') trainer.stop();
  const outcome = await unlessLost(ctx, running);
  if (outcome !== null) return { outcome };
  trainer.pause();
  return { lost: (await ctx.lost) || 'GPU device lost' };
}

/** Frees a trainer whose device may be gone (destroying dead buffers is allowed; a throw is not worth reporting). */
export function dropTrainer(trainer: Trainer): void {
  try {
    trainer.destroy();
  } catch {
    // its device is lost: nothing to free
  }
}

/** A loss's reason after "GPU device lost at step N": " (unknown): the driver was reset" or ": <why a new one failed>". */
export function detail(reason: string): string {
  const rest = reason.replace(/^GPU device lost\b\s*/, '');
  return rest.startsWith('(') ? ` ${rest}` : `: ${rest}`;
}

export interface RecoveryNotice {
  lostAt: number;
  /** The checkpoint's step (0: none yet, the run starts again from its seed). */
  from: number;
  attempt: number;
  maxTries: number;
  /** One line for people: "GPU device lost at step 57: resuming from the checkpoint at step 50 (try 1 of 3)…". */
  message: string;
}

/** What recoverRun needs from the lab worker or the CLI. */
export interface RecoveryHost {
  latestCheckpoint(): Promise<CheckpointData | undefined>;
  newContext(): Promise<GpuContext>;
  build(ctx: GpuContext, checkpoint: CheckpointData | undefined): Promise<Trainer>;
  /** Called before each try: cut the curve back to `from` and say so. */
  onRecovering(notice: RecoveryNotice): void;
}

export type Recovered = { ctx: GpuContext; trainer: Trainer; from: number } | { failed: string; from: number };

/**
 * After a loss at step `lostAt`: a new device and a trainer on it from the run's last checkpoint,
 * after a short wait, until one is built or the tries run out (`failed` then says so). A device
 * that is lost again while the model is built, or that cannot be had at all, costs a try too.
 */
export async function recoverRun(
  host: RecoveryHost,
  budget: RecoveryBudget,
  lostAt: number,
  reason: string,
): Promise<Recovered> {
  for (;;) {
    const checkpoint = await host.latestCheckpoint();
    const from = checkpoint?.step ?? 0;
    const attempt = budget.next();
    if (attempt === null)
      return {
        failed: `GPU device lost at step ${lostAt}${detail(reason)}. ${budget.tries} tries to continue on a new device within ${budget.window} failed.`,
        from,
      };
    const { maxTries } = budget.policy;
    const where = checkpoint
      ? `resuming from the checkpoint at step ${from}`
      : 'starting again from step 0 (no checkpoint yet)';
    host.onRecovering({
      lostAt,
      from,
      attempt,
      maxTries,
      message: `GPU device lost at step ${lostAt}: ${where} (try ${attempt} of ${maxTries})…`,
    });
    await delay(budget.policy.backoffMs(attempt));
    let ctx: GpuContext | undefined;
    try {
      ctx = await host.newContext();
      const trainer = await unlessLost(ctx, host.build(ctx, checkpoint));
      if (trainer) return { ctx, trainer, from };
      reason = 'the new GPU device was lost before the run could continue';
    } catch (error) {
      // Anything but a device problem (bad data, storage) ends the run as any error would.
      if (!(error instanceof GpuError) && !ctx?.isLost()) throw error;
      reason = messageOf(error);
    }
  }
}
