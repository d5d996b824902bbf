/**
 * "Plan the model with IsoFLOP curves": a compute budget (FLOPs, hours on this device, or dollars),
 * a Chinchilla fit, and the compute-optimal model it implies, ready to hand to the trainer.
 *
 * The device's speed comes in as training tokens/s measured on a reference model (what `bench`
 * and the trainer report), turned into FLOP/s with that model's FLOPs per token (6N + 12·L·T·C).
 */
import { useId, useMemo, useState, type ReactNode } from 'react';
import { type GPTConfig, SEED_CONFIG } from '../../model/config';
import { type Budget, budgetFlops, deviceFlopsPerSecond, trainingSeconds } from '../../scaling/budget';
import { type ChinchillaFit, FITS, type FitId, uniformLoss } from '../../scaling/chinchilla';
import { formatCount, formatDuration, formatFlops, parsePositiveNumber } from '../../scaling/format';
import { type TrainingPlan, planCaveats, planForBudget, planForExecutedFlops } from '../../scaling/model-picker';
import { messageOf } from '../../util/errors';
import type { SweepResult } from './chart-data';
import { IsoFlopChart } from './IsoFlopChart';

export interface PlanPanelProps {
  vocabSize: number;
  blockSize: number;
  /** Training tokens/s measured on `referenceConfig` on this device; without it, only FLOPs budgets. */
  deviceTokensPerSecond?: number;
  /** The model deviceTokensPerSecond was measured on (default: the seed model, as `bench` times). */
  referenceConfig?: GPTConfig;
  /** The user's own sweep, drawn over the fitted curves. */
  sweep?: readonly SweepResult[];
  onUsePlan: (plan: TrainingPlan) => void;
  /** Extra fields beside the budget (the Plan tab's choice of vocabulary and context). */
  extraFields?: ReactNode;
}

type BudgetUnit = Budget['kind'];

const UNIT_LABELS: Record<BudgetUnit, string> = {
  flops: 'FLOPs',
  hours: 'hours on this device',
  dollars: 'dollars',
};

export function PlanPanel({
  vocabSize,
  blockSize,
  deviceTokensPerSecond,
  referenceConfig = SEED_CONFIG,
  sweep,
  onUsePlan,
  extraFields,
}: PlanPanelProps) {
  const id = useId();
  const [unit, setUnit] = useState<BudgetUnit>('flops');
  const [amounts, setAmounts] = useState<Record<BudgetUnit, string>>({ flops: '3.2e17', hours: '1', dollars: '10' });
  const [pricePerHour, setPricePerHour] = useState('2');
  const [fitId, setFitId] = useState<FitId>('hoffmann');
  const fit = FITS[fitId];

  const deviceFlops = useMemo(
    () =>
      deviceTokensPerSecond && deviceTokensPerSecond > 0
        ? deviceFlopsPerSecond(deviceTokensPerSecond, referenceConfig)
        : undefined,
    [deviceTokensPerSecond, referenceConfig],
  );
  const activeUnit: BudgetUnit = deviceFlops === undefined ? 'flops' : unit;

  const result = useMemo((): { plan: TrainingPlan } | { error: string } => {
    const amount = parsePositiveNumber(amounts[activeUnit]);
    if (amount === undefined)
      return { error: `Enter a positive number of ${UNIT_LABELS[activeUnit]} (such as 3.2e17).` };
    const price = parsePositiveNumber(pricePerHour);
    let budget: Budget;
    if (activeUnit === 'flops' || deviceFlops === undefined) budget = { kind: 'flops', flops: amount };
    else if (activeUnit === 'hours') budget = { kind: 'hours', hours: amount, deviceFlopsPerSecond: deviceFlops };
    else if (price === undefined) return { error: 'Enter a positive price per hour.' };
    else budget = { kind: 'dollars', dollars: amount, pricePerHour: price, deviceFlopsPerSecond: deviceFlops };
    try {
      // A FLOPs budget is the law's C = 6ND; hours and dollars are FLOPs the device really runs.
      const flops = budgetFlops(budget);
      const plan =
        budget.kind === 'flops'
          ? planForBudget({ flops, fit, vocabSize, blockSize })
          : planForExecutedFlops({ executedFlops: flops, fit, vocabSize, blockSize });
      return { plan };
    } catch (e) {
      return { error: messageOf(e) };
    }
  }, [amounts, activeUnit, pricePerHour, deviceFlops, fit, vocabSize, blockSize]);

  const plan = 'plan' in result ? result.plan : undefined;
  const seconds = plan && deviceFlops ? trainingSeconds(plan.config, plan.tokens, deviceFlops) : undefined;

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Plan the model with IsoFLOP curves</h3>
      <p className="muted">
        For a fixed compute budget C ≈ 6·N·D, a Chinchilla scaling law says how to split it between parameters N and
        training tokens D. The fits come from other data and tokenizers: trust the shape of the trade-off more than the
        predicted loss.
      </p>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-budget`}>Compute budget</label>
          <input
            id={`${id}-budget`}
            type="text"
            inputMode="decimal"
            value={amounts[activeUnit]}
            aria-describedby={`${id}-unit-note`}
            onChange={(e) => setAmounts({ ...amounts, [activeUnit]: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-unit`}>Budget unit</label>
          <select id={`${id}-unit`} value={activeUnit} onChange={(e) => setUnit(e.target.value as BudgetUnit)}>
            {(Object.keys(UNIT_LABELS) as BudgetUnit[]).map((u) => (
              <option key={u} value={u} disabled={u !== 'flops' && deviceFlops === undefined}>
                {UNIT_LABELS[u]}
              </option>
            ))}
          </select>
        </div>
        {activeUnit === 'dollars' && (
          <div className="field">
            <label htmlFor={`${id}-price`}>Price per hour ($)</label>
            <input
              id={`${id}-price`}
              type="text"
              inputMode="decimal"
              value={pricePerHour}
              onChange={(e) => setPricePerHour(e.target.value)}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-fit`}>Scaling fit</label>
          <select id={`${id}-fit`} value={fitId} onChange={(e) => setFitId(e.target.value as FitId)}>
            {Object.values(FITS).map((f) => (
              <option key={f.id} value={f.id}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
        {extraFields}
      </div>
      <p id={`${id}-unit-note`} className="muted">
        {deviceFlops === undefined
          ? 'Measure this device (a short benchmark) to budget in hours or dollars.'
          : `This device: about ${formatFlops(deviceFlops)} FLOP/s while training (from ${formatCount(deviceTokensPerSecond ?? 0)} tokens/s` +
            ` on a ${referenceConfig.nLayer}-layer, ${referenceConfig.nEmbd}-wide model).`}
        {plan &&
          activeUnit !== 'flops' &&
          ` The budget runs ${formatFlops(plan.trainingFlops)} FLOPs, ${formatFlops(plan.flops)} of them the law's 6·N·D (the rest is mostly attention).`}
      </p>

      {'error' in result && (
        <p role="alert" className="muted">
          {result.error}
        </p>
      )}
      {plan && <PlanSummary plan={plan} fit={fit} seconds={seconds} />}

      <IsoFlopChart fit={fit} userBudget={plan?.flops} sweep={sweep} maxLoss={uniformLoss(vocabSize)} />

      <div className="actions">
        <button type="button" disabled={!plan} onClick={() => plan && onUsePlan(plan)}>
          Use this plan
        </button>
      </div>
    </section>
  );
}

/** Tokens per parameter: one decimal when small (Chinchilla's ~20), a count when huge. */
function perParameter(ratio: number): string {
  return ratio < 1000 ? ratio.toFixed(1) : formatCount(ratio);
}

function PlanSummary({ plan, fit, seconds }: { plan: TrainingPlan; fit: ChinchillaFit; seconds: number | undefined }) {
  const { config } = plan;
  const caveats = planCaveats(plan, fit);
  // Above ln V the law predicts worse than guessing: no number, said why.
  const loss =
    caveats.shownLoss === null
      ? `no better than uniform guessing at this budget (ln ${config.vocabSize.toLocaleString('en-US')} = ${caveats.uniform.toFixed(2)} nats/token)`
      : `${caveats.shownLoss.toFixed(3)} nats/token${caveats.range === 'inside' ? '' : ' (extrapolated)'}`;
  const rows: [string, string][] = [
    ['Layers', String(config.nLayer)],
    ['Heads', `${config.nHead} (of ${config.nEmbd / config.nHead} channels)`],
    ['Width', String(config.nEmbd)],
    ['Block size', String(config.blockSize)],
    ['Vocabulary', config.vocabSize.toLocaleString('en-US')],
    ['Parameters', `${plan.params.toLocaleString('en-US')} (law's optimum ${formatCount(plan.N)})`],
    ['Training tokens', `${formatCount(plan.tokens)} (${perParameter(plan.tokens / plan.params)} per parameter)`],
    ['Predicted loss', loss],
    ['Wall-clock estimate', seconds === undefined ? 'measure this device first' : `about ${formatDuration(seconds)}`],
  ];
  return (
    <>
      <dl
        aria-label="Suggested model"
        style={{ display: 'grid', gridTemplateColumns: 'max-content 1fr', gap: '0.15rem 1rem' }}
      >
        {rows.map(([term, value]) => (
          <div key={term} style={{ display: 'contents' }}>
            <dt className="muted">{term}</dt>
            <dd style={{ margin: 0 }}>{value}</dd>
          </div>
        ))}
      </dl>
      {caveats.rangeNote && (
        <p role="note" aria-label="Fitted range" className="muted">
          {caveats.rangeNote}
        </p>
      )}
    </>
  );
}
