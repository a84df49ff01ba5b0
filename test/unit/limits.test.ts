import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore, RateLimiter } from '../../src/auth/rate-limit.ts';
import { RunGate } from '../../src/http/run-gate.ts';

describe('RateLimiter', () => {
  it('refuses past the requests of a window, says when it resets, and starts afresh in the next', async () => {
    let now = 120_000 + 45_000; // 45 s into a minute
    const limiter = new RateLimiter({ rpm: 2, tpm: 0 }, new MemoryRateLimitStore(), () => now);
    expect(await limiter.admit('k', 0)).toEqual({
      ok: true,
      retryAfterSeconds: 0,
      headers: {
        'x-ratelimit-limit-requests': '2',
        'x-ratelimit-remaining-requests': '1',
        'x-ratelimit-reset-requests': '15s',
      },
    });
    expect((await limiter.admit('k', 0)).ok).toBe(true);
    // With OpenAI's headers for the limit that is set (only requests here): spent, and when it resets.
    expect(await limiter.admit('k', 0)).toEqual({
      ok: false,
      retryAfterSeconds: 15,
      limit: 'requests',
      headers: {
        'x-ratelimit-limit-requests': '2',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '15s',
      },
    });
    expect((await limiter.admit('other', 0)).ok).toBe(true);
    now += 15_000;
    expect((await limiter.admit('k', 0)).ok).toBe(true);
  });

  it('counts prompt tokens at admission and completion tokens after the run', async () => {
    const limiter = new RateLimiter({ rpm: 0, tpm: 100 }, new MemoryRateLimitStore(), () => 0);
    expect((await limiter.admit('k', 60)).ok).toBe(true);
    await limiter.spend('k', 50);
    expect(await limiter.admit('k', 10)).toMatchObject({ ok: false, limit: 'tokens' });
  });

  it('does nothing when no limit is set', async () => {
    const limiter = new RateLimiter({ rpm: 0, tpm: 0 }, new MemoryRateLimitStore());
    expect(limiter.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect((await limiter.admit('k', 1000)).ok).toBe(true);
  });
});

describe('RunGate', () => {
  it('lets N runs in, queues the next in order, and gives up on one that waited too long', async () => {
    const gate = new RunGate(1, 50);
    const first = (await gate.acquire())!;
    const second = gate.acquire();
    const third = gate.acquire();
    expect(gate.queued).toBe(2);
    first();
    const releaseSecond = await second;
    expect(releaseSecond).toBeTypeOf('function');
    expect(await third).toBeUndefined(); // timed out while the second held the slot
    releaseSecond!();
    expect(gate.running).toBe(0);
  });

  it('stops waiting when the client leaves', async () => {
    const gate = new RunGate(1, 10_000);
    await gate.acquire();
    const controller = new AbortController();
    const waiting = gate.acquire(controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect(gate.queued).toBe(0);
  });
});
