/**
 * The Data store's tokenizer actions: train (on the bundled corpus, or on the first N MB of any
 * source, streamed by the tokenizer worker), cancel, load a tokenizer.json, and settle a training
 * whose sample could not reach the vocabulary asked for. The current tokenizer stays current until a
 * new one replaces it: a failed, cancelled or short training changes nothing by itself.
 */
import type { SourceSpec } from '../../data/types';
import type { TrainRequest, TrainResponse } from '../../data/tokenizer-worker';
import { parseTokenizerJson } from '../../tokenizer/tokenizer-json';
import { messageOf } from '../../util/errors';
import { vocabSizeOf } from '../tokenizer/tokenizer-info';
import type { DataState, DataStoreDeps, PanelError, TokenizerState } from './data-state';
import type { PickedFile } from './source-form';
import type { WorkerClient } from './worker-client';

/** A training run on a source's first `sampleMb` MB (files travel as Blobs; the worker streams them). */
export interface TokenizerSample {
  spec: SourceSpec;
  files?: PickedFile[];
  sampleMb: number;
  /** How the source is named to the user ("bookcorpus/bookcorpus"). */
  label: string;
}

/** A tokenizer that came out smaller than asked: it replaces nothing until the user accepts it. */
export interface TokenizerProposal {
  json: string;
  vocabSize: number;
  asked: number;
  /** What it was trained on: "the first 100 MB of bookcorpus/bookcorpus". */
  trainedOn: string;
}

export type TokenizerActions = Pick<
  DataState,
  'trainTokenizer' | 'cancelTokenizer' | 'importTokenizer' | 'acceptProposal' | 'rejectProposal'
> & { loadTokenizer(): Promise<void> };

export const DEFAULT_TOKENIZER_OPTIONS = { vocabSize: 16384, minFrequency: 2 };

function sampleText(mb: number): string {
  return `${Number(mb.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 })} MB`;
}

export function tokenizerActions(
  deps: DataStoreDeps,
  set: (partial: Partial<DataState> | ((s: DataState) => Partial<DataState>)) => void,
  get: () => DataState,
): TokenizerActions {
  let trainer: WorkerClient<TrainRequest, TrainResponse> | null = null;
  /** The tokenizer in use before the running training: restored when it fails or is cancelled. */
  let before: TokenizerState = { status: 'missing', json: null, vocabSize: null, progress: null };

  const ready = (json: string): TokenizerState => ({
    status: 'ready',
    json,
    vocabSize: vocabSizeOf(json),
    progress: null,
    proposal: null,
  });
  const missing = (): TokenizerState => ({
    status: 'missing',
    json: null,
    vocabSize: null,
    progress: null,
    proposal: null,
  });

  async function save(json: string, again: string) {
    try {
      await deps.tokenizerStore.set(json);
    } catch (error) {
      set({
        error: {
          kind: 'storage',
          message: `The tokenizer works for now but could not be saved (${messageOf(error)}); free some space, or it must be ${again} on the next visit.`,
        },
      });
    }
  }

  function restore(error: PanelError | null, proposal: TokenizerProposal | null = null) {
    set({ tokenizer: { ...before, progress: null, proposal }, ...(error ? { error } : {}) });
  }

  async function onTrainMessage(
    client: WorkerClient<TrainRequest, TrainResponse>,
    message: TrainResponse,
    asked: number | null,
    trainedOn: string,
    sample: TokenizerSample | undefined,
  ) {
    if (message.type === 'progress') {
      set((s) => ({ tokenizer: { ...s.tokenizer, progress: message.progress } }));
      return;
    }
    client.terminate();
    if (trainer === client) trainer = null;
    if (message.type === 'error') {
      restore(
        message.cancelled ? null : { kind: 'tokenizer', message: `Training the tokenizer failed: ${message.message}` },
      );
      return;
    }
    const vocabSize = vocabSizeOf(message.json);
    if (asked !== null && vocabSize < asked) {
      // A source smaller than the sample asked for is named by what it held.
      if (sample && message.sampleBytes !== undefined && message.sampleBytes < sample.sampleMb * 1e6) {
        trainedOn = `all ${sampleText(message.sampleBytes / 1e6)} of ${sample.label}`;
      }
      // Said before anything is replaced: the user picks the smaller one or keeps the current one.
      const proposal = { json: message.json, vocabSize, asked, trainedOn };
      const keep =
        before.status === 'ready'
          ? 'keep the current tokenizer (a larger sample can reach more)'
          : 'train on a larger sample';
      restore(
        {
          kind: 'tokenizer',
          message: `${trainedOn[0]!.toUpperCase()}${trainedOn.slice(1)} reaches only ${vocabSize.toLocaleString('en-US')} tokens, not ${asked.toLocaleString('en-US')}: use ${vocabSize.toLocaleString('en-US')}, or ${keep}.`,
        },
        proposal,
      );
      return;
    }
    set({ tokenizer: ready(message.json) });
    await save(message.json, 'trained again');
  }

  return {
    async loadTokenizer() {
      let json: string | undefined;
      try {
        json = await deps.tokenizerStore.get();
      } catch (error) {
        set({
          tokenizer: missing(),
          error: {
            kind: 'tokenizer',
            message: `Could not read the saved tokenizer (${messageOf(error)}): train it again.`,
          },
        });
        return;
      }
      if (get().tokenizer.status !== 'loading') return; // a training started meanwhile
      if (json === undefined) return set({ tokenizer: missing() });
      try {
        set({ tokenizer: ready(json) });
      } catch (error) {
        set({
          tokenizer: missing(),
          error: {
            kind: 'tokenizer',
            message: `The saved tokenizer is damaged (${messageOf(error)}): train it again.`,
          },
        });
      }
    },

    async trainTokenizer(vocabSize, sample) {
      const current = get().tokenizer;
      if (current.status === 'training') return;
      before = current.status === 'ready' ? { ...current, proposal: null } : missing();
      // The current tokenizer stays usable (and shown) while the new one trains.
      set({
        error: null,
        tokenizer: {
          ...before,
          status: 'training',
          progress: null,
          proposal: null,
          sampleLabel: sample && `the first ${sampleText(sample.sampleMb)} of ${sample.label}`,
        },
      });
      const options = deps.tokenizerOptions ?? DEFAULT_TOKENIZER_OPTIONS;
      const asked = vocabSize ?? options.vocabSize;
      let request: TrainRequest;
      let trainedOn: string;
      if (sample) {
        request = {
          type: 'train-source',
          spec: sample.spec,
          files: sample.files,
          sampleBytes: Math.round(sample.sampleMb * 1e6),
          options: { ...options, vocabSize: asked },
        };
        trainedOn = `the first ${sampleText(sample.sampleMb)} of ${sample.label}`;
      } else {
        let text: string;
        try {
          text = await deps.fetchCorpus();
        } catch (error) {
          restore({ kind: 'tokenizer', message: messageOf(error) });
          return;
        }
        request = { type: 'train', texts: [text], options: { ...options, vocabSize: asked } };
        trainedOn = 'the bundled corpus';
      }
      const client = deps.createTrainWorker();
      trainer = client;
      // The lab's own retraining on the bundled corpus (no sample) keeps what it reaches, as it always
      // did (the lab then sizes the model to it); a training the user asked for on a sample is held.
      client.subscribe((message) => void onTrainMessage(client, message, sample ? asked : null, trainedOn, sample));
      client.post(request);
    },

    cancelTokenizer() {
      trainer?.post({ type: 'cancel' });
    },

    async acceptProposal() {
      const proposal = get().tokenizer.proposal;
      if (!proposal || get().tokenizer.status === 'training') return;
      set({ error: null, tokenizer: ready(proposal.json) });
      await save(proposal.json, 'trained again');
    },

    rejectProposal() {
      set((s) => ({
        error: s.error?.kind === 'tokenizer' ? null : s.error,
        tokenizer: { ...s.tokenizer, proposal: null },
      }));
    },

    async importTokenizer(text) {
      if (get().tokenizer.status === 'training') return;
      try {
        // The same checks the workers run when they load it (ids, merges, pre-tokenizer, specials).
        parseTokenizerJson(text);
      } catch (error) {
        set({
          error: {
            kind: 'tokenizer',
            message: `That file is not a tokenizer GPT Garden can use: ${messageOf(error)}. The current tokenizer is unchanged.`,
          },
        });
        return;
      }
      set({ error: null, tokenizer: ready(text) });
      await save(text, 'loaded again');
    },
  };
}
