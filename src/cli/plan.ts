/**
 * `plan --flops C [--fit hoffmann|epoch] [--vocab N] [--block N]`: the compute-optimal model for a
 * FLOP budget under a Chinchilla fit. Prints a short summary, then one JSON object on the last line
 * of stdout. Errors go to stderr with exit code 2.
 */
import { parseArgs } from 'node:util';
import { SEED_CONFIG } from '../model/config';
import { FITS, type FitId } from '../scaling/chinchilla';
import { formatCount, formatFlops, parsePositiveNumber } from '../scaling/format';
import { planForBudget } from '../scaling/model-picker';

const USAGE = 'usage: plan --flops C [--fit hoffmann|epoch] [--vocab N] [--block N]   (e.g. --flops 3.2e17)';

class UsageError extends Error {}

function positiveNumber(flag: string, text: string | undefined): number {
  if (text === undefined) throw new UsageError(`--${flag} is required\n${USAGE}`);
  const value = parsePositiveNumber(text);
  if (value === undefined) throw new UsageError(`--${flag} must be a positive number such as 3.2e17 (got "${text}")`);
  return value;
}

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--${flag} must be a positive integer (got "${text}")`);
  return value;
}

function parseFit(text: string | undefined): FitId {
  if (text === undefined) return 'hoffmann';
  if (Object.hasOwn(FITS, text)) return text as FitId;
  throw new UsageError(`unknown --fit "${text}": choose ${Object.keys(FITS).join(' or ')}`);
}

/** parseArgs reads "--flops -3" as a flag with no value; glue negative numbers on so they get a clear error. */
function attachNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (/^--(flops|vocab|block)$/.test(args[i]!) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

function run(args: string[]): void {
  let values: { flops?: string; fit?: string; vocab?: string; block?: string };
  try {
    ({ values } = parseArgs({
      args: attachNegativeValues(args),
      options: { flops: { type: 'string' }, fit: { type: 'string' }, vocab: { type: 'string' }, block: { type: 'string' } },
    }));
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
  const flops = positiveNumber('flops', values.flops);
  const fit = FITS[parseFit(values.fit)];
  const vocabSize = positiveInteger('vocab', values.vocab, SEED_CONFIG.vocabSize);
  const blockSize = positiveInteger('block', values.block, SEED_CONFIG.blockSize);
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
    process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}
