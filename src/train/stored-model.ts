/**
 * The lab worker's model for sampling a stored run while nothing trains: its checkpoint (or its
 * initial weights) in a model on the GPU, kept between samples of the same weights.
 */
import { DataError } from '../data/types';
import type { GpuContext } from '../gpu/context';
import { GPTModel } from '../model/gpt';
import { Sampler } from '../model/sample';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import type { SampleRequest } from './protocol';
import type { RunStore } from './run-store';
import { writeArena } from './sampling';

interface Loaded {
  key: string;
  ctx: GpuContext;
  model: GPTModel;
  sampler: Sampler;
  tokenizer: Tokenizer;
}

export class StoredModel {
  private loaded: Loaded | null = null;

  constructor(private readonly runStore: RunStore) {}

  /** Whether the cached model is one of this run's. */
  holds(runId: string): boolean {
    return this.loaded?.key.startsWith(`${runId}:`) ?? false;
  }

  /** Frees the cached model's buffers (none to free when its device was lost). */
  destroy(): void {
    if (this.loaded && !this.loaded.ctx.isLost()) {
      this.loaded.sampler.destroy();
      this.loaded.model.destroy();
    }
    this.loaded = null;
  }

  async get(
    context: () => Promise<GpuContext>,
    runId: string,
    weights: SampleRequest['weights'],
  ): Promise<{ sampler: Sampler; tokenizer: Tokenizer }> {
    const record = await this.runStore.get(runId);
    if (!record)
      throw new DataError('config', `there is no run "${runId}" (it may have been deleted): refresh the list of runs`);
    const key = `${runId}:${weights === 'initial' ? 'initial' : record.summary.checkpointStep}`;
    if (this.loaded?.key === key && !this.loaded.ctx.isLost()) return this.loaded;
    const data = weights === 'current' ? await this.runStore.latestCheckpoint(runId) : undefined;
    if (weights === 'current' && !data)
      throw new DataError(
        'config',
        `run "${record.summary.name}" has no checkpoint yet: train it for a while before sampling its weights`,
      );
    const ctx = await context();
    this.destroy();
    const model = new GPTModel(ctx, record.summary.settings.model);
    if (data) writeArena(model, 'param', data.params);
    else model.initialize(record.summary.settings.seed);
    this.loaded = {
      key,
      ctx,
      model,
      sampler: new Sampler(model),
      tokenizer: new Tokenizer(parseTokenizerJson(record.tokenizerJson)),
    };
    return this.loaded;
  }
}
