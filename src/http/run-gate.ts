// At most N runs execute at once in this process; the next ones wait in line for a bounded time,
// then get a 429, so that a burst degrades into queueing instead of exhausting memory or the
// upstream's rate limits.
export class RunGate {
  private readonly max: number;
  private readonly waitMs: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(max: number, waitMs: number) {
    this.max = max;
    this.waitMs = waitMs;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function, or with undefined when no slot freed up in time. */
  async acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (this.active < this.max) return this.take();
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(this.take());
      };
      const giveUp = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        clearTimeout(timer);
        resolve(undefined);
      };
      const timer = setTimeout(giveUp, this.waitMs);
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(grant);
    });
  }

  private take(): () => void {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}
