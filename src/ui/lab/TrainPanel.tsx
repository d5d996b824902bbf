/**
 * The lab's Train section: the form, Train / Pause / Resume / Stop, the status line, the numbers
 * of the run and its loss chart, sampling, and the stored runs.
 */
import { useEffect, useState } from 'react';
import { appDataStore, useDataStore } from '../data/data-store';
import { ErrorBoundary } from '../ErrorBoundary';
import { formatCount, formatDuration, runNumbers } from './chart-data';
import { appLabStore, useLabStore } from './browser-lab';
import { canResume, isBusy } from './lab-store';
import { blockedStatus, useFormProblems } from './form-problems';
import { statusText } from './status-text';
import { LogCard } from './LogCard';
import { LossChart } from './LossChart';
import { ProfileTable } from './ProfileTable';
import { RunsList } from './RunsList';
import { SamplePanel } from './SamplePanel';
import { TrainForm } from './TrainForm';

export function TrainPanel() {
  useEffect(() => {
    void appDataStore().getState().init();
    appLabStore().getState().init();
  }, []);
  const device = useLabStore((s) => s.device);
  const error = useLabStore((s) => s.error);
  const { dismissError } = appLabStore().getState();

  return (
    <div className="panel">
      {device.status === 'unavailable' && (
        <div role="alert" className="alert">
          <p>
            <strong>Training needs WebGPU.</strong> {device.report?.reason}
          </p>
        </div>
      )}
      <ErrorBoundary name="Unfinished run">
        <ResumeOffer />
      </ErrorBoundary>
      <div className="lab-grid">
        <div className="lab-column">
          <ErrorBoundary name="Train form">
            <section className="card" aria-labelledby="train-title">
              <h3 id="train-title">Train a GPT</h3>
              <TrainForm />
              <Controls />
              <ConfirmLongRun />
              <StatusLine />
            </section>
          </ErrorBoundary>
          {error && (
            <div role="alert" className={error.kind === 'quota' ? 'alert quota' : 'alert'}>
              <p>{error.message}</p>
              <button type="button" className="secondary" onClick={dismissError}>
                Dismiss
              </button>
            </div>
          )}
        </div>
        <div className="lab-column">
          <ErrorBoundary name="Loss chart">
            <section className="card" aria-labelledby="curve-title">
              <h3 id="curve-title">Loss</h3>
              <RunStats />
              <Curve />
            </section>
          </ErrorBoundary>
          <ErrorBoundary name="Log">
            <LogCard />
          </ErrorBoundary>
          <ErrorBoundary name="Sample">
            <SamplePanel />
          </ErrorBoundary>
          <ErrorBoundary name="Profile">
            <ProfileTable />
          </ErrorBoundary>
        </div>
      </div>
      <ErrorBoundary name="Runs">
        <RunsList />
      </ErrorBoundary>
    </div>
  );
}

function Controls() {
  const phase = useLabStore((s) => s.phase);
  const run = useLabStore((s) => s.run);
  const deviceReady = useLabStore((s) => s.device.status === 'ready');
  const asking = useLabStore((s) => s.confirm !== null);
  const invalid = useFormProblems().length > 0;
  const { train, pause, resume, stop } = appLabStore().getState();
  // Each button says at once what was asked of it; the run obeys at the next step boundary.
  return (
    <div className="actions">
      <button type="button" onClick={() => void train()} disabled={isBusy(phase) || !deviceReady || asking || invalid}>
        Train
      </button>
      <button type="button" className="secondary" onClick={pause} disabled={phase !== 'running'}>
        {phase === 'pausing' ? 'Pausing…' : 'Pause'}
      </button>
      <button type="button" className="secondary" onClick={() => void resume()} disabled={!canResume(run, phase)}>
        Resume
      </button>
      <button
        type="button"
        className="secondary"
        onClick={stop}
        disabled={phase !== 'running' && phase !== 'pausing' && phase !== 'preparing'}
      >
        {phase === 'stopping' ? 'Stopping…' : 'Stop'}
      </button>
    </div>
  );
}

/** Asked before a run estimated past a few hours on this device starts. */
function ConfirmLongRun() {
  const confirm = useLabStore((s) => s.confirm);
  const { confirmTrain, cancelTrain } = appLabStore().getState();
  if (!confirm) return null;
  return (
    <div className="card offer" role="group" aria-label="Confirm a long run">
      <p>{confirm.message}</p>
      <div className="actions">
        <button type="button" onClick={() => void confirmTrain()}>
          Train anyway
        </button>
        <button type="button" className="secondary" onClick={cancelTrain}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** The step and latest loss as text, and the step in flight's time (redrawn every second while one runs). */
function StatusLine() {
  const state = useLabStore((s) => s);
  const { phase, checkpointStep, stepStartedAt } = state;
  const blocked = blockedStatus(state, useFormProblems().length);
  const [, setTick] = useState(0);
  const inFlight = stepStartedAt !== null && isBusy(phase);
  useEffect(() => {
    if (!inFlight) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [inFlight]);
  const now = stepStartedAt === null ? 0 : stepStartedAt + (appLabStore().getState().stepElapsedMs() ?? 0);
  return (
    <p role="status" aria-label="Training status" className="status-line">
      {blocked ?? statusText(state, now)}
      {checkpointStep > 0 && phase !== 'preparing' && (
        <span className="muted"> · checkpoint at step {checkpointStep}</span>
      )}
    </p>
  );
}

function RunStats() {
  const steps = useLabStore((s) => s.steps);
  const evals = useLabStore((s) => s.evals);
  const run = useLabStore((s) => s.run);
  const firstStepMs = useLabStore((s) => s.firstStepMs);
  const device = useLabStore((s) => s.device.report);
  if (!run || steps.length === 0) return null;
  const n = runNumbers(steps, evals, run.settings.maxSteps);
  const items: [string, string][] = [
    ['tokens/s', n.tokensPerSecond !== undefined ? formatCount(n.tokensPerSecond) : '–'],
    ['TFLOP/s', n.tflops !== undefined ? n.tflops.toFixed(n.tflops < 0.1 ? 4 : 2) : '–'],
    ['elapsed', formatDuration(n.elapsedSeconds)],
    ['ETA', n.etaSeconds !== undefined ? formatDuration(n.etaSeconds) : '–'],
    ['tokens', formatCount(steps.at(-1)!.tokens)],
    ['val loss', n.valLoss !== undefined ? `${n.valLoss.toFixed(4)}${valTokens(evals)}` : '–'],
  ];
  if (firstStepMs !== null) items.push(['first step after', `${(firstStepMs / 1000).toFixed(1)}s`]);
  return (
    <dl className="stats">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
      {device?.adapter && (
        <div>
          <dt>GPU</dt>
          <dd>{device.adapter}</dd>
        </div>
      )}
    </dl>
  );
}

/** " on 17,408 tokens": what the validation loss was measured on (older runs did not say). */
/** The latest validation's standard error and size, as the log line says them. */
function valTokens(evals: { tokens?: number; standardError?: number }[]): string {
  const last = evals.at(-1);
  const error = last?.standardError !== undefined ? ` ± ${last.standardError.toFixed(4)}` : '';
  return `${error}${last?.tokens !== undefined ? ` on ${last.tokens.toLocaleString('en-US')} tokens` : ''}`;
}

function Curve() {
  const steps = useLabStore((s) => s.steps);
  const evals = useLabStore((s) => s.evals);
  return <LossChart steps={steps} evals={evals} />;
}

/** After a reload: the last run that did not finish, with its checkpoint, one click from going on. */
function ResumeOffer() {
  const runs = useLabStore((s) => s.runs);
  const phase = useLabStore((s) => s.phase);
  const current = useLabStore((s) => s.run);
  const hasTokenizer = useDataStore((s) => s.tokenizer.status !== 'loading');
  const { resume } = appLabStore().getState();
  const unfinished = runs.find((r) => canResume(r, phase));
  if (!unfinished || current || isBusy(phase) || !hasTokenizer) return null;
  return (
    <div className="card offer" role="region" aria-label="Unfinished run">
      <p>
        <strong>{unfinished.name}</strong> stopped at step {unfinished.checkpointStep} of {unfinished.settings.maxSteps}
        {unfinished.lastLoss !== undefined ? ` (loss ${unfinished.lastLoss.toFixed(4)})` : ''}. Its checkpoint is saved.
      </p>
      <button type="button" onClick={() => void resume(unfinished.id)}>
        Resume
      </button>
    </div>
  );
}
