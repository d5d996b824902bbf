/**
 * HTTP plumbing for the sources: a Range-request AsyncBuffer for parquet (our own rather than
 * hyparquet's asyncBufferFromUrl, so that a 404, a server that ignores Range or a dropped
 * connection each become a DataError the user can act on), plus the status and retry helpers the
 * text source and the Hub resolver share. Uses only fetch: runs in Node, on a page or in a worker.
 */
import type { AsyncBuffer } from 'hyparquet';
import { DataError } from '../types';
import { messageOf } from '../../util/errors';

export interface HttpOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Network failures (not HTTP error statuses) are retried this many times (default 2). */
  retries?: number;
  /** Wait before the first retry, doubled for each further one (default 500 ms). */
  retryDelayMs?: number;
  /** Called with the size of every response body received. */
  onBytes?: (bytes: number) => void;
}

export interface RangeBufferOptions extends HttpOptions {
  /** The file's size when already known (skips the HEAD request). */
  byteLength?: number;
}

/** A remote file read by HTTP Range requests. */
export interface RangeBuffer extends AsyncBuffer {
  readonly url: string;
  /** Body bytes received so far by this buffer's requests. */
  readonly bytesRead: number;
}

const DEFAULT_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 500;

export async function rangeBuffer(url: string, options: RangeBufferOptions = {}): Promise<RangeBuffer> {
  let bytesRead = 0;
  const counted: RangeBufferOptions = {
    ...options,
    onBytes: (bytes) => {
      bytesRead += bytes;
      options.onBytes?.(bytes);
    },
  };
  const byteLength = options.byteLength ?? (await remoteSize(url, counted));
  return {
    url,
    byteLength,
    get bytesRead() {
      return bytesRead;
    },
    slice: (start: number, end?: number) =>
      readRange(url, start, Math.min(end ?? byteLength, byteLength), byteLength, counted),
  };
}

/** The size of a remote file: HEAD's Content-Length, else the total in a one-byte Range reply. */
export async function remoteSize(url: string, options: HttpOptions = {}): Promise<number> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const head = await withRetries(url, options, () => doFetch(url, { method: 'HEAD', signal: options.signal }));
  const length = Number(head.headers.get('content-length') ?? NaN);
  if (head.ok && Number.isFinite(length) && head.headers.get('content-encoding') === null) return length;

  // Some servers refuse HEAD or leave out its length; ask for the first byte instead.
  return withRetries(url, options, async () => {
    const response = await doFetch(url, { headers: { Range: 'bytes=0-0' }, signal: options.signal });
    if (!response.ok) {
      await discard(response);
      throw httpError(url, response);
    }
    if (response.status !== 206) {
      await discard(response);
      throw rangeError(url, 'answered a Range request with the whole file (status 200)');
    }
    const body = await response.arrayBuffer();
    options.onBytes?.(body.byteLength);
    const total = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '')?.[1];
    if (total === undefined) {
      throw rangeError(url, 'did not say the file size (no Content-Length on HEAD, no Content-Range exposed)');
    }
    return Number(total);
  });
}

async function readRange(
  url: string,
  start: number,
  end: number,
  fileLength: number,
  options: HttpOptions,
): Promise<ArrayBuffer> {
  if (end <= start) return new ArrayBuffer(0);
  const doFetch = options.fetch ?? globalThis.fetch;
  return withRetries(url, options, async () => {
    const response = await doFetch(url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal: options.signal });
    if (!response.ok) {
      await discard(response);
      throw httpError(url, response);
    }
    const wholeFile = start === 0 && end === fileLength;
    if (response.status !== 206 && !wholeFile) {
      // Reading on would download the whole file for every slice.
      await discard(response);
      throw rangeError(
        url,
        `answered a request for bytes ${start}-${end - 1} with the whole file (status ${response.status})`,
      );
    }
    const body = await response.arrayBuffer();
    options.onBytes?.(body.byteLength);
    if (body.byteLength !== end - start) {
      throw rangeError(
        url,
        `sent ${body.byteLength} bytes for a request of ${end - start} (bytes ${start}-${end - 1})`,
      );
    }
    return body;
  });
}

/**
 * Runs `attempt`, retrying network failures with exponential backoff. DataErrors pass through
 * untouched; an abort becomes DataError('cancelled'); anything else, once retries run out,
 * becomes DataError('network').
 */
export async function withRetries<T>(url: string, options: HttpOptions, attempt: () => Promise<T>): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  const delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  for (let tries = 0; ; tries++) {
    throwIfAborted(options.signal);
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted) throw cancelledError(error);
      if (error instanceof DataError) throw error;
      if (tries >= retries) throw networkError(url, error);
      await sleep(delay * 2 ** tries, options.signal);
    }
  }
}

export function httpError(url: string, response: Response): DataError {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  let advice: string;
  if (response.status === 404 || response.status === 410) advice = 'check the dataset id or URL';
  else if (response.status === 401 || response.status === 403)
    advice = 'the file is private or needs a login; use a public dataset or URL';
  else if (response.status === 429) advice = 'the server is rate-limiting requests; wait a minute and resume';
  else if (response.status >= 500) advice = 'the server had a problem; try again later';
  else advice = 'check the URL';
  return new DataError('http', `${url} answered ${status}: ${advice}`);
}

export function networkError(url: string, cause: unknown): DataError {
  if (cause instanceof StallError) {
    return new DataError(
      'network',
      `${url} sent nothing for ${cause.seconds} s (retried): the server stalled; try again later`,
      { cause },
    );
  }
  const reason = describe(cause);
  return new DataError(
    'network',
    `The connection to ${url} failed${reason ? ` (${reason})` : ''}: check your network and try again (what was already read is kept)`,
    { cause },
  );
}

function rangeError(url: string, what: string): DataError {
  return new DataError(
    'range',
    `${url} ${what}, but reading parquet needs HTTP Range support: use a server that supports Range requests, or download the file and pick it from disk`,
  );
}

export function cancelledError(cause?: unknown): DataError {
  return new DataError('cancelled', 'Reading was cancelled.', { cause });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError(signal.reason);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The body is not needed; a failure to cancel it changes nothing.
  }
}

/** No bytes (headers or body) arrived for the deadline: retried like a dropped connection. */
export class StallError extends Error {
  constructor(
    readonly url: string,
    readonly seconds: number,
  ) {
    super(`no bytes from ${url} for ${seconds} s`);
  }
}

/** The default deadline: a response silent this long is aborted and retried. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * `doFetch` with a deadline on silence: the headers and then every body chunk must arrive within
 * `stallMs`, else the request is aborted and fails with a StallError. Without it a server that
 * stops sending (headers and a few bytes, or nothing at all) holds a read forever.
 */
export function withStallDeadline(doFetch: typeof fetch, stallMs: number = DEFAULT_STALL_TIMEOUT_MS): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const seconds = Math.round(stallMs / 100) / 10;
    const controller = new AbortController();
    const outer = init?.signal;
    const onAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    else outer?.addEventListener('abort', onAbort, { once: true });
    const stall = new StallError(url, seconds);
    const deadline = <T>(promise: Promise<T>): Promise<T> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(stall);
          reject(stall);
        }, stallMs);
      });
      return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
    };
    const done = () => outer?.removeEventListener('abort', onAbort);
    let response: Response;
    try {
      response = await deadline(doFetch(input, { ...init, signal: controller.signal }));
    } catch (error) {
      done();
      throw error;
    }
    const body = response.body;
    // A body-less status (204, 304...) cannot be rebuilt with a stream; nothing more can stall.
    if (!body || response.status === 204 || response.status === 205 || response.status === 304) {
      done();
      return response;
    }
    const reader = body.getReader();
    const guarded = new ReadableStream<Uint8Array>({
      async pull(stream) {
        try {
          const chunk = await deadline(reader.read());
          if (chunk.done) {
            done();
            stream.close();
          } else stream.enqueue(chunk.value);
        } catch (error) {
          done();
          reader.cancel().catch(() => undefined);
          stream.error(error);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    });
    return new Response(guarded, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The innermost message of an error chain: undici hides "ECONNRESET" inside `cause`. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const message = messageOf(e);
    if (message && !parts.includes(message)) parts.push(message);
  }
  return parts.join(': ');
}
