/** A Worker stand-in for the UI stores' tests: records what is posted; the test (or `handle`) replies. */
import type { WorkerLike } from '../../src/ui/data/worker-client';

export class FakeWorker<Response> implements WorkerLike {
  posted: unknown[] = [];
  onmessage: ((event: MessageEvent) => unknown) | null = null;
  onerror: ((event: ErrorEvent) => unknown) | null = null;
  terminated = false;
  constructor(private readonly handle?: (message: unknown, reply: (m: Response) => void) => void) {}
  postMessage(message: unknown) {
    this.posted.push(message);
    this.handle?.(message, (m) => this.reply(m));
  }
  reply(message: Response) {
    this.onmessage?.({ data: message } as MessageEvent);
  }
  terminate() {
    this.terminated = true;
  }
}
