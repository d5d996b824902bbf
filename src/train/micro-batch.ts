/**
 * The micro-batch a run trains with: the user gives the batch per optimizer step (sequences), and
 * with "auto" the largest micro-batch that divides it and fits this device is chosen; gradient
 * accumulation makes up the rest (a mean over equal micro-batches, so the step is the same). Pure:
 * the page, the worker and the CLI all choose with it. A stored run keeps the numbers it chose.
 */
import { type BufferLimits, type SettingsProblem, settingsFieldProblems, type SuggestedSettings } from './defaults';

/** 'auto', or a fixed number of sequences per micro-batch. */
export type MicroBatchSetting = 'auto' | number;

export type MicroBatchChoice =
  | { ok: true; batch: number; microBatch: number; accumSteps: number; auto: boolean }
  | { ok: false; batch: number; problem: SettingsProblem };

/** The divisors of n, largest first (n is a batch: small, so trial division is plenty). */
function divisorsDescending(n: number): number[] {
  const out: number[] = [];
  for (let d = n; d >= 1; d--) if (n % d === 0) out.push(d);
  return out;
}

/** The first problem tied to the micro-batch at B, or null when B fits (limits unknown: only the grid is checked). */
function batchProblem(
  settings: SuggestedSettings,
  B: number,
  batch: number,
  limits: BufferLimits | undefined,
): SettingsProblem | null {
  const trial = { ...settings, batchSize: B, accumSteps: batch / B };
  return settingsFieldProblems(trial, limits).find((p) => p.field === 'batchSize') ?? null;
}

/**
 * Micro-batch and accumulation steps for `batch` sequences per step. `micro` 'auto': the largest
 * divisor of the batch whose micro-batch fits `limits`; a number: that one, which must divide the
 * batch. Not ok when the batch is not a whole number, the micro-batch does not divide it, or not
 * even one sequence at a time fits (the problem says which limit).
 */
export function chooseMicroBatch(
  settings: SuggestedSettings,
  batch: number,
  micro: MicroBatchSetting,
  limits?: BufferLimits,
): MicroBatchChoice {
  if (!Number.isSafeInteger(batch) || batch < 1) {
    return {
      ok: false,
      batch,
      problem: {
        field: 'batchSize',
        message: `The batch must be a whole number of sequences, at least 1 (it is ${batch}).`,
      },
    };
  }
  if (micro !== 'auto') {
    if (!Number.isSafeInteger(micro) || micro < 1 || batch % micro !== 0) {
      return {
        ok: false,
        batch,
        problem: {
          field: 'batchSize',
          message: `The micro-batch ${micro} does not divide the batch of ${batch} into equal parts: use a divisor of ${batch}, or auto.`,
        },
      };
    }
    return { ok: true, batch, microBatch: micro, accumSteps: batch / micro, auto: false };
  }
  for (const B of divisorsDescending(batch)) {
    if (!batchProblem(settings, B, batch, limits))
      return { ok: true, batch, microBatch: B, accumSteps: batch / B, auto: true };
  }
  const why = batchProblem(settings, 1, batch, limits)!;
  return {
    ok: false,
    batch,
    problem: { field: 'batchSize', message: `Not even one sequence at a time fits this GPU: ${why.message}` },
  };
}

/** The form's and the CLI's line: "micro-batch 4 × 4 accumulation steps: the batch of 16 does not fit at once here". */
export function microBatchNote(choice: MicroBatchChoice): string {
  if (!choice.ok) return choice.problem.message;
  const { batch, microBatch, accumSteps, auto } = choice;
  const steps = `${accumSteps} accumulation step${accumSteps === 1 ? '' : 's'}`;
  if (!auto) return `micro-batch ${microBatch} × ${steps} (chosen by hand)`;
  if (accumSteps === 1)
    return `micro-batch ${microBatch} × 1 accumulation step: the batch of ${batch} fits at once here`;
  return `micro-batch ${microBatch} × ${steps}: the batch of ${batch} does not fit at once here`;
}

/** Settings with the chosen micro-batch written in (the concrete numbers a run stores and resumes with). */
export function withMicroBatch<S extends SuggestedSettings>(
  settings: S,
  choice: Extract<MicroBatchChoice, { ok: true }>,
): S {
  return { ...settings, batchSize: choice.microBatch, accumSteps: choice.accumSteps, autoMicroBatch: choice.auto };
}
