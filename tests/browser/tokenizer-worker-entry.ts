/** Trains a BPE in a real Web Worker, then cancels a second, larger training mid-way. */
import type { TrainRequest, TrainResponse } from '../../src/data/tokenizer-worker';
import { Tokenizer } from '../../src/tokenizer/tokenizer';

const out = document.getElementById('result')!;

function train(worker: Worker, request: TrainRequest, onProgress?: () => void): Promise<TrainResponse[]> {
  return new Promise((resolve) => {
    const seen: TrainResponse[] = [];
    worker.onmessage = (event: MessageEvent<TrainResponse>) => {
      seen.push(event.data);
      if (event.data.type === 'progress') onProgress?.();
      else resolve(seen);
    };
    worker.postMessage(request);
  });
}

async function run(): Promise<void> {
  const worker = new Worker(new URL('../../src/data/tokenizer-worker.ts', import.meta.url), { type: 'module' });
  const text = 'the cat sat on the mat. the dog sat on the log.\n'.repeat(200);
  const first = await train(worker, { type: 'train', texts: [text], options: { vocabSize: 300, minFrequency: 2 } });
  const done = first.at(-1)!;
  if (done.type !== 'done') throw new Error(`first training ended with ${JSON.stringify(done)}`);
  const tokenizer = new Tokenizer(done.model);
  const ids = tokenizer.encode('the cat sat on the log.');
  let words = '';
  // Large enough (~15 MB, seconds of work) that the cancel, sent on the first progress message,
  // always lands before the training could finish, however fast or loaded the machine is.
  for (let i = 0; i < 30000; i++) words += `w${(i * 7919) % 50021} x${i % 997} `;
  let cancelled = false;
  const second = await train(
    worker,
    { type: 'train', texts: [words.repeat(40)], options: { vocabSize: 20000, minFrequency: 1 } },
    () => {
      if (!cancelled) {
        cancelled = true;
        worker.postMessage({ type: 'cancel' } satisfies TrainRequest);
      }
    },
  );
  out.textContent = JSON.stringify({
    progress: first.filter((m) => m.type === 'progress').length,
    decoded: tokenizer.decode(ids),
    tokens: ids.length,
    vocab: tokenizer.vocabSize,
    second: second.at(-1),
  });
  out.dataset.status = 'done';
}

run().catch((error: unknown) => {
  out.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
  out.dataset.status = 'error';
});
