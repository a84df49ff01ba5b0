// At most N runs execute at once in this process; the next ones wait in line for a bounded time,
// then get a 429, so that a burst degrades into queueing instead of exhausting memory or the
// upstream's rate limits. A request with `n` choices takes n slots at once (each choice is a run).
export class RunGate {
  private readonly max: number;
  private readonly waitMs: number;
  private active = 0;
  /** First come, first served: a big request at the head is not overtaken by small ones (no starvation). */
  private readonly waiting: { count: number; grant: () => void }[] = [];

  constructor(max: number, waitMs: number) {
    this.max = max;
    this.waitMs = waitMs;
  }

  get capacity(): number {
    return this.max;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function for `count` slots, or with undefined when they did not free
   * up in time, when `signal` aborted the wait, or when `count` exceeds the gate's capacity.
   */
  async acquire(signal?: AbortSignal, count = 1): Promise<(() => void) | undefined> {
    if (count > this.max || signal?.aborted) return undefined;
    if (!this.waiting.length && this.active + count <= this.max) return this.take(count);
    return new Promise((resolve) => {
      const entry = {
        count,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', giveUp);
          resolve(this.take(count));
        },
      };
      const giveUp = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(undefined);
        this.grantWaiting(); // the head may have been what held smaller requests back
      };
      const timer = setTimeout(giveUp, this.waitMs);
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(entry);
    });
  }

  private take(count: number): () => void {
    this.active += count;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= count;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    while (this.waiting.length && this.active + this.waiting[0].count <= this.max) this.waiting.shift()!.grant();
  }
}
