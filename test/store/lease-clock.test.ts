// Replicas on different hosts share one PostgreSQL but not one clock. A conversation's lease must
// expire by the database's clock: a replica whose host clock runs ahead must not take a live lease
// (two replicas would serve one conversation at once) nor, restarting, mark another replica's live
// run interrupted; one whose clock runs behind must not wait out a dead lease for longer.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStore } from '../../src/store/create-store.ts';
import type { Store } from '../../src/store/types.ts';
import { newConversationId, newRunId } from '../../src/run/run-ids.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';

const MINUTE = 60_000;
let schema: TestSchema;
let here: Store;
let skewed: Store;

beforeAll(async () => {
  schema = await freshSchema('leaseclock');
  here = await createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
  skewed = await createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
});

afterAll(async () => {
  await here?.close();
  await skewed?.close();
  await schema?.drop();
});

afterEach(() => vi.restoreAllMocks());

/** Runs `fn` as the replica whose host clock is `offsetMs` off (every Date.now() in the process). */
async function onSkewedHost<T>(offsetMs: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now.bind(Date);
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + offsetMs);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

/** A conversation whose first turn is running on `holder`, with a lease of `ttlMs`. */
async function runningTurn(holder: string, ttlMs: number) {
  const conversationId = newConversationId();
  const runId = newRunId();
  await here.beginTurn({
    conversationId,
    owner: 'k',
    title: 't',
    messages: [{ role: 'user', content: `question ${conversationId}`, tokenCount: 2 }],
    runs: [{ id: runId, model: 'cortex-flow', startedAt: new Date().toISOString() }],
    lease: { holder, ttlMs },
  });
  return { conversationId, runId };
}

describe('conversation leases on PostgreSQL expire by the database clock, not a host clock', () => {
  it('a replica whose clock runs a minute ahead neither takes a live lease nor marks its run interrupted', async () => {
    const { conversationId, runId } = await runningTurn('alive', 30_000);
    await onSkewedHost(2 * MINUTE, async () => {
      expect(await skewed.acquireLease(conversationId, 'ahead', 30_000)).toBe(false);
      expect(await skewed.liveLeases()).toContainEqual({ conversationId, holder: 'alive' });
      // The sweep a replica makes when it starts.
      await skewed.interruptOrphanedRuns();
    });
    expect((await here.getRun(runId, 'k'))?.status).toBe('running');
    expect(await here.renewLease(conversationId, 'alive', 30_000)).toBe(true);
  });

  it('a replica whose clock runs a minute behind takes a lease its dead holder let expire', async () => {
    const { conversationId, runId } = await runningTurn('dead', 1);
    await new Promise((r) => setTimeout(r, 20));
    await onSkewedHost(-2 * MINUTE, async () => {
      expect(await skewed.acquireLease(conversationId, 'behind', 30_000)).toBe(true);
    });
    // Taking over marks the dead holder's run interrupted, so that the turn can be retried.
    expect((await here.getRun(runId, 'k'))?.status).toBe('interrupted');
    expect(await here.liveLeases()).toContainEqual({ conversationId, holder: 'behind' });
  });

  it('a lease renewed on a host whose clock runs behind still lasts its time on the database clock', async () => {
    const { conversationId } = await runningTurn('renewer', 30_000);
    await onSkewedHost(-2 * MINUTE, async () => {
      expect(await skewed.renewLease(conversationId, 'renewer', 30_000)).toBe(true);
    });
    // Renewed from a clock two minutes late, the lease would already have expired for everyone else.
    expect(await here.acquireLease(conversationId, 'other', 30_000)).toBe(false);
    expect(await here.liveLeases()).toContainEqual({ conversationId, holder: 'renewer' });
  });
});
