// Limits that keep a shared server usable: requests and tokens per minute per key (also across
// replicas on PostgreSQL), concurrent runs, run duration.
import { afterAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { streamChat } from '../support/http-client.ts';
import { freshSchema } from '../support/postgres.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const servers: TestServer[] = [];
const start = async (...args: Parameters<typeof startTestServer>) => {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
};
afterAll(async () => {
  for (const s of servers) await s.close();
});
const hi = { messages: [{ role: 'user', content: 'hi' }] };

/** Limits count in one-minute windows: start a test well inside one, never across a boundary. */
async function awayFromMinuteBoundary(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
}
const key = (k: string) => ({ authorization: `Bearer ${k}` });

describe('rate limits', () => {
  it('answers 429 rate_limit_exceeded with Retry-After once a key spent its requests per minute', async () => {
    const srv = await start(new RecordingOrchestrator(), { CORTEX_API_KEYS: 'k1,k2', CORTEX_RATE_LIMIT_RPM: '3' });
    await awayFromMinuteBoundary();
    for (let i = 0; i < 3; i++) expect((await chat(srv.baseUrl, hi, key('k1'))).status).toBe(200);
    const limited = await chat(srv.baseUrl, hi, key('k1'));
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // OpenAI's headers, for clients that pace themselves by them; only for the limit that is set.
    expect(Object.fromEntries([...limited.headers].filter(([h]) => h.startsWith('x-ratelimit-')))).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': `${retryAfter}s`,
    });
    expect((await chat(srv.baseUrl, hi, key('k2'))).status).toBe(200); // another key has its own budget
  });

  it("tells every answer what is left of the key's limits, as OpenAI does: JSON, stream and Responses", async () => {
    const srv = await start(new RecordingOrchestrator(), { CORTEX_API_KEYS: 'k3', CORTEX_RATE_LIMIT_RPM: '10' });
    await awayFromMinuteBoundary();
    const limits = (headers: Headers) =>
      Object.fromEntries(
        [...headers].filter(([h]) => h.startsWith('x-ratelimit-') && !h.startsWith('x-ratelimit-reset')),
      );
    const plain = await chat(srv.baseUrl, hi, key('k3'));
    expect(plain.status).toBe(200);
    expect(limits(plain.headers)).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '9',
    });
    expect(plain.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    const streamed = await streamChat(srv.baseUrl, hi, key('k3'));
    expect(streamed.done).toBe(true);
    expect(limits(streamed.headers)).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '8',
    });
    const response = await fetch(`${srv.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { ...key('k3'), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', input: 'hi', store: false }),
    });
    expect(response.status).toBe(200);
    expect(limits(response.headers)).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '7',
    });
    // Without limits, none: there is nothing to report.
    const open = await start(new RecordingOrchestrator());
    const unlimited = await chat(open.baseUrl, hi);
    expect(Object.keys(limits(unlimited.headers))).toEqual([]);
  });

  it('limits tokens per minute', async () => {
    const srv = await start(new RecordingOrchestrator({ answer: () => 'word '.repeat(200) }), {
      CORTEX_RATE_LIMIT_TPM: '150',
    });
    await awayFromMinuteBoundary();
    expect((await chat(srv.baseUrl, hi)).status).toBe(200); // spends ~200 completion tokens
    const limited = await chat(srv.baseUrl, hi);
    expect(limited.status).toBe(429);
    expect(limited.body.error.type).toBe('tokens');
    expect(limited.headers.get('x-ratelimit-limit-tokens')).toBe('150');
    expect(limited.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset-tokens')).toBe(`${limited.headers.get('retry-after')}s`);
    expect(limited.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });

  it('holds across two replicas sharing PostgreSQL', async () => {
    const schema = await freshSchema('rl');
    try {
      const env = { CORTEX_DATABASE_URL: schema.url, CORTEX_API_KEYS: 'shared', CORTEX_RATE_LIMIT_RPM: '4' };
      const a = await start(new RecordingOrchestrator(), env, {}, { schema: schema.schema });
      const b = await start(new RecordingOrchestrator(), env, {}, { schema: schema.schema });
      await awayFromMinuteBoundary();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await chat(i % 2 ? b.baseUrl : a.baseUrl, hi, key('shared'))).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await schema.drop().catch(() => {});
    }
  });
});

describe('run limits', () => {
  it('queues runs beyond the concurrency limit and refuses them with 429 after the wait', async () => {
    const srv = await start(new RecordingOrchestrator({ answer: () => 'slow answer here', delayMs: 150 }), {
      CORTEX_MAX_CONCURRENT_RUNS: '1',
      CORTEX_QUEUE_TIMEOUT_SECONDS: '0.1',
    });
    const results = await Promise.all([chat(srv.baseUrl, hi), chat(srv.baseUrl, hi)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 429]);
    expect(results.find((r) => r.status === 429)!.body.error.code).toBe('too_many_concurrent_runs');
  });

  it("gives each API key at most its share of the run slots: one key's burst cannot lock the others out", async () => {
    // RecordingOrchestrator streams the answer word by word, delayMs apart: about 1 s per run.
    const srv = await start(new RecordingOrchestrator({ answer: () => 'slow answer to hold a slot', delayMs: 200 }), {
      CORTEX_API_KEYS: 'busy,other',
      CORTEX_MAX_CONCURRENT_RUNS: '4',
      CORTEX_QUEUE_TIMEOUT_SECONDS: '0.3',
    });
    const burst = Promise.all(Array.from({ length: 4 }, () => chat(srv.baseUrl, hi, key('busy'))));
    await new Promise((r) => setTimeout(r, 100)); // the burst has taken what it may
    const other = await chat(srv.baseUrl, hi, key('other'));
    expect(other.status).toBe(200);
    const statuses = (await burst).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]); // its share: half of the 4 slots
    const refused = (await burst).find((r) => r.status === 429)!;
    expect(refused.body.error).toMatchObject({ code: 'too_many_concurrent_runs', type: 'rate_limit_error' });
    expect(refused.body.error.message).toContain('This API key already has 2 runs in progress');
    // Without keys (one namespace), a request may use every slot.
    const open = await start(new RecordingOrchestrator({ answer: () => 'slow answer', delayMs: 100 }), {
      CORTEX_MAX_CONCURRENT_RUNS: '4',
      CORTEX_QUEUE_TIMEOUT_SECONDS: '0.1',
    });
    const all = await Promise.all(Array.from({ length: 4 }, () => chat(open.baseUrl, hi)));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('stops a run that exceeds its time limit with a 504, and stores what it had', async () => {
    const srv = await start(
      new RecordingOrchestrator({ answer: () => 'a very slow answer that will not finish in time', delayMs: 200 }),
      { CORTEX_MAX_RUN_SECONDS: '1' },
    );
    const r = await chat(srv.baseUrl, { ...hi, conversation_id: 'too-slow' });
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('run_timeout');
    const messages = await srv.store.getMessages('too-slow');
    expect(messages[0].content).toBe('hi');
    expect(messages[1].content.length).toBeGreaterThan(0);
    expect(await srv.store.getRun(messages[1].runId!, '')).toMatchObject({ status: 'failed' });
    // The error names the stopped run.
    expect(r.body.error.run_id).toBe(messages[1].runId);
    expect(r.headers.get('x-cortex-run-id')).toBe(messages[1].runId);
  });
});
