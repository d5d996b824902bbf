/**
 * The Plan section: this device's measured training speed, the Chinchilla planner (PlanPanel) fed
 * with the Train form's vocabulary and block size, and the user's own IsoFLOP sweep drawn over it.
 * "Use this plan" fills the Train form and the data token limit, then shows the Train tab.
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { SEED_CONFIG, type GPTConfig } from '../../model/config';
import { formatCount, formatFlops } from '../../scaling/format';
import type { TrainingPlan } from '../../scaling/model-picker';
import { appDataStore } from '../data/data-store';
import { appLabStore, useLabStore } from '../lab/browser-lab';
import { appSpeedStore, useSpeedStore, useSweepStore } from './browser-plan';
import { navStore } from './nav-store';
import { PlanPanel } from './PlanPanel';
import { SweepPanel } from './SweepPanel';
import { sweepResults } from './sweep-results';

/** Steps of the current form's batch shape that train on `plan.tokens` tokens. */
export function stepsForPlan(plan: TrainingPlan, form: { batchSize: number; accumSteps: number }): number {
  return Math.max(1, Math.ceil(plan.tokens / (form.batchSize * form.accumSteps * plan.config.blockSize)));
}

export function applyPlan(plan: TrainingPlan): void {
  const lab = appLabStore().getState();
  lab.setForm({ model: { ...plan.config }, maxSteps: stepsForPlan(plan, lab.form) });
  appDataStore().getState().setPlannedTokens(plan.tokens);
  navStore.getState().show('train');
}

/** The speed probe's model: the device's suggested first-run model, which trains in seconds here. */
function useReference(): { model: GPTConfig; batchSize: number } | null {
  const suggested = useLabStore((s) => s.device.report?.suggested);
  return useMemo(() => (suggested ? { model: suggested.model, batchSize: suggested.batchSize } : null), [suggested]);
}

export function PlanTab() {
  const formVocab = useLabStore((s) => s.form.model.vocabSize);
  const formBlock = useLabStore((s) => s.form.model.blockSize);
  // The post's own shape (GPT-2's padded vocabulary, 1024 context) reproduces its 50M / 1.1B point.
  const [shape, setShape] = useState<'form' | 'post'>('form');
  const shapeId = useId();
  const vocabSize = shape === 'post' ? SEED_CONFIG.vocabSize : formVocab;
  const blockSize = shape === 'post' ? SEED_CONFIG.blockSize : formBlock;
  const deviceStatus = useLabStore((s) => s.device.status);
  const reference = useReference();
  const speed = useSpeedStore((s) => s);
  const sweep = useSweepStore((s) => s.sweep);
  const results = useMemo(() => (sweep ? sweepResults(sweep) : []), [sweep]);

  useEffect(() => {
    void appDataStore().getState().init();
    appLabStore().getState().init();
  }, []);

  // Once per page: the first time the Plan tab opens with a known device.
  useEffect(() => {
    if (reference && appSpeedStore().getState().status === 'idle') void appSpeedStore().getState().measure(reference.model, reference.batchSize);
  }, [reference]);

  const measured = speed.status === 'done' ? speed.result : null;
  return (
    <div className="panel">
      <section className="card" aria-labelledby="speed-title">
        <h3 id="speed-title">This device's training speed</h3>
        <p role="status" aria-label="Device speed" className="muted">
          {speedLine(speed.status, deviceStatus, speed.result, speed.error)}
        </p>
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={!reference || speed.status === 'measuring'}
            onClick={() => reference && void appSpeedStore().getState().measure(reference.model, reference.batchSize)}
          >
            Measure again
          </button>
        </div>
      </section>
      <PlanPanel
        vocabSize={vocabSize}
        blockSize={blockSize}
        deviceTokensPerSecond={measured?.tokensPerSecond}
        referenceConfig={measured?.model}
        sweep={results}
        onUsePlan={applyPlan}
        extraFields={
          <div className="field">
            <label htmlFor={shapeId}>Vocabulary and context</label>
            <select id={shapeId} value={shape} onChange={(e) => setShape(e.target.value as 'form' | 'post')}>
              <option value="form">
                From the Train form ({formVocab.toLocaleString('en-US')} tokens, block {formBlock})
              </option>
              <option value="post">
                The post&apos;s ({SEED_CONFIG.vocabSize.toLocaleString('en-US')} tokens, block {SEED_CONFIG.blockSize})
              </option>
            </select>
          </div>
        }
      />
      <SweepPanel />
    </div>
  );
}

function speedLine(status: string, deviceStatus: string, result: { model: GPTConfig; batchSize: number; tokensPerSecond: number; flopsPerSecond: number; seconds: number } | null, error: string | null): string {
  if (deviceStatus === 'unavailable') return 'No GPU device here: budgets in FLOPs only.';
  if (status === 'measuring') return 'Measuring: a few training steps of a small model…';
  if (status === 'error') return `The speed probe failed: ${error}`;
  if (status === 'done' && result) {
    const m = result.model;
    return `${formatCount(result.tokensPerSecond)} tokens/s, about ${formatFlops(result.flopsPerSecond)} FLOP/s while training a ${m.nLayer}-layer, ${m.nEmbd}-wide model (batch ${result.batchSize} × ${m.blockSize} tokens; measured in ${result.seconds.toFixed(1)} s).`;
  }
  return 'Waiting for the device check…';
}
