/**
 * Web Worker entry for BPE training, so a long training never blocks the page:
 *   new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' })
 * The message logic is the plain function createTrainHandler, which tests drive in Node.
 */
import { type TrainOptions, type TrainProgress, isCancelled, splitLines, trainBpe, utf8Length } from './trainer';
import { toTokenizerJson } from './tokenizer-json';
import type { BpeModel } from './types';

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
  /** Stops the running training: it answers { type: 'error', message: 'cancelled', cancelled: true }. */
  | { type: 'cancel' };

export type TrainResponse =
  | { type: 'progress'; progress: TrainProgress }
  /** BpeModel holds a Map, which structured cloning carries as is; `json` is its tokenizer.json. */
  | { type: 'done'; model: BpeModel; json: string }
  | { type: 'error'; message: string; cancelled: boolean };

/**
 * Returns the function that handles one incoming message, answering through `post`. One training
 * runs at a time: a second 'train' while one runs is answered with an error.
 */
export function createTrainHandler(post: (message: TrainResponse) => void): (message: TrainRequest) => Promise<void> {
  let running: AbortController | null = null;
  return async (message) => {
    if (message.type === 'cancel') {
      running?.abort();
      return;
    }
    if (message.type !== 'train') {
      post({ type: 'error', message: `unknown message type ${JSON.stringify((message as { type?: unknown }).type)}`, cancelled: false });
      return;
    }
    if (running) {
      post({ type: 'error', message: 'a training is already running', cancelled: false });
      return;
    }
    const controller = new AbortController();
    running = controller;
    try {
      const { texts, options, splitLines: lines = true } = message;
      if (!Array.isArray(texts)) throw new TypeError('texts must be an array of strings');
      const corpus = lines ? (function* () { for (const t of texts) yield* splitLines(t); })() : texts;
      const totalBytes = options.totalBytes ?? texts.reduce((n, t) => n + utf8Length(String(t)), 0);
      const model = await trainBpe(corpus, {
        ...options,
        totalBytes,
        signal: controller.signal,
        onProgress: (progress) => post({ type: 'progress', progress }),
      });
      post({ type: 'done', model, json: toTokenizerJson(model) });
    } catch (error) {
      post({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
        cancelled: isCancelled(error),
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
