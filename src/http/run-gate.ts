// At most N runs execute at once in this process; the next ones wait in line for a bounded time,
// then get a 429, so that a burst degrades into queueing instead of exhausting memory or the
// upstream's rate limits. A request with `n` choices takes n slots at once (each choice is a run).
//
// An API key holds at most its share of the slots (CORTEX_MAX_RUNS_PER_KEY): one key's burst of
// long runs cannot take every slot and lock the other keys out. A request whose key is at its
// share waits for its own key's runs, without holding the line up for the others.

/** Whose slots they are: an API key's id; requests without one (auth off) share one unbounded owner. */
type Owner = string | undefined;

interface Waiter {
  count: number;
  owner: Owner;
  grant: () => void;
}

export class RunGate {
  private readonly max: number;
  private readonly waitMs: number;
  private readonly perKey: number;
  private active = 0;
  /** Slots held per API key (keys holding none are not kept). */
  private readonly held = new Map<string, number>();
  /** First come, first served: a big request at the head is not overtaken by small ones (no starvation). */
  private readonly waiting: Waiter[] = [];

  constructor(max: number, waitMs: number, perKey = max) {
    this.max = max;
    this.waitMs = waitMs;
    this.perKey = Math.min(perKey, max);
  }

  get capacity(): number {
    return this.max;
  }

  /** The most slots one request of `owner` could ever hold. */
  capacityFor(owner: Owner): number {
    return owner === undefined ? this.max : this.perKey;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Whether `owner` holds its whole share now (why its request would wait). */
  atShare(owner: Owner): boolean {
    return owner !== undefined && (this.held.get(owner) ?? 0) >= this.perKey;
  }

  /**
   * Resolves with a release function for `count` slots, or with undefined when they did not free
   * up in time, when `signal` aborted the wait, or when `count` exceeds what `owner` may hold.
   */
  async acquire(signal?: AbortSignal, count = 1, owner?: Owner): Promise<(() => void) | undefined> {
    if (count > this.capacityFor(owner) || signal?.aborted) return undefined;
    const entry: Waiter = { count, owner, grant: () => {} };
    if (this.firstServable() === undefined && this.fits(entry)) return this.take(entry);
    return new Promise((resolve) => {
      entry.grant = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        resolve(this.take(entry));
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

  /** Whether the slots are free and the owner's share has room. */
  private fits({ count, owner }: Waiter): boolean {
    return this.active + count <= this.max && this.ownerHas(owner, count);
  }

  private ownerHas(owner: Owner, count: number): boolean {
    return owner === undefined || (this.held.get(owner) ?? 0) + count <= this.perKey;
  }

  /** The first waiter not held back by its own key's share: the head of the line for the others. */
  private firstServable(): Waiter | undefined {
    return this.waiting.find((w) => this.ownerHas(w.owner, w.count));
  }

  private take({ count, owner }: Waiter): () => void {
    this.active += count;
    if (owner !== undefined) this.held.set(owner, (this.held.get(owner) ?? 0) + count);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= count;
      if (owner !== undefined) {
        const left = this.held.get(owner)! - count;
        if (left) this.held.set(owner, left);
        else this.held.delete(owner);
      }
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    for (let next = this.firstServable(); next && this.fits(next); next = this.firstServable()) {
      this.waiting.splice(this.waiting.indexOf(next), 1);
      next.grant();
    }
  }
}
