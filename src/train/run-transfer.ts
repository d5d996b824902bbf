/**
 * Full-state runs in and out of the lab. A run directory (see run-dir.ts: the Hugging Face folder
 * plus training_state.safetensors and run.json) is what the CLI writes and what the lab's "full
 * state" download holds, so a run moves between a GPU server and a browser either way.
 *
 * A run's dataset is found on the receiving side by content, not by name: the lab's IndexedDB ids
 * and the CLI's folders never agree, but the same source tokenized by the same tokenizer gives the
 * same token count in the same shards, which is what bit-identical training needs anyway.
 */
import { DataError, type DatasetManifest, type ShardStore } from '../data/types';
import type { RunDataset, RunSummary } from './protocol';
import { datasetOf, readRunDir, runDirFiles, type RunDirFile } from './run-dir';
import type { RunRecord, RunStore } from './run-store';

/** A local dataset holds the run's tokens: same tokenizer, same token count, same validation split. */
export function holdsDataset(manifest: DatasetManifest, dataset: RunDataset): boolean {
  return (
    manifest.complete &&
    manifest.tokenizer.fingerprint === dataset.tokenizerFingerprint &&
    manifest.tokens === dataset.tokens &&
    manifest.valFraction === dataset.valFraction
  );
}

/** In words, for the runs list: "bookcorpus/bookcorpus (1.1B tokens)". */
export function describeDataset(dataset: RunDataset): string {
  const source = dataset.source;
  const where =
    source.kind === 'hub'
      ? source.dataset
      : source.kind === 'url'
        ? source.url
        : source.kind === 'bundled'
          ? 'the bundled corpus'
          : source.files.map((f) => f.name).join(', ');
  return `${dataset.name} (${where}, ${dataset.tokens.toLocaleString('en-US')} tokens)`;
}

/**
 * The stored run pointed at a local copy of its dataset when one exists (its settings name the
 * dataset by the id it had where it was trained). Unchanged when it already points at one.
 */
export async function locateDataset(runStore: RunStore, shardStore: ShardStore, record: RunRecord): Promise<RunRecord> {
  const wanted = record.dataset;
  const current = await shardStore.getManifest(record.summary.settings.datasetId);
  if (current && (!wanted || holdsDataset(current, wanted))) return record;
  if (!wanted) return record;
  const found = (await shardStore.listManifests()).find((m) => holdsDataset(m, wanted));
  if (!found) {
    throw new DataError(
      'config',
      `run "${record.summary.name}" trains on ${describeDataset(wanted)}, which is not in this browser: prepare that source with this run's tokenizer (Data tab), then resume`,
    );
  }
  const settings = { ...record.summary.settings, datasetId: found.id };
  const summary = await runStore.updateSummary(record.summary.id, { settings, missingDataset: undefined });
  return { ...record, summary };
}

/** The run's latest checkpoint as a run directory's files (the lab's "full state" download). */
export async function exportRunDir(runStore: RunStore, shardStore: ShardStore, runId: string): Promise<RunDirFile[]> {
  const record = await runStore.get(runId);
  if (!record)
    throw new DataError('config', `there is no run "${runId}" (it may have been deleted): refresh the list of runs`);
  const checkpoint = await runStore.latestCheckpoint(runId);
  if (!checkpoint)
    throw new DataError(
      'config',
      `run "${record.summary.name}" has no checkpoint yet: train it for a while (or pause it) before downloading it`,
    );
  const manifest = await shardStore.getManifest(record.summary.settings.datasetId);
  const dataset = manifest ? datasetOf(manifest) : record.dataset;
  return runDirFiles(record, checkpoint, dataset);
}

/**
 * A run directory's files become a stored run with its curve, weights and optimizer state, ready
 * to resume once its dataset is here. Always a new run: importing never replaces one.
 */
export async function importRunDir(
  runStore: RunStore,
  shardStore: ShardStore,
  files: RunDirFile[],
  source: string,
): Promise<RunSummary> {
  const { record: incoming, checkpoint, dataset } = readRunDir(files);
  const { settings, tokenizer, maxSteps } = { ...incoming.summary, maxSteps: incoming.summary.settings.maxSteps };
  const local = dataset ? (await shardStore.listManifests()).find((m) => holdsDataset(m, dataset)) : undefined;
  const created = await runStore.create({
    settings: local ? { ...settings, datasetId: local.id } : settings,
    tokenizerJson: incoming.tokenizerJson,
    tokenizer,
    name: incoming.summary.name,
    dataset,
  });
  const id = created.summary.id;
  const missing =
    dataset && !local
      ? `; its dataset ${describeDataset(dataset)} is not here yet: prepare it in Data with this run's tokenizer to resume`
      : '';
  try {
    return await runStore.saveCheckpoint(
      id,
      checkpoint,
      { steps: incoming.steps, evals: incoming.evals },
      {
        status: checkpoint.step >= maxSteps ? 'done' : 'paused',
        message: `imported from ${source} at step ${checkpoint.step}${missing}`,
        createdAt: incoming.summary.createdAt,
        ...(dataset && !local ? { missingDataset: dataset } : {}),
      },
    );
  } catch (error) {
    await runStore.delete(id).catch(() => undefined); // a run without its checkpoint is of no use
    throw error;
  }
}
