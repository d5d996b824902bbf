/**
 * The browser-wide "one job at a time" lock: training a run, training a tokenizer and tokenizing a
 * dataset all take it, since they share the GPU, the current tokenizer and the datasets. Across tabs
 * it is a Web Lock; inside a tab it is shared, so Train's own tokenizer training and tokenizing (run
 * by the Data store while the lab store holds the lock) are not refused by their own tab.
 */

/** Takes the lock; resolves with its release, or null when another tab holds it. */
export type TakeLock = () => Promise<(() => void) | null>;

export const TRAINING_LOCK_NAME = 'gpt-garden-training';

/** What the Data tab says when another tab holds the lock; `action` is what was refused ("train the tokenizer"). */
export function anotherTabBusy(action: string): string {
  return `Another tab is training (or preparing data): this tab cannot ${action} until it is done, since one job at a time uses the GPU, the tokenizer and the datasets. Pause or stop it there, or close that tab, then try again.`;
}

/** The Web Locks request itself, held until the returned function is called (no Web Locks: nothing to share). */
export function webLock(name = TRAINING_LOCK_NAME): Promise<(() => void) | null> {
  if (typeof navigator === 'undefined' || !navigator.locks) return Promise.resolve(() => undefined);
  return new Promise((resolve) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(null);
        // The lock lasts as long as this promise is pending.
        return new Promise<void>((release) => resolve(() => release()));
      })
      // A browser that refuses the request itself (a sandboxed frame): work goes on unguarded rather than hang.
      .catch(() => resolve(() => undefined));
  });
}

/**
 * One holder of `acquire` for a whole tab: the first taker acquires it, later takers share it, and
 * it is released when the last of them releases (each release counts once).
 */
export function sharedLock(acquire: TakeLock): TakeLock {
  let holders = 0;
  let release: (() => void) | null = null;
  let pending: Promise<(() => void) | null> | null = null;

  const handOut = (): (() => void) => {
    holders++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      holders--;
      if (holders === 0 && release) {
        const free = release;
        release = null;
        free();
      }
    };
  };

  return async () => {
    if (release) return handOut();
    // Two takers at once share one request (a second request of this tab would find it held).
    pending ??= acquire().finally(() => (pending = null));
    const got = await pending;
    if (!got) return null;
    release ??= got;
    return handOut();
  };
}

/** The page's lock: the lab store and the Data store take this one. */
export const tabTrainingLock: TakeLock = sharedLock(() => webLock());
