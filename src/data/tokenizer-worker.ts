/**
 * Web Worker entry for BPE training, so a long training never blocks the page:
 *   new Worker(new URL('./tokenizer-worker.ts', import.meta.url), { type: 'module' })
 * It trains on texts it is sent, or streams the first N bytes of a source itself ('train-source':
 * a Hub dataset, a URL, picked files as Blobs), so a 100 MB sample never passes through the page.
 * The message logic is the plain function createTrainHandler, which tests drive in Node.
 */
import { createSource, type SourceEnv } from './sources/index';
import { trainBpeOnSample } from './text-sample';
import type { SourceSpec } from './types';
import {
  type TrainOptions,
  type TrainProgress,
  isCancelled,
  splitLines,
  trainBpe,
  utf8Length,
} from '../tokenizer/trainer';
import { toTokenizerJson } from '../tokenizer/tokenizer-json';
import type { BpeModel } from '../tokenizer/types';
import { messageOf } from '../util/errors';

/** The options that survive postMessage (no callbacks, no signal). */
export type TrainWorkerOptions = Omit<TrainOptions, 'onProgress' | 'signal'>;

export type TrainRequest =
  | {
      type: 'train';
      /** Corpus texts (documents or chunks of a file). */
      texts: string[];
      options: TrainWorkerOptions;
      /** Cut each text into lines first, as Hugging Face reads a file (default true). */
      splitLines?: boolean;
    }
  | {
      type: 'train-source';
      spec: SourceSpec;
      /** A 'files' spec's contents (Blobs are cheap to post: the worker reads them in slices). */
      files?: { name: string; blob: Blob }[];
      /** Train on the source's first sampleBytes UTF-8 bytes of text. */
      sampleBytes: number;
      options: TrainWorkerOptions;
    }
  /** Stops the running training: it answers { type: 'error', message: 'cancelled', cancelled: true }. */
  | { type: 'cancel' };

export type TrainResponse =
  | { type: 'progress'; progress: TrainProgress }
  /** BpeModel holds a Map, which structured cloning carries as is; `json` is its tokenizer.json. */
  /** `sampleBytes`: the text a 'train-source' read (less than asked when the source is smaller). */
  | { type: 'done'; model: BpeModel; json: string; sampleBytes?: number }
  | { type: 'error'; message: string; cancelled: boolean };

/**
 * Returns the function that handles one incoming message, answering through `post`. One training
 * runs at a time: a second 'train' while one runs is answered with an error.
 */
export function createTrainHandler(
  post: (message: TrainResponse) => void,
  /** Network settings for 'train-source' (tests point the Hub at a local server). */
  sourceEnv: Omit<SourceEnv, 'files' | 'signal'> = {},
): (message: TrainRequest) => Promise<void> {
  let running: AbortController | null = null;
  return async (message) => {
    if (message.type === 'cancel') {
      running?.abort();
      return;
    }
    if (message.type !== 'train' && message.type !== 'train-source') {
      post({
        type: 'error',
        message: `unknown message type ${JSON.stringify((message as { type?: unknown }).type)}`,
        cancelled: false,
      });
      return;
    }
    if (running) {
      post({ type: 'error', message: 'a training is already running', cancelled: false });
      return;
    }
    const controller = new AbortController();
    running = controller;
    try {
      const onProgress = (progress: TrainProgress) => post({ type: 'progress', progress });
      if (message.type === 'train-source') {
        const { spec, files, sampleBytes, options } = message;
        const source = await createSource(spec, { ...sourceEnv, files, signal: controller.signal });
        const result = await trainBpeOnSample(source, {
          ...options,
          sampleBytes,
          signal: controller.signal,
          onProgress,
        });
        post({
          type: 'done',
          model: result.model,
          json: toTokenizerJson(result.model),
          sampleBytes: result.stats.bytes,
        });
        return;
      }
      const { texts, options, splitLines: lines = true } = message;
      if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
      const corpus = lines
        ? (function* () {
            for (const t of texts) yield* splitLines(t);
          })()
        : texts;
      const totalBytes = options.totalBytes ?? texts.reduce((n, t) => n + utf8Length(String(t)), 0);
      const model = await trainBpe(corpus, {
        ...options,
        totalBytes,
        signal: controller.signal,
        onProgress,
      });
      post({ type: 'done', model, json: toTokenizerJson(model) });
    } catch (error) {
      post({
        type: 'error',
        message: messageOf(error),
        // Aborting also stops a source's fetch mid-way, which throws its own error.
        cancelled: isCancelled(error) || controller.signal.aborted,
      });
    } finally {
      running = null;
    }
  };
}

// Only when loaded as a worker (importing this file in Node or a page does nothing).
declare const WorkerGlobalScope: unknown;
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined') {
  const scope = self as unknown as {
    postMessage(message: TrainResponse): void;
    onmessage: ((event: MessageEvent<TrainRequest>) => void) | null;
  };
  const handle = createTrainHandler((m) => scope.postMessage(m));
  scope.onmessage = (event) => void handle(event.data);
}
