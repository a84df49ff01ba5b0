// The conversation lease across replicas: no longer than the wait for a busy conversation, and a
// wait that ends takes a lease that ran out since its last poll, so that a turn resent when the
// process serving it died is never refused while that process's lease is about to end.
import { describe, expect, it } from 'vitest';
import { ConversationLocks, leaseFor } from '../../src/conversation/conversation-locks.ts';
import { ConversationBusyError } from '../../src/conversation/types.ts';
import type { Store } from '../../src/store/types.ts';

/** A store whose conversation lease (a dead process's) ends `freeInMs` from now. */
function storeWithLeaseEndingIn(freeInMs: number): Store {
  const freeAt = Date.now() + freeInMs;
  return {
    acquireLease: async () => Date.now() >= freeAt,
    renewLease: async () => true,
    releaseLease: async () => {},
  } as unknown as Store;
}

describe('the conversation lease', () => {
  it('is no longer than the wait for a busy conversation, within 3 to 15 s', () => {
    expect(leaseFor(10)).toBe(10_000);
    expect(leaseFor(5)).toBe(5_000);
    expect(leaseFor(0)).toBe(3_000);
    expect(leaseFor(3600)).toBe(15_000);
  });

  it('is taken by a wait that ends just after it ran out, between two polls', async () => {
    // Polls come 10, 20, 40 ... 250 ms apart: at 310 ms, then 560 ms. The lease ends at 480 ms.
    const locks = new ConversationLocks(storeWithLeaseEndingIn(480), { leaseMs: 5_000 });
    const lock = await locks.acquire('conv', { waitMs: 500 });
    expect(lock.conversationId).toBe('conv');
    await lock.release();
  });

  it('still refuses when the lease outlasts the wait', async () => {
    const locks = new ConversationLocks(storeWithLeaseEndingIn(5_000), { leaseMs: 5_000 });
    await expect(locks.acquire('conv', { waitMs: 300 })).rejects.toThrow(ConversationBusyError);
  });
});
