// The retries a call's watch reports (src/llm/retry-watch.ts) are the AI SDK's own: the SDK's
// retry loop (`prepareRetries` from `ai/internal`, as the lean path and `streamText` use it) runs
// on a fake clock, and every retry it makes is reported once, with the wait it really took.
import { APICallError } from 'ai';
import { prepareRetries } from 'ai/internal';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryWatch, type UpstreamRetry } from '../../src/llm/retry-watch.ts';

const failed = (statusCode: number, headers?: Record<string, string>) =>
  new APICallError({
    message: `status ${statusCode}`,
    url: 'http://upstream.test/v1/chat/completions',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
  });
/** A connection that failed before any answer, as the providers report it: retryable, no status. */
const unreachable = () =>
  new APICallError({
    message: 'Cannot connect to API: connect ECONNREFUSED',
    url: 'http://upstream.test/v1/chat/completions',
    requestBodyValues: {},
    isRetryable: true,
  });

/** Runs the SDK's retries over `failures` (then a success), the watch told of each as the guard tells it. */
async function sdkRetries(failures: APICallError[], maxRetries = 2) {
  const reported: UpstreamRetry[] = [];
  const watch = new RetryWatch(maxRetries, (r) => reported.push(r));
  const prompt: unknown[] = [];
  const { retry } = prepareRetries({ maxRetries, abortSignal: undefined });
  const attemptsAt: number[] = [];
  let i = 0;
  const outcome = Promise.resolve(
    retry(async () => {
      attemptsAt.push(Date.now());
      const error = failures[i++];
      if (!error) return 'answered';
      watch.openFailed(error, prompt);
      throw error;
    }),
  ).catch((err: unknown) => err);
  await vi.runAllTimersAsync();
  const waits = attemptsAt.slice(1).map((at, k) => at - attemptsAt[k]);
  return { outcome: await outcome, attempts: attemptsAt.length, waits, reported };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RetryWatch', () => {
  it("reports each retry of the SDK's backoff, with its wait, when the upstream names none", async () => {
    const run = await sdkRetries([failed(429), failed(503)]);
    expect(run.outcome).toBe('answered');
    expect(run.waits).toEqual([2000, 4000]);
    expect(run.reported).toEqual([
      { attempt: 1, status: 429, code: 'upstream_rate_limited', delayMs: 2000 },
      { attempt: 2, status: 503, code: 'upstream_error', delayMs: 4000 },
    ]);
  });

  it("reports the wait the upstream asked for, as the SDK honours it: retry-after-ms, retry-after's seconds or date", async () => {
    const date = new Date(Date.now() + 5000).toUTCString(); // five seconds after the first attempt
    const run = await sdkRetries(
      [
        failed(429, { 'retry-after': date }),
        failed(429, { 'retry-after-ms': '150' }),
        failed(429, { 'retry-after': '3' }),
      ],
      3,
    );
    expect(run.waits).toEqual([5000, 150, 3000]);
    expect(run.reported.map((r) => r.delayMs)).toEqual(run.waits);
  });

  it("reports the SDK's backoff in place of a Retry-After of more than a minute", async () => {
    const run = await sdkRetries([failed(429, { 'retry-after': '120' })]);
    expect(run.waits).toEqual([2000]);
    expect(run.reported.map((r) => r.delayMs)).toEqual([2000]);
  });

  it('reports a connection error without a status', async () => {
    const run = await sdkRetries([unreachable()]);
    expect(run.reported).toEqual([{ attempt: 1, code: 'upstream_unreachable', delayMs: 2000 }]);
  });

  it('reports nothing of a failure the SDK does not retry, nor of the last attempt', async () => {
    const refused = await sdkRetries([failed(400)]);
    expect(refused.attempts).toBe(1);
    expect(refused.reported).toEqual([]);

    const spent = await sdkRetries([failed(503), failed(503), failed(503)]);
    expect(spent.attempts).toBe(3);
    expect(spent.reported.map((r) => r.attempt)).toEqual([1, 2]);

    const none = await sdkRetries([failed(503)], 0);
    expect(none.attempts).toBe(1);
    expect(none.reported).toEqual([]);
  });

  it('counts the attempts of each step of a call anew (a new prompt)', () => {
    const reported: UpstreamRetry[] = [];
    const watch = new RetryWatch(2, (r) => reported.push(r));
    const first: unknown[] = [];
    const second: unknown[] = [];
    watch.openFailed(failed(429, { 'retry-after-ms': '10' }), first);
    watch.openFailed(failed(429, { 'retry-after-ms': '10' }), second);
    expect(reported.map((r) => r.attempt)).toEqual([1, 1]);
  });
});
