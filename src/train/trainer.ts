/**
 * The training loop, in a Web Worker or in Node (no DOM): batches from the BatchSampler, one
 * TrainStep per optimizer step (the next step's batches are drawn while the GPU runs), validation
 * loss and checkpoints on schedule, pause/stop between steps, and sampling from the current or the
 * initial weights between steps. A checkpoint restored into a fresh Trainer continues bit for bit.
 */
import { readBytes } from '../autograd/params';
import type { GpuContext } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import { BatchSampler } from '../data/sampler';
import { DataError, type DatasetManifest, type MicroBatch, type ShardStore } from '../data/types';
import { GPTModel } from '../model/gpt';
import { trainingFlopsPerToken } from '../model/hf';
import { Sampler } from '../model/sample';
import { learningRate } from '../optim/schedule';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { settingsProblems, validationBatches } from './defaults';
import { EvalPlan, summarize } from './eval';
import type { LossScaleOptions } from './loss-scale';
import type { EvalPoint, RunSettings, SampleRequest, StepPoint } from './protocol';
import type { CheckpointData } from './run-store';
import { sampleText, writeArena, type SampleResult } from './sampling';
import { TrainStep } from './step';

export type TrainerEvent =
  | { type: 'step'; point: StepPoint }
  | { type: 'eval'; point: EvalPoint }
  /** `bytes`: the checkpoint's size (weights and both Adam moments). */
  | { type: 'checkpoint'; step: number; bytes: number }
  | { type: 'error'; kind: 'nan'; message: string; step: number };

export interface TrainerOptions {
  ctx: GpuContext;
  settings: RunSettings;
  store: ShardStore;
  manifest: DatasetManifest;
  tokenizer: Tokenizer;
  /** Continue from this checkpoint instead of fresh weights. */
  resume?: CheckpointData;
  onEvent: (event: TrainerEvent) => void;
  /** A dynamic loss scale whatever the precision (tests force it in f32; mixed has its own). */
  lossScale?: LossScaleOptions;
  /** Persists a checkpoint (e.g. RunStore.saveCheckpoint); the loop waits for it before going on. */
  saveCheckpoint?: (data: CheckpointData) => Promise<void>;
}

/** What a checkpoint holds in bytes: the three arenas (the counters are negligible). */
export function checkpointBytes(data: Pick<CheckpointData, 'params' | 'adamM' | 'adamV'>): number {
  return data.params.byteLength + data.adamM.byteLength + data.adamV.byteLength;
}

export type TrainerStatus = 'idle' | 'running' | 'paused' | 'stopped' | 'done' | 'error';

/** How run() ended: 'done' reached maxSteps; 'stopped' and 'paused' can be run again from there. */
export type TrainerOutcome = 'done' | 'paused' | 'stopped' | 'error';

interface PendingBatches {
  batches: Promise<MicroBatch[]>;
  /** The sampler's state before these batches were drawn (what a checkpoint taken now must save). */
  stateBefore: number;
}

/**
 * Loss scaling rescues the backward, not the forward: an f16 activation past 65504 makes the loss
 * itself non-finite, and halving the scale cannot help, so a mixed run stops like an f32 one and says why.
 */
const MIXED_NAN = ' (in mixed precision an f16 activation may have overflowed: f32 avoids that)';

export class Trainer {
  status: TrainerStatus = 'idle';
  /** Optimizer steps done (including skipped ones). */
  step = 0;
  tokens = 0;
  elapsedSeconds = 0;
  /** Step of the last saved checkpoint (0: none). */
  lastCheckpointStep = 0;
  private lastEvalStep = -1;
  private request: 'pause' | 'stop' | null = null;
  private prefetched: PendingBatches | null = null;
  private initialModel: GPTModel | null = null;
  private readonly samplers = new Map<GPTModel, Sampler>();
  private sampling: Promise<unknown> = Promise.resolve();
  private readonly tokensPerStep: number;
  private readonly flopsPerToken: number;

  private constructor(
    private readonly options: TrainerOptions,
    readonly model: GPTModel,
    readonly trainStep: TrainStep,
    private readonly evalPlan: EvalPlan,
    private readonly train: BatchSampler,
    private readonly val: BatchSampler | null,
    private readonly pool: BufferPool,
  ) {
    const { batchSize, accumSteps, model: config } = options.settings;
    this.tokensPerStep = batchSize * config.blockSize * accumSteps;
    this.flopsPerToken = trainingFlopsPerToken(config, config.blockSize);
  }

  static async create(options: TrainerOptions): Promise<Trainer> {
    const { ctx, settings, store, manifest, resume } = options;
    const problems = settingsProblems(settings, ctx.limits);
    if (problems.length) throw new DataError('config', problems.join(' '));
    if (manifest.tokenizer.vocabSize > settings.model.vocabSize) {
      throw new DataError(
        'config',
        `dataset "${manifest.name}" has token ids up to ${manifest.tokenizer.vocabSize - 1} but the model's vocabulary is ${settings.model.vocabSize}: set the vocabulary size to ${manifest.tokenizer.vocabSize}`,
      );
    }
    const T = settings.model.blockSize;
    const train = await BatchSampler.open(store, manifest, {
      split: 'train',
      batchSize: settings.batchSize,
      seqLen: T,
      seed: settings.seed,
      state: resume?.samplerState,
    });
    const val =
      settings.evalBatches > 0
        ? await BatchSampler.open(store, manifest, {
            split: 'val',
            batchSize: settings.batchSize,
            seqLen: T,
            seed: settings.seed,
          })
        : null;
    const model = new GPTModel(ctx, settings.model);
    const pool = new BufferPool(ctx.device);
    const trainStep = new TrainStep(
      model,
      { batchSize: settings.batchSize, seqLen: T, accumSteps: settings.accumSteps },
      { lr: settings.lr.maxLr, weightDecay: settings.weightDecay, gradClip: settings.gradClip },
      { pool, precision: settings.precision, ...(options.lossScale ? { lossScale: options.lossScale } : {}) },
    );
    const evalPlan = new EvalPlan(model, { batchSize: settings.batchSize, seqLen: T }, pool, settings.precision);
    const trainer = new Trainer(options, model, trainStep, evalPlan, train, val, pool);
    if (resume) trainer.restore(resume);
    else model.initialize(settings.seed);
    return trainer;
  }

  get settings(): RunSettings {
    return this.options.settings;
  }

  /** Writes a checkpoint's weights, optimizer state and counters back (the sampler state is taken at create). */
  private restore(data: CheckpointData): void {
    writeArena(this.model, 'param', data.params);
    writeArena(this.model, 'adamM', data.adamM);
    writeArena(this.model, 'adamV', data.adamV);
    this.trainStep.stepCount = data.adamStep;
    this.trainStep.optimizer.stepCount = data.adamStep;
    if (data.lossScale) this.trainStep.setLossScale(data.lossScale);
    this.step = data.step;
    this.tokens = data.tokens;
    this.elapsedSeconds = data.elapsedSeconds;
    this.lastCheckpointStep = data.step;
    this.lastEvalStep = data.step; // its eval, if any, is in the saved history
  }

  /** Trains up to settings.maxSteps; resolves when done, paused, stopped, or the loss went NaN. */
  async run(): Promise<TrainerOutcome> {
    if (this.status === 'running') throw new Error('this run is already training');
    const { maxSteps, evalEvery, checkpointEvery } = this.settings;
    this.status = 'running';
    this.request = null;
    // After a pause the next step's batches are already drawn: reuse them, or the stream would skip them.
    this.prefetched ??= this.step < maxSteps ? this.drawBatches() : null;
    try {
      return await this.loop(maxSteps, evalEvery, checkpointEvery);
    } catch (error) {
      this.status = 'error';
      throw error;
    }
  }

  private async loop(maxSteps: number, evalEvery: number, checkpointEvery: number): Promise<TrainerOutcome> {
    let tick = performance.now();
    while (this.step < maxSteps) {
      const step = this.step + 1;
      const lr = this.lrAt(step);
      const batches = await this.prefetched!.batches;
      const pending = this.trainStep.step(batches, lr);
      // Draw the next step's batches while the GPU works on this one.
      this.prefetched = step < maxSteps ? this.drawBatches() : null;
      const result = await pending;
      if (!Number.isFinite(result.loss)) return this.failNaN(step);
      const now = performance.now();
      const seconds = Math.max((now - tick) / 1000, 1e-9);
      this.step = step;
      this.tokens += this.tokensPerStep;
      this.elapsedSeconds += seconds;
      const tokensPerSecond = this.tokensPerStep / seconds;
      const point: StepPoint = {
        step,
        loss: result.loss,
        lr,
        gradNorm: result.gradNorm,
        tokens: this.tokens,
        elapsedSeconds: this.elapsedSeconds,
        tokensPerSecond,
        tflops: (this.flopsPerToken * tokensPerSecond) / 1e12,
      };
      if (!Number.isFinite(result.gradNorm)) point.skipped = true;
      if (result.lossScale !== undefined) point.lossScale = result.lossScale;
      this.options.onEvent({ type: 'step', point });
      const ending = step === maxSteps || this.request === 'stop';
      if (step % evalEvery === 0 || ending) await this.evaluate();
      if (step % checkpointEvery === 0 || ending) await this.checkpoint();
      if (this.request) {
        // Also when pause or stop arrived during the eval or checkpoint above (a no-op if saved at this step).
        await this.checkpoint();
        break;
      }
      tick = performance.now(); // evals and checkpoints are not training time
    }
    // A request that lands on the last step still finishes the run: 'done' means maxSteps reached.
    this.status = this.step >= maxSteps ? 'done' : this.request === 'pause' ? 'paused' : 'stopped';
    return this.status;
  }

  /** Finishes the current step, checkpoints, and makes run() resolve 'paused'. */
  pause(): void {
    if (this.status === 'running') this.request = 'pause';
  }

  /** Like pause (validation loss first), but the run ends here for now: run() resolves 'stopped'; run() again continues it. */
  stop(): void {
    if (this.status === 'running') this.request = 'stop';
  }

  /** nanoGPT's schedule; its iteration is 0-based, our steps count from 1. */
  lrAt(step: number): number {
    const { lr, maxSteps } = this.settings;
    return learningRate(step - 1, {
      maxLr: lr.maxLr,
      minLr: lr.minLr,
      warmupSteps: lr.warmupSteps,
      totalSteps: maxSteps,
    });
  }

  private drawBatches(): PendingBatches {
    const stateBefore = this.train.state();
    // next() draws its windows synchronously, so these are the stream's next batches in order.
    const batches = Promise.all(Array.from({ length: this.settings.accumSteps }, () => this.train.next()));
    batches.catch(() => undefined); // a failure surfaces where the batches are awaited
    return { batches, stateBefore };
  }

  private failNaN(step: number): 'error' {
    this.status = 'error';
    this.prefetched = null;
    const from =
      this.lastCheckpointStep > 0
        ? `resume from the checkpoint at step ${this.lastCheckpointStep}`
        : 'start the run again';
    this.options.onEvent({
      type: 'error',
      kind: 'nan',
      step,
      message: `the loss became NaN at step ${step}${this.settings.precision === 'mixed' ? MIXED_NAN : ''}; lower the learning rate and ${from}`,
    });
    return 'error';
  }

  /** Batches and tokens each validation reads: validationBatches (defaults.ts), capped by the validation set's size. */
  get validationSize(): { batches: number; tokens: number } {
    const batches = this.val ? Math.min(validationBatches(this.settings), this.val.evalBatchCap()) : 0;
    return { batches, tokens: batches * this.settings.batchSize * this.settings.model.blockSize };
  }

  /** Per-batch losses of the first `count` fixed validation batches (measures the loss's noise). */
  async validationLosses(count: number): Promise<Float32Array> {
    if (!this.val) return new Float32Array(0);
    return this.evalPlan.batchLosses(this.val.evalBatches(count));
  }

  /**
   * Validation loss over the dataset's fixed windows (the same at every evaluation and for every
   * run on this dataset and block size, whatever its seed), with its standard error over batches.
   */
  async evaluate(): Promise<number | undefined> {
    if (!this.val || this.lastEvalStep === this.step) return undefined;
    const { batches, tokens } = this.validationSize;
    const { mean: valLoss, standardError } = summarize(await this.validationLosses(batches));
    this.lastEvalStep = this.step;
    const point: EvalPoint = { step: this.step, valLoss, tokens };
    if (Number.isFinite(standardError)) point.standardError = standardError;
    this.options.onEvent({ type: 'eval', point });
    return valLoss;
  }

  private async checkpoint(): Promise<void> {
    if (this.lastCheckpointStep === this.step) return;
    const data = await this.snapshot();
    await this.options.saveCheckpoint?.(data);
    this.lastCheckpointStep = this.step;
    this.options.onEvent({ type: 'checkpoint', step: this.step, bytes: checkpointBytes(data) });
  }

  /** The state after the last finished step. Call between steps (the loop does), not during one. */
  async snapshot(): Promise<CheckpointData> {
    const device = this.options.ctx.device;
    const bytes = this.model.store.length * 4;
    const read = async (role: 'param' | 'adamM' | 'adamV') =>
      new Uint8Array(await readBytes(device, this.model.store.arena(role), 0, bytes));
    const [params, adamM, adamV] = await Promise.all([read('param'), read('adamM'), read('adamV')]);
    return {
      step: this.step,
      adamStep: this.trainStep.stepCount,
      samplerState: this.prefetched ? this.prefetched.stateBefore : this.train.state(),
      tokens: this.tokens,
      elapsedSeconds: this.elapsedSeconds,
      params,
      adamM,
      adamV,
      lossScale: { ...this.trainStep.lossScaleState },
    };
  }

  /**
   * Generates text from the current weights or from the run's initial ones (rebuilt from the seed).
   * Samples run one at a time; between training steps they only read the parameters.
   */
  sample(
    request: SampleRequest,
    onText: (piece: string) => void,
    options: { seed?: number; signal?: AbortSignal } = {},
  ): Promise<SampleResult> {
    const run = async () => {
      const model = request.weights === 'initial' ? this.initialWeights() : this.model;
      let sampler = this.samplers.get(model);
      if (!sampler) this.samplers.set(model, (sampler = new Sampler(model, this.pool)));
      return sampleText(sampler, this.options.tokenizer, request, onText, options);
    };
    const result = this.sampling.then(run, run);
    this.sampling = result.catch(() => undefined);
    return result;
  }

  private initialWeights(): GPTModel {
    if (!this.initialModel) {
      this.initialModel = new GPTModel(this.options.ctx, this.settings.model);
      this.initialModel.initialize(this.settings.seed);
    }
    return this.initialModel;
  }

  /** Waits for samples in flight (they use the model's buffers), then frees everything. */
  async close(): Promise<void> {
    await this.sampling;
    this.destroy();
  }

  destroy(): void {
    for (const sampler of this.samplers.values()) sampler.destroy();
    this.samplers.clear();
    this.trainStep.destroy();
    this.trainStep.optimizer.destroy();
    this.evalPlan.destroy();
    this.initialModel?.destroy();
    this.model.destroy();
    this.pool.destroy();
  }
}
