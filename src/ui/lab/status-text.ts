/**
 * The Train status line as text (people read it; tests find it by role and name): what the lab is
 * doing, the last step and loss, and how long the step in flight has been running, so a slow
 * device's minutes-long step never looks like a hang. It names the run it is about, and its step
 * and loss come from that run's own curve, so one run's outcome is never told with another's numbers.
 */
import type { LabPhase, LabState } from './lab-state';
import { formatElapsed } from './estimate';

const PHASE_TEXT: Record<LabPhase, string> = {
  idle: 'Ready',
  preparing: 'Preparing',
  running: 'Training',
  pausing: 'Pausing after this step…',
  stopping: 'Stopping after this step…',
  paused: 'Paused',
  stopped: 'Stopped',
  done: 'Finished',
  error: 'Stopped by an error',
};

/** A step in flight is mentioned once it has run this long (fast steps would only flicker). */
const SHOW_AFTER_MS = 2000;

type StatusState = Pick<LabState, 'phase' | 'stage' | 'device' | 'steps' | 'run' | 'stepStartedAt'>;

/** The status line at time `now` (the store's clock). */
export function statusText(s: StatusState, now: number): string {
  if (s.device.status === 'probing') return 'Checking this device’s GPU…';
  if (s.phase === 'preparing') {
    // Once the worker builds the model (stepStartedAt set), its wait is timed like a step's.
    const stage = s.stage ?? 'Preparing…';
    return s.stepStartedAt !== null && now - s.stepStartedAt >= SHOW_AFTER_MS
      ? `${stage} ${formatElapsed(now - s.stepStartedAt)}`
      : stage;
  }
  const step = s.steps.at(-1);
  const training = s.phase === 'running' || s.phase === 'pausing' || s.phase === 'stopping';
  const inFlight = training && s.stepStartedAt !== null ? now - s.stepStartedAt : null;
  // Until the first step of this session lands: compiling, and how long so far.
  if (s.phase === 'running' && s.stage) return inFlight !== null ? `${s.stage} ${formatElapsed(inFlight)}` : s.stage;
  const parts = [PHASE_TEXT[s.phase]];
  if (s.run) parts.push(s.run.name);
  if (step) parts.push(`step ${step.step} of ${s.run?.settings.maxSteps ?? '?'} · loss ${step.loss.toFixed(4)}`);
  // Its curve not loaded (yet): where its checkpoint stands, from its own record.
  else if (s.run && !training && s.run.checkpointStep > 0)
    parts.push(`checkpoint at step ${s.run.checkpointStep} of ${s.run.settings.maxSteps}`);
  if (inFlight !== null && inFlight >= SHOW_AFTER_MS)
    parts.push(`Step ${(step?.step ?? s.run?.checkpointStep ?? 0) + 1} running for ${formatElapsed(inFlight)}…`);
  if (s.phase === 'stopped' && s.run && s.run.checkpointStep < s.run.settings.maxSteps)
    parts.push('Resume continues it');
  if (!step && !training && !s.run)
    return s.device.status === 'ready' ? `${PHASE_TEXT[s.phase]}: press Train to start.` : 'No GPU to train on.';
  return parts.join(' · ');
}
