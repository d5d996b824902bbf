/**
 * The lab store's shape: its state and actions, what it needs from the page, and the small facts
 * the components share (which phases are busy, the form before any probe).
 */
import { suggestSettings } from '../../train/defaults';
import type { GPTConfig } from '../../model/config';
import type {
  DeviceReport,
  EvalPoint,
  LabErrorKind,
  LabEvent,
  LabRequest,
  RunSettings,
  RunSummary,
  StepPoint,
  TokenPiece,
} from '../../train/protocol';
import type { DamagedRecord } from '../../data/records';
import type { LogEvent } from '../../train/train-log';
import type { StoreApi } from 'zustand/vanilla';
import type { DataState } from '../data/data-store';
import type { WorkerClient } from '../data/worker-client';
import type { MeasuredSpeed, RunEstimate } from './estimate';

export type LabPhase =
  'idle' | 'preparing' | 'running' | 'pausing' | 'stopping' | 'paused' | 'stopped' | 'done' | 'error';

export interface LabError {
  kind: LabErrorKind;
  message: string;
}

export type SampleWeights = 'current' | 'initial';

export interface SampleState {
  status: 'idle' | 'running' | 'done' | 'error';
  text: string;
  tokens: number;
  seconds: number;
  error?: string;
  /** Once done: how the prompt and the output were split into tokens (the panel's "Show tokens"). */
  promptTokens?: TokenPiece[];
  outputTokens?: TokenPiece[];
}

export interface SampleOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  /** Also sample the run's initial weights, for a before/after view. */
  compare: boolean;
}

/** A request's id and the sample it fills. */
export interface SampleAsked {
  requestId: number;
  weights: SampleWeights;
}

/** What a run being prepared will do once the training lock is held. */
export type Preparing =
  | { kind: 'train'; startId: number; settings: RunSettings; name?: string; fromForm: boolean }
  | { kind: 'resume'; runId: string };

/**
 * The machine's own bookkeeping (what once lived in closure variables beside the store): plain,
 * serialisable data, so `transition` alone decides every phase change.
 */
export interface LabBook {
  initialized: boolean;
  /** When Train or Resume was pressed (the store's clock): the first step's wait is timed from it. */
  pressedAt: number | null;
  /** Stop was pressed while preparing: nothing starts, or what the worker is starting stops at once. */
  stopRequested: boolean;
  /** The phase before Train or Resume, shown again when the lock is refused or Stop came first. */
  previousPhase: LabPhase;
  /** The press waiting for the lock (then for its data); null once its request is sent. */
  preparing: Preparing | null;
  /** The browser-wide training lock: held exactly while a run prepares or trains here. */
  lock: 'free' | 'asking' | 'held';
  /** A start was sent and the worker has not named its run yet. */
  starting: boolean;
  /** The import sent (its id): the run it answers with becomes the current one. */
  importing: number | null;
  /** Ids of this store's requests: an error carrying one is ours to show; others' (speed probe, profile) are not. */
  asked: number[];
  /** Sample requests sent or queued, in order; samples run one after another (the worker caches one model). */
  sampling: SampleAsked[];
  queued: SampleRequestMessage[];
  /** Downloads asked for and not yet answered. */
  exports: number[];
  /** "Prepare its data": the run whose tokenizer was asked for, and the request's id. */
  runData: { runId: string; requestId: number } | null;
  /** The Data store's tokenizer's vocabulary when one is ready: the model's vocabulary is always it. */
  tokenizerVocab: number | null;
}

export type SampleRequestMessage = Extract<LabRequest, { type: 'sample' }>;

/** The lab store's data: everything but its actions. */
export interface LabData {
  device: { status: 'probing' | 'ready' | 'unavailable'; report: DeviceReport | null };
  /** The Train form; datasetId '' lets the lab pick (or make) a dataset for the tokenizer. */
  form: RunSettings;
  /** The user changed the form: a device report no longer overwrites it. */
  formEdited: boolean;
  phase: LabPhase;
  /** What 'preparing' is doing, in words. */
  stage: string | null;
  run: RunSummary | null;
  runs: RunSummary[];
  /** Stored run records that failed their check: listed (with Delete) so they never hide the rest. */
  damagedRuns: DamagedRecord[];
  steps: StepPoint[];
  evals: EvalPoint[];
  /** The training log's events of run `runId` (the Log card shows them for the run on show). */
  log: { runId: string; events: LogEvent[] } | null;
  checkpointStep: number;
  /** Milliseconds from pressing Train (or Resume) to the first loss point. */
  firstStepMs: number | null;
  /** When the step in flight began (the store's clock), while a run trains; null otherwise. */
  stepStartedAt: number | null;
  /** The Plan tab's measured training speed, for the Train form's time estimate. */
  measuredSpeed: MeasuredSpeed | null;
  /** Train was pressed for a run estimated past a few hours: the question asked before starting. */
  confirm: { message: string } | null;
  /** What the lab says about the last plan applied to the form (vocabulary kept, passes over the data). */
  planNotes: string[];
  error: LabError | null;
  samples: Record<SampleWeights, SampleState>;

  /** The latest start this store sent, and the run the worker answered it with (null until named). */
  started: { startId: number; runId: string | null } | null;
  book: LabBook;
}

export type FormPatch = Partial<Omit<RunSettings, 'model' | 'lr'>> & {
  model?: Partial<GPTConfig>;
  lr?: Partial<RunSettings['lr']>;
};

export interface LabState extends LabData {
  init: () => void;
  setForm: (patch: FormPatch) => void;
  /** Problems that keep the form from starting, as sentences. */
  problems: () => string[];
  /** The form's run time on this device, and where the speed comes from; null before any probe. */
  estimate: () => RunEstimate | null;
  /** Milliseconds the step in flight has run (null when none is). */
  stepElapsedMs: () => number | null;
  setMeasuredSpeed: (speed: MeasuredSpeed | null) => void;
  setPlanNotes: (notes: string[]) => void;
  /**
   * Starts a run with the form's settings (or `run.settings`, e.g. one point of an IsoFLOP sweep),
   * after making a tokenizer and dataset if there are none. Resolves once the start is sent, with
   * its id (`started.startId`; `started.runId` then names the run it made), or null when nothing
   * was sent. The form's own run, estimated past CONFIRM_SECONDS, first asks (`confirm`) unless `confirmed`.
   */
  train: (run?: TrainOptions) => Promise<number | null>;
  /** "Train anyway": starts the run the confirm asked about. */
  confirmTrain: () => Promise<void>;
  cancelTrain: () => void;
  pause: () => void;
  stop: () => void;
  resume: (runId?: string) => Promise<void>;
  /** Shows a stored run's curve (and makes it the one sampled and resumed). */
  open: (runId: string) => void;
  generate: (options: SampleOptions) => void;
  deleteRun: (runId: string) => void;
  /** Downloads the run as a Hugging Face folder; `full` adds the training state (a run directory the CLI resumes). */
  exportRun: (runId: string, options?: { full?: boolean }) => void;
  /**
   * Makes a run of a Hugging Face folder's files (config.json, model.safetensors, tokenizer.json),
   * or of a run directory's (a full-state download, or the CLI's run folder: resumable), and shows it.
   */
  importRun: (files: { name: string; bytes: Uint8Array }[], source: string) => void;
  /**
   * For a run imported without its dataset: makes the run's tokenizer the current one and names its
   * source (and token limit) in the Data tab, ready to tokenize; Resume then finds the tokens.
   */
  prepareRunData: (runId: string) => void;
  dismissError: () => void;
}

export interface TrainOptions {
  settings?: RunSettings;
  name?: string;
  confirmed?: boolean;
}

export interface LabDeps {
  worker: WorkerClient<LabRequest, LabEvent>;
  data: StoreApi<DataState>;
  bundledUrl: () => string;
  /** Saves an exported run (a Hugging Face folder) for the user. */
  download: (folderName: string, files: { name: string; bytes: Uint8Array }[]) => void;
  /**
   * Takes the browser-wide "one lab trains" lock (Web Locks; another tab may hold it) for a run's
   * preparation and training; resolves with its release, or null when another tab holds it.
   */
  trainingLock?: () => Promise<(() => void) | null>;
  /** Whether the page has navigator.gpu (without it the worker has none either: no probe is sent). */
  hasWebGpu?: () => boolean;
  now?: () => number;
}

export const NO_WEBGPU =
  'This browser does not offer WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (113 or later), or Firefox or Safari with WebGPU turned on, and open the lab over https:// or from localhost. Saved runs can still be listed and downloaded.';

export const IDLE_SAMPLE: SampleState = { status: 'idle', text: '', tokens: 0, seconds: 0 };

/** Before any probe: the settings for a slow device (the probe replaces them). */
export function initialForm(): RunSettings {
  return { ...suggestSettings({ isSoftware: true }), datasetId: '' };
}

const ACTIVE: LabPhase[] = ['preparing', 'running', 'pausing', 'stopping'];

export function isBusy(phase: LabPhase): boolean {
  return ACTIVE.includes(phase);
}

export const ANOTHER_TAB_TRAINS =
  'Another tab of the lab is training (or preparing data): one run trains at a time in this browser, since they share the GPU, the tokenizer and the datasets. Pause or stop it there, or close that tab, then press Train again.';

/** Resume can continue this run: trained here, checkpointed short of its steps (paused, stopped, failed), and nothing trains now. */
export function canResume(run: RunSummary | null | undefined, phase: LabPhase): boolean {
  return (
    !!run &&
    !run.imported &&
    !isBusy(phase) &&
    run.status !== 'done' &&
    run.status !== 'running' &&
    run.checkpointStep > 0 &&
    run.checkpointStep < run.settings.maxSteps
  );
}

/** "4L 256w on Brown" -> "4L-256w-on-Brown": a folder name that every OS accepts. */
export function exportFolderName(runName: string): string {
  return runName.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'gpt-garden-run';
}
