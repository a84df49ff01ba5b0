// One lock per key (a conversation id): holders of the same key run one after the other, other
// keys are not held up. Entries disappear when nobody holds or waits for them. A waiter whose
// signal aborts leaves the queue at once (its place passes straight on to the next waiter).
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** The unlock function if the key is free now (the common, uncontended case: no promise, no timer). */
  tryLock(key: string): (() => void) | undefined {
    if (this.tails.has(key)) return undefined;
    let unlock!: () => void;
    const tail = new Promise<void>((resolve) => (unlock = resolve));
    this.tails.set(key, tail);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unlock();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Resolves to the unlock function once the key is ours; rejects with the signal's reason if it aborts first. */
  async lock(key: string, signal?: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let unlock!: () => void;
    const current = new Promise<void>((resolve) => (unlock = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      unlock();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    if (!signal) {
      await previous;
      return release;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        void previous.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    } catch (err) {
      void previous.then(release); // our turn, when it comes, is handed on untouched
      throw err;
    }
    return release;
  }
}
