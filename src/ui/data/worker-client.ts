/**
 * A typed, message-only handle on a Web Worker. The store takes one of these instead of a Worker so
 * tests can hand it a fake: anything with postMessage and onmessage will do.
 */

/** The part of a Worker the UI uses; a real Worker fits, and so does a plain object in tests. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => unknown) | null;
  onerror?: ((event: ErrorEvent) => unknown) | null;
  terminate?(): void;
}

export interface WorkerClient<Request, Response> {
  post(message: Request): void;
  /** Calls `listener` with every response; returns the function that stops it. */
  subscribe(listener: (message: Response) => void): () => void;
  /** Stops the worker (a no-op for fakes without terminate). */
  terminate(): void;
}

/**
 * Wraps `worker`. A worker that fails to load or throws outside its own message handling fires
 * `error` events, not messages; `onWorkerError` turns those into a Response so listeners see one
 * stream and the page never waits on a worker that died.
 */
export function createWorkerClient<Request, Response>(
  worker: WorkerLike,
  onWorkerError?: (message: string) => Response,
): WorkerClient<Request, Response> {
  const listeners = new Set<(message: Response) => void>();
  const emit = (message: Response) => {
    for (const listener of [...listeners]) listener(message);
  };
  worker.onmessage = (event) => emit(event.data as Response);
  if (onWorkerError) {
    worker.onerror = (event) => {
      event.preventDefault?.();
      emit(onWorkerError(event.message || 'the worker failed to start (see the browser console)'));
    };
  }
  return {
    post: (message) => worker.postMessage(message),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    terminate() {
      listeners.clear();
      worker.terminate?.();
    },
  };
}
