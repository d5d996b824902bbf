/**
 * The Plan section: this device's measured training speed, the Chinchilla planner (PlanPanel) fed
 * with the Train form's vocabulary and block size, and the user's own IsoFLOP sweep drawn over it.
 * "Use this plan" fills the Train form and the data token limit, then shows the Train tab; "The
 * post's recipe" fills Data and Train with the post's run and says what it would cost here.
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { SEED_CONFIG, type GPTConfig } from '../../model/config';
import { formatCount, formatFlops } from '../../scaling/format';
import type { TrainingPlan } from '../../scaling/model-picker';
import { appDataStore } from '../data/data-store';
import { ErrorBoundary } from '../ErrorBoundary';
import { appLabStore, useLabStore } from '../lab/browser-lab';
import { applyPlan as applyPlanTo, applyRecipe, type PlanTargets } from './apply-plan';
import { appSpeedStore, useSpeedStore, useSweepStore } from './browser-plan';
import { navStore } from './nav-store';
import { PlanPanel } from './PlanPanel';
import { SweepPanel } from './SweepPanel';
import { sweepResults } from './sweep-results';

export { stepsForPlan } from './apply-plan';

function pageTargets(): PlanTargets {
  return { lab: appLabStore(), data: appDataStore(), show: (section) => navStore.getState().show(section) };
}

export function applyPlan(plan: TrainingPlan): void {
  applyPlanTo(pageTargets(), plan);
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
    if (reference && appSpeedStore().getState().status === 'idle')
      void appSpeedStore().getState().measure(reference.model, reference.batchSize);
  }, [reference]);

  const measured = speed.status === 'done' ? speed.result : null;
  return (
    <div className="panel">
      <ErrorBoundary name="The post's run">
        <Recipe onApplied={() => setShape('post')} />
      </ErrorBoundary>
      <ErrorBoundary name="Device speed">
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
      </ErrorBoundary>
      <ErrorBoundary name="Plan">
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
                  The post&apos;s ({SEED_CONFIG.vocabSize.toLocaleString('en-US')} tokens, block {SEED_CONFIG.blockSize}
                  )
                </option>
              </select>
            </div>
          }
        />
      </ErrorBoundary>
      <ErrorBoundary name="Sweep">
        <SweepPanel />
      </ErrorBoundary>
    </div>
  );
}

/** One action for the post's whole run: the dataset and its tokenizer in Data, the model and budget in Train. */
function Recipe({ onApplied }: { onApplied: () => void }) {
  const [summary, setSummary] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="recipe-title">
      <h3 id="recipe-title">The post's run</h3>
      <p className="muted">
        BookCorpus to 1.1B tokens, a 50,304-token BPE trained on its first 100 MB, and the compute-optimal model for
        3.2e17 FLOPs at block 1024.
      </p>
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            setSummary(applyRecipe(pageTargets()).summary);
            onApplied(); // the planner below shows the same vocabulary and context as the recipe
          }}
        >
          The post&apos;s recipe
        </button>
        {summary && (
          <>
            <button type="button" className="secondary" onClick={() => navStore.getState().show('data')}>
              Open Data
            </button>
            <button type="button" className="secondary" onClick={() => navStore.getState().show('train')}>
              Open Train
            </button>
          </>
        )}
      </div>
      {summary && (
        <p role="status" aria-label="Recipe">
          {summary} Data and Train are filled in: prepare the tokenizer and the dataset in Data, then Train.
        </p>
      )}
    </section>
  );
}

function speedLine(
  status: string,
  deviceStatus: string,
  result: {
    model: GPTConfig;
    batchSize: number;
    tokensPerSecond: number;
    flopsPerSecond: number;
    seconds: number;
  } | null,
  error: string | null,
): string {
  if (deviceStatus === 'unavailable') return 'No GPU device here: budgets in FLOPs only.';
  if (status === 'measuring') return 'Measuring: a few training steps of a small model…';
  if (status === 'error') return `The speed probe failed: ${error}`;
  if (status === 'done' && result) {
    const m = result.model;
    return `${formatCount(result.tokensPerSecond)} tokens/s, about ${formatFlops(result.flopsPerSecond)} FLOP/s while training a ${m.nLayer}-layer, ${m.nEmbd}-wide model (batch ${result.batchSize} × ${m.blockSize} tokens; measured in ${result.seconds.toFixed(1)} s).`;
  }
  return 'Waiting for the device check…';
}
