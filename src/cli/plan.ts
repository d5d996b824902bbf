/**
 * `plan --flops C [--fit hoffmann|epoch] [--vocab N] [--block N]`: the compute-optimal model for a
 * FLOP budget under a Chinchilla fit. Prints a short summary, then one JSON object on the last line
 * of stdout. Errors go to stderr with exit code 2.
 */
import { DataError } from '../data/types';
import { SEED_CONFIG } from '../model/config';
import { FITS, type FitId } from '../scaling/chinchilla';
import { formatCount, formatFlops } from '../scaling/format';
import { planForBudget } from '../scaling/model-picker';
import { parseFlags, VOCAB_FLAG } from './args';
import { messageOf } from '../util/errors';

const USAGE = 'usage: plan --flops C [--fit hoffmann|epoch] [--vocab N] [--block N]   (e.g. --flops 3.2e17)';

export const PLAN_FLAGS = {
  flops: { type: 'number', above: 0, want: 'a positive number such as 3.2e17' },
  fit: { type: 'enum', values: Object.keys(FITS) as FitId[] },
  vocab: VOCAB_FLAG,
  block: { type: 'int', min: 1, max: 2 ** 20 },
} as const;

function run(args: string[]): void {
  const { values } = parseFlags(args, PLAN_FLAGS, { command: 'plan' });
  if (values.flops === undefined) throw new DataError('config', `--flops is required: ${USAGE}`);
  const flops = values.flops;
  const fit = FITS[values.fit ?? 'hoffmann'];
  const vocabSize = values.vocab ?? SEED_CONFIG.vocabSize;
  const blockSize = values.block ?? SEED_CONFIG.blockSize;
  const plan = planForBudget({ flops, fit, vocabSize, blockSize });
  const { config } = plan;

  const lines = [
    `Budget ${formatFlops(flops)} FLOPs, ${fit.label}: L = ${fit.E} + ${fit.A}/N^${fit.alpha} + ${fit.B}/D^${fit.beta}`,
    `Compute-optimal: N = ${formatCount(plan.N)} parameters, D = ${formatCount(plan.D)} tokens, loss ${plan.loss.toFixed(3)}`,
    `Model: ${config.nLayer} layers, ${config.nHead} heads, width ${config.nEmbd}, block ${blockSize}, vocab ${vocabSize}` +
      ` = ${plan.params.toLocaleString('en-US')} parameters (total, embeddings included)`,
    `Train it on ${formatCount(plan.tokens)} tokens (6·params·tokens = budget); predicted loss ${plan.predictedLoss.toFixed(3)}`,
    `With attention the run costs ${formatFlops(plan.trainingFlops)} FLOPs (${formatCount(plan.trainingFlopsPerToken)} per token)`,
    'The fits come from other data and tokenizers: trust the shape of the trade-off more than the loss.',
  ];
  const summary = {
    fit: fit.id,
    flops,
    N: plan.N,
    D: plan.D,
    loss: plan.loss,
    model: { ...config, params: plan.params },
    tokens: plan.tokens,
    predictedLoss: plan.predictedLoss,
    trainingFlops: plan.trainingFlops,
  };
  process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(summary)}\n`);
}

/** Runs the command; returns the exit code (0, or 2 for any error, after printing it to stderr). */
export async function planCommand(args: string[]): Promise<number> {
  try {
    run(args);
    return 0;
  } catch (e) {
    process.stderr.write(`plan: ${messageOf(e)}\n`);
    return 2;
  }
}
