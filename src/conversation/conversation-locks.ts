// The lock a turn holds on its conversation for the whole run: first in this process (a keyed
// mutex, so local waiters queue without touching the database), then across processes and
// replicas (a lease row in the store, renewed while the run lasts and expiring if the process
// dies). Waiting is cancellable (the client's signal) and bounded (ConversationBusyError).
import type { Store } from '../store/types.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { newHolder } from './lease-holder.ts';
import { waitDeadline, type WaitDeadline } from './wait-deadline.ts';
import { ConversationBusyError, LockWaitAbortedError, type ConversationLock } from './types.ts';

export interface LockSettings {
  /** How long a lease lasts without renewal: a dead process's turns block the conversation this long. */
  leaseMs: number;
}

/**
 * The lease row of a held lock, as its turn sees it: `pending` while a freshly minted conversation's
 * turn has not written it yet (its first write takes it, in the same transaction), `held` once it is
 * in the store, `released` once the turn's last write deleted it. The lock's release deletes it only
 * when it is still `held` (a turn whose last write failed, or that had nothing to record).
 */
export interface TurnLease {
  readonly holder: string;
  readonly ttlMs: number;
  readonly state: 'pending' | 'held' | 'released';
  /** The turn wrote the lease row: renew it from now on. */
  written(): void;
  /** The turn deleted the lease row with its last write. */
  released(): void;
}

/** A conversation held for one turn, with its lease. */
export interface LeasedLock extends ConversationLock {
  readonly lease: TurnLease;
}

/**
 * The lease for a conversation wait of `waitSeconds`: no longer than the wait (3 to 15 s), so that a
 * turn resent to another replica when the process serving the conversation died (killed, OOM) finds
 * its lease run out before its own wait does, and retries the interrupted turn in its conversation
 * instead of answering 409 (a 15 s lease outlasted the default 10 s wait). Renewed every third of it.
 */
export const leaseFor = (waitSeconds: number): number => Math.min(15_000, Math.max(3_000, waitSeconds * 1000));

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 250;

export class ConversationLocks {
  private readonly store: Store;
  private readonly mutex = new KeyedMutex();
  private readonly leaseMs: number;
  /** The leases held now (holder -> conversation), renewed together by one timer while any is held. */
  private readonly held = new Map<string, string>();
  private renewal: NodeJS.Timeout | undefined;

  constructor(store: Store, settings: LockSettings) {
    this.store = store;
    this.leaseMs = settings.leaseMs;
  }

  async acquire(conversationId: string, options: { signal?: AbortSignal; waitMs: number }): Promise<LeasedLock> {
    const started = Date.now();
    // Uncontended (the usual case): no timer, no signal, one lease write.
    let deadline: WaitDeadline | undefined;
    const wait = () => (deadline ??= waitDeadline(options.signal, options.waitMs - (Date.now() - started)));
    const failure = () =>
      deadline?.cancelled()
        ? new LockWaitAbortedError(conversationId)
        : new ConversationBusyError(conversationId, Date.now() - started);
    const holder = newHolder();
    let unlock: (() => void) | undefined;
    try {
      unlock = this.mutex.tryLock(conversationId);
      if (!unlock) {
        const { signal } = wait();
        unlock = await this.mutex.lock(conversationId, signal).catch(() => {
          throw failure();
        });
      }
      const take = () => this.store.acquireLease(conversationId, holder, this.leaseMs);
      for (let pause = FIRST_POLL_MS; !(await take()); pause = Math.min(MAX_POLL_MS, pause * 2)) {
        if (await sleep(pause, wait().signal)) continue;
        // The wait is over: one last try, for a lease that ran out since the last poll (a dead
        // holder's lease ends within the wait, but polls are up to 250 ms apart).
        if (deadline!.cancelled() || !(await take())) throw failure();
        break;
      }
    } catch (err) {
      unlock?.();
      throw err;
    } finally {
      deadline?.dispose();
    }
    return this.leased(conversationId, holder, unlock, 'held');
  }

  /**
   * A conversation id this process has just minted: nobody else can know it, so there is nothing to
   * wait for and no lease to take now; the turn's first write takes it (TurnStart.lease).
   */
  mint(conversationId: string): LeasedLock {
    const unlock = this.mutex.tryLock(conversationId);
    if (!unlock) throw new Error(`minted conversation id ${conversationId} is already locked`);
    return this.leased(conversationId, newHolder(), unlock, 'pending');
  }

  private leased(conversationId: string, holder: string, unlock: () => void, initial: TurnLease['state']): LeasedLock {
    const locks = this;
    let state = initial;
    const lease: TurnLease = {
      holder,
      ttlMs: this.leaseMs,
      get state() {
        return state;
      },
      written() {
        if (state !== 'pending') return;
        state = 'held';
        // The lock was let go while the write was in flight: the row must not outlive it.
        if (!done) return locks.hold(holder, conversationId);
        state = 'released';
        void locks.store.releaseLease(conversationId, holder).catch(() => {});
      },
      released() {
        state = 'released';
        locks.unhold(holder);
      },
    };
    if (state === 'held') this.hold(holder, conversationId);
    let done: Promise<void> | undefined;
    const release = () =>
      (done ??= (async () => {
        this.unhold(holder);
        // If this fails the lease simply expires; the run is over either way. The local lock goes
        // last, so that a local waiter finds the lease free.
        if (state === 'held') {
          state = 'released';
          await this.store.releaseLease(conversationId, holder).catch(() => {});
        }
        unlock();
      })());
    return { conversationId, lease, release, [Symbol.asyncDispose]: release };
  }

  // Renewed well before they expire; a lost renewal (database down) is retried at the next tick.
  // One timer for all the leases of the process, not one per run: every open run holds a lease.
  private hold(holder: string, conversationId: string): void {
    this.held.set(holder, conversationId);
    if (this.renewal) return;
    this.renewal = setInterval(
      () => {
        for (const [h, id] of this.held) void this.store.renewLease(id, h, this.leaseMs).catch(() => {});
      },
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    this.renewal.unref();
  }

  private unhold(holder: string): void {
    this.held.delete(holder);
    if (this.held.size || !this.renewal) return;
    clearInterval(this.renewal);
    this.renewal = undefined;
  }
}

/** Waits `ms`; false if `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
