/**
 * The messages between the lab's page and its training worker. The page (React) imports only these
 * types; everything on the other side of postMessage (WebGPU, the model, the data) stays in the
 * worker. Plain data only: every message survives structured cloning.
 */
import type { DamagedRecord } from '../data/records';
import type { SourceSpec } from '../data/types';
import type { ProfileResult } from '../gpu/profiler';
import type { GPTConfig } from '../model/config';
import type { LogEvent } from './train-log';

export interface LrSettings {
  maxLr: number;
  minLr: number;
  warmupSteps: number;
}

/** f32: every kernel in f32. mixed: f16 copies into matmul and attention, f32 master weights, dynamic loss scaling. */
export type Precision = 'f32' | 'mixed';

/** Everything that defines a training run (saved with it; a resumed run keeps it). */
export interface RunSettings {
  model: GPTConfig;
  /** B: sequences per micro-batch. T is model.blockSize. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  accumSteps: number;
  /**
   * batchSize was chosen automatically (the largest that fit the device the run started on, for a
   * batch of batchSize × accumSteps). Stored runs keep the numbers chosen: resume never re-chooses.
   */
  autoMicroBatch?: boolean;
  /** Optimizer steps in the run; the cosine schedule ends here. */
  maxSteps: number;
  lr: LrSettings;
  weightDecay: number;
  gradClip: number;
  /** Validation loss every this many steps, over `evalBatches` fixed batches. */
  evalEvery: number;
  evalBatches: number;
  /** Checkpoint to IndexedDB every this many steps (and on pause/stop). */
  checkpointEvery: number;
  /** Absent in runs from before it: f32. 'mixed': f16 weight copies and activations, f32 master weights, loss scaling. */
  precision?: Precision;
  /** Seeds the initial weights and the batch sampler. */
  seed: number;
  /** The token dataset (a manifest id in the data store) to train on. */
  datasetId: string;
}

/** One optimizer step as the loss chart and the stats line see it. */
export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Tokens trained on so far (this run, all sessions). */
  tokens: number;
  /** Seconds of training so far (this run, all sessions). */
  elapsedSeconds: number;
  tokensPerSecond: number;
  /** Achieved model TFLOP/s (training FLOPs per token × tokens/s). */
  tflops: number;
  /** The gradients were not finite: AdamW skipped this step. */
  skipped?: boolean;
  /** With a dynamic loss scale (mixed precision): the scale this step's gradients carried. */
  lossScale?: number;
}

export interface EvalPoint {
  step: number;
  valLoss: number;
  /** Tokens the loss was measured on (the same fixed windows at every validation of the run). */
  tokens?: number;
  /** Standard error of valLoss over its batches (absent with a single batch). */
  standardError?: number;
}

/** 'done': reached maxSteps; 'stopped' (Stop pressed) and 'paused' resume from their checkpoint. */
/** The dataset a run trains on, so another machine can find (by content) or prepare the same tokens. */
export interface RunDataset {
  id: string;
  name: string;
  source: SourceSpec;
  tokenizerFingerprint: string;
  tokens: number;
  maxTokens?: number;
  valFraction: number;
  shardTokens?: number;
  /** The `prepare` folder the CLI trained from, so `train --resume` on that machine needs no --data. */
  path?: string;
}

export type RunStatus = 'running' | 'paused' | 'stopped' | 'done' | 'error';

export interface RunSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  settings: RunSettings;
  status: RunStatus;
  /** Step of the latest checkpoint (where Resume continues); 0 before the first one. */
  checkpointStep: number;
  tokens: number;
  lastLoss?: number;
  lastValLoss?: number;
  /** The tokenizer's vocabulary size and fingerprint (runs are tied to their tokenizer). */
  tokenizer: { vocabSize: number; fingerprint: string };
  message?: string;
  /** Imported with its training state, its dataset not found here: what to prepare before resuming. */
  missingDataset?: RunDataset;
  /** Made from a Hugging Face folder (named here) rather than trained: its checkpoint is at step 0. */
  imported?: string;
  /** Imported: a hash of the files' bytes (import-run.ts importKey), so the same files are not imported twice. */
  importKey?: string;
}

export interface DeviceReport {
  ok: boolean;
  /** Why not, in words for the user (no navigator.gpu, no adapter, device lost...). */
  reason?: string;
  adapter?: string;
  isSoftware?: boolean;
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
  features?: string[];
  /** The tensor cores mixed precision's matmuls run on (e.g. "16×16×16 f16 → f32"), where there are any. */
  tensorCores?: string;
  /** Matmul speed from a quick probe, GFLOP/s. */
  probeGflops?: number;
  /** Settings for a first run that trains visibly fast on this device. */
  suggested?: Omit<RunSettings, 'datasetId'>;
}

export interface SampleRequest {
  requestId: number;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  /** 'current': the weights being trained; 'initial': the run's weights before step 1. */
  weights: 'current' | 'initial';
  /** The run to sample from when none is loaded (defaults to the active run). */
  runId?: string;
}

/** One token of a sample as the Sample panel shows it: its id and its text (bytes that are not whole characters as <0xNN>). */
export interface TokenPiece {
  id: number;
  text: string;
}

/**
 * A request that can fail on its own carries an id, and every answer to it (errors included) carries
 * it back: several stores share one worker, and each takes only the replies to what it asked.
 * Training's own events for the active run are matched by runId instead.
 */
export interface Asked {
  requestId?: number;
}

let lastRequestId = 0;
/** A fresh id, unique across every store on the page (they all post to the same worker). */
export function nextRequestId(): number {
  return ++lastRequestId;
}

export type LabRequest =
  | { type: 'probe' }
  | { type: 'start'; settings: RunSettings; tokenizerJson: string; name?: string }
  | { type: 'resume'; runId: string }
  /** Pause: checkpoint now and wait (Resume continues). Stop: checkpoint and end the run. */
  | { type: 'pause' }
  | { type: 'stop' }
  | ({ type: 'sample' } & SampleRequest)
  | ({ type: 'list-runs' } & Asked)
  /** A stored run's summary and curve, to show it without training (answers 'run' then 'history'). */
  | ({ type: 'load-run'; runId: string } & Asked)
  | ({ type: 'delete-run'; runId: string } & Asked)
  /** The run's tokenizer.json, to prepare its dataset with (answers 'run-tokenizer'). */
  | ({ type: 'run-tokenizer'; runId: string } & Asked)
  /** The Hugging Face folder, or with `full` the run directory (plus optimizer and sampler state, run.json). */
  | ({ type: 'export-run'; runId: string; full?: boolean } & Asked)
  /**
   * A Hugging Face folder's files (config.json, model.safetensors, tokenizer.json) become a run to
   * sample; a run directory's (those plus training_state.safetensors and run.json) a run to resume.
   */
  | ({ type: 'import-run'; files: { name: string; bytes: Uint8Array }[]; source: string } & Asked)
  /** Times a few training steps of `model` on random ids (refused while a run trains); answers 'speed'. */
  | ({ type: 'speed-probe'; model: GPTConfig; batchSize: number; steps?: number } & Asked)
  /** Times each dispatch of one training step of a fresh model of this shape. */
  | ({ type: 'profile'; model: GPTConfig; batchSize: number; precision?: Precision } & Asked);

export type LabErrorKind = 'webgpu' | 'device-lost' | 'nan' | 'data' | 'config' | 'quota' | 'internal';

export type LabEvent =
  | { type: 'device'; report: DeviceReport }
  | ({ type: 'run'; run: RunSummary } & Asked)
  /** The whole curve so far (after start or resume); then 'step' and 'eval' add to it. */
  | ({ type: 'history'; runId: string; steps: StepPoint[]; evals: EvalPoint[]; log?: LogEvent[] } & Asked)
  /** An event of the run's training log (start, checkpoint, pause, NaN, device lost...); steps and evals are logged by their own events. */
  | { type: 'log'; runId: string; event: LogEvent }
  | { type: 'step'; runId: string; point: StepPoint }
  | { type: 'eval'; runId: string; point: EvalPoint }
  | { type: 'checkpoint'; runId: string; step: number; bytes?: number }
  /**
   * The GPU device was lost at `lostAtStep`: the run goes on from its checkpoint at `fromStep` on a
   * new device (this is try `attempt` of `maxTries`); a 'history' cut back to that step comes with it.
   */
  | {
      type: 'device-recovering';
      runId: string;
      lostAtStep: number;
      fromStep: number;
      attempt: number;
      maxTries: number;
      message: string;
    }
  | { type: 'sample-token'; requestId: number; text: string }
  /** `promptTokens` and `outputTokens`: how the prompt and the output were split into tokens. */
  | {
      type: 'sample-done';
      requestId: number;
      text: string;
      tokens: number;
      seconds: number;
      promptTokens?: TokenPiece[];
      outputTokens?: TokenPiece[];
    }
  /** The healthy runs; `damaged`: run records that failed their check (listed to be deleted). */
  | ({ type: 'runs'; runs: RunSummary[]; damaged?: DamagedRecord[] } & Asked)
  | ({ type: 'run-tokenizer'; runId: string; tokenizerJson: string } & Asked)
  /** A Hugging Face folder: model.safetensors, config.json, tokenizer.json. */
  | ({ type: 'export'; runId: string; files: { name: string; bytes: Uint8Array }[]; full?: boolean } & Asked)
  | { type: 'error'; kind: LabErrorKind; message: string; runId?: string; requestId?: number }
  /** Training throughput of `model` on this device (tokens/s × its FLOPs per token = FLOP/s). */
  | ({ type: 'speed'; model: GPTConfig; tokensPerSecond: number; flopsPerSecond: number } & Asked)
  | ({ type: 'profile'; model: GPTConfig; profile: ProfileResult } & Asked);
