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

  async acquire(conversationId: string, options: { signal?: AbortSignal; waitMs: number }): Promise<ConversationLock> {
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
      for (let pause = FIRST_POLL_MS; !(await this.store.acquireLease(conversationId, holder, this.leaseMs));) {
        if (!(await sleep(pause, wait().signal))) throw failure();
        pause = Math.min(MAX_POLL_MS, pause * 2);
      }
    } catch (err) {
      unlock?.();
      throw err;
    } finally {
      deadline?.dispose();
    }
    this.hold(holder, conversationId);
    let released: Promise<void> | undefined;
    const release = () =>
      (released ??= (async () => {
        this.unhold(holder);
        // If this fails the lease simply expires; the run is over either way. The local lock goes
        // last, so that a local waiter finds the lease free.
        await this.store.releaseLease(conversationId, holder).catch(() => {});
        unlock();
      })());
    return { conversationId, release, [Symbol.asyncDispose]: release };
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
