/**
 * A compute budget in the units people have: FLOPs, hours on a device, or dollars of rented time.
 *
 * A device is described by its sustained training FLOP/s, measured as training tokens/s on some
 * reference model times that model's FLOPs per token (6N + 12·L·T·C). Utilization differs between
 * model sizes, so carrying one FLOP/s figure to another model is an estimate, good to tens of percent.
 */
import type { GPTConfig } from '../model/config';
import { trainingFlopsPerToken } from '../model/hf';
import { assertPositive } from './chinchilla';

export type Budget =
  | { kind: 'flops'; flops: number }
  | { kind: 'hours'; hours: number; deviceFlopsPerSecond: number }
  | { kind: 'dollars'; dollars: number; pricePerHour: number; deviceFlopsPerSecond: number };

const SECONDS_PER_HOUR = 3600;

/** Sustained training FLOP/s of a device that trains `reference` at tokensPerSecond. */
export function deviceFlopsPerSecond(tokensPerSecond: number, reference: GPTConfig): number {
  assertPositive('tokens per second', tokensPerSecond);
  return tokensPerSecond * trainingFlopsPerToken(reference);
}

/** The budget in FLOPs. Dollars buy dollars / pricePerHour hours of the device. */
export function budgetFlops(budget: Budget): number {
  switch (budget.kind) {
    case 'flops':
      assertPositive('FLOP budget', budget.flops);
      return budget.flops;
    case 'hours':
      assertPositive('hours', budget.hours);
      assertPositive('device FLOP/s', budget.deviceFlopsPerSecond);
      return budget.hours * SECONDS_PER_HOUR * budget.deviceFlopsPerSecond;
    case 'dollars':
      assertPositive('dollars', budget.dollars);
      assertPositive('price per hour', budget.pricePerHour);
      assertPositive('device FLOP/s', budget.deviceFlopsPerSecond);
      return (budget.dollars / budget.pricePerHour) * SECONDS_PER_HOUR * budget.deviceFlopsPerSecond;
  }
}

/** Wall-clock seconds to train `config` on `tokens` tokens at the device's FLOP/s. */
export function trainingSeconds(config: GPTConfig, tokens: number, flopsPerSecond: number): number {
  assertPositive('device FLOP/s', flopsPerSecond);
  return (tokens * trainingFlopsPerToken(config)) / flopsPerSecond;
}
