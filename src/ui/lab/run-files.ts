/**
 * The lab's run downloads and "Prepare its data": their requests and the answers to them, matched by
 * request id. Kept apart from the store's training state, which none of them touches.
 */
import type { LabEvent, LabRequest, RunSummary } from '../../train/protocol';
import { sourceFormFor } from '../data/source-form';
import { exportFolderName, type LabDeps } from './lab-state';

type Ask = (request: Extract<LabRequest, { type: 'export-run' | 'run-tokenizer' }>) => number;

export function runFiles(deps: Pick<LabDeps, 'data' | 'download'>, runs: () => RunSummary[], ask: Ask) {
  /** Downloads asked for and not yet answered. */
  const exports = new Set<number>();
  /** The run whose tokenizer was asked for (and the request's id), to prepare its dataset with. */
  let preparing: { runId: string; requestId: number } | null = null;

  return {
    exportRun(runId: string, options?: { full?: boolean }) {
      exports.add(ask({ type: 'export-run', runId, full: options?.full }));
    },

    prepareRunData(runId: string) {
      preparing = { runId, requestId: ask({ type: 'run-tokenizer', runId }) };
    },

    /** Takes its own answers (true); anything else is the store's (false). */
    onEvent(event: LabEvent): boolean {
      if (event.type === 'export') {
        if (event.requestId === undefined || !exports.delete(event.requestId)) return true;
        deps.download(
          exportFolderName(runs().find((r) => r.id === event.runId)?.name ?? event.runId) +
            (event.full ? '-full-state' : ''),
          event.files,
        );
        return true;
      }
      if (event.type === 'run-tokenizer') {
        if (!preparing || event.requestId !== preparing.requestId) return true;
        preparing = null;
        const dataset = runs().find((r) => r.id === event.runId)?.missingDataset;
        const data = deps.data.getState();
        void data.importTokenizer(event.tokenizerJson).then(() => {
          if (dataset && deps.data.getState().tokenizer.json === event.tokenizerJson)
            data.setSourceForm(sourceFormFor(dataset.source, dataset.maxTokens));
        });
        return true;
      }
      if (event.type === 'error' && event.requestId !== undefined) {
        exports.delete(event.requestId);
        if (event.requestId === preparing?.requestId) preparing = null;
      }
      return false;
    },
  };
}
