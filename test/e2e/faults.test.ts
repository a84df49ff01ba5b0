// Upstream faults injected by the in-suite upstream: every one ends in a bounded number of
// attempts and either an answer or a clean OpenAI error, never a hung client or a dead process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startMockUpstream, type MockUpstream, type Reply } from '../support/mock-openai-upstream.ts';

let upstream: MockUpstream;
let dataDir: string;
const apps: App[] = [];
let plain: OpenAI; // primary model only
let withFallback: OpenAI; // primary, then the fallback model
let plainUrl: string;
let impatient: OpenAI; // a 1 s limit per upstream call

async function start(env: Record<string, string>): Promise<string> {
  const app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:primary',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SSE_KEEPALIVE_SECONDS: '0',
      CORTEX_LLM_MAX_RETRIES: '2',
      CORTEX_LLM_TIMEOUT_SECONDS: '15',
      ...env,
    }),
  );
  apps.push(app);
  return app.server.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ text: 'unused' }));
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-faults-'));
  plainUrl = await start({});
  plain = new OpenAI({ baseURL: `${plainUrl}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
  impatient = new OpenAI({
    baseURL: `${await start({ CORTEX_LLM_TIMEOUT_SECONDS: '1' })}/v1`,
    apiKey: 'x',
    maxRetries: 0,
    timeout: 20_000,
  });
  withFallback = new OpenAI({
    baseURL: `${await start({ CORTEX_FALLBACK_MODEL: 'openai:backup' })}/v1`,
    apiKey: 'x',
    maxRetries: 0,
    timeout: 20_000,
  });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  upstream.requests.length = 0;
});

/** Replies in order for the primary model; the backup model always answers. */
function script(...replies: Reply[]) {
  const queue = [...replies];
  upstream.setResponder((req) =>
    req.body.model === 'backup'
      ? { text: 'Answer from the fallback model.' }
      : queue.length > 1
        ? queue.shift()!
        : queue[0],
  );
}

const ask = (client: OpenAI, stream = false) =>
  client.chat.completions.create({
    model: 'cortex-flow',
    messages: [{ role: 'user', content: 'Hello' }],
    stream,
  } as any);
const primaryCalls = () => upstream.requests.filter((r) => r.body.model === 'primary').length;

describe('upstream faults', () => {
  it('429 with Retry-After: retried, then answered', async () => {
    script({ status: 429, headers: { 'retry-after-ms': '10' } }, { text: 'Fine now.' });
    const r: any = await ask(plain);
    expect(r.choices[0].message.content).toBe('Fine now.');
    expect(primaryCalls()).toBe(2);
  });

  it('429 that persists: bounded retries, then a 429 rate_limit error', async () => {
    script({ status: 429, headers: { 'retry-after-ms': '5' } });
    const err: any = await ask(plain).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.error).toMatchObject({ type: 'rate_limit_error', code: 'upstream_rate_limited' });
    expect(err.headers.get('retry-after')).toBe('1'); // the upstream's wait, in whole seconds
    expect(primaryCalls()).toBe(3); // 1 + CORTEX_LLM_MAX_RETRIES
  });

  it('5xx that persists: bounded retries, then a 502', async () => {
    script({ status: 500, headers: { 'retry-after-ms': '5' } });
    const err: any = await ask(plain).catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
    expect(primaryCalls()).toBe(3);
  });

  // The AI SDK waits 2 s before its first retry of a connection error.
  it('a connection reset is retried', { timeout: 20_000 }, async () => {
    script({ fault: 'reset' }, { text: 'After the reset.' });
    const r: any = await ask(plain);
    expect(r.choices[0].message.content).toBe('After the reset.');
    expect(primaryCalls()).toBe(2);
    // Traced with the SDK's own backoff (no Retry-After to honour) and no status (none came back).
    const run: any = await (await fetch(`${plainUrl}/v1/runs/${r.metadata.run_id}`)).json();
    const retries = run.events.filter((e: any) => e.type === 'upstream_retry');
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, code: 'upstream_unreachable', delayMs: 2000 })]);
    expect(retries[0].status).toBeUndefined();
  });

  it('an upstream that never answers: the call times out with a 504', async () => {
    script({ fault: 'hang' });
    const err: any = await ask(impatient).catch((e) => e);
    expect(err.status).toBe(504);
    expect(err.error.code).toBe('upstream_timeout');
  });

  it('a malformed stream ends in a clean 502', async () => {
    script({ fault: 'malformed' });
    const err: any = await ask(plain).catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error.type).toBe('server_error');
  });

  it('a 200 that is an HTML page is named for what it is, after its retries', async () => {
    script({ fault: 'html' });
    const err: any = await ask(plain).catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error.code).toBe('upstream_incomplete');
    expect(err.error.message).toBe(
      'The upstream model sent an answer that could not be read. It answered with text/html, not a stream of chat completion chunks.',
    );
    expect(primaryCalls()).toBe(3);
  });

  it('a truncated stream reaches a streaming client as an error frame, not a hang', async () => {
    script({ fault: 'truncate', text: 'Partial ' });
    const stream: any = await ask(plain, true);
    let content = '';
    const err = await (async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    // Named for what happened, not "failed with status 200".
    expect(String(err.message)).toMatch(/stream ended before the answer was complete/);
    expect(['', 'Partial ']).toContain(content); // never the same words twice from a retry
  });

  it('falls back to CORTEX_FALLBACK_MODEL once the primary has failed its retries too', async () => {
    script({ status: 503, headers: { 'retry-after-ms': '10' } });
    const r: any = await ask(withFallback);
    expect(r.choices[0].message.content).toBe('Answer from the fallback model.');
    // CORTEX_LLM_MAX_RETRIES=2: the primary is asked three times, the fallback once.
    expect(upstream.requests.map((q) => q.body.model)).toEqual(['primary', 'primary', 'primary', 'backup']);
    // The trace says so: two retries after their waits, then the fallback in place of the third.
    const run: any = await (await fetch(`${withFallback.baseURL}/runs/${r.metadata.run_id}`)).json();
    const retry = { type: 'upstream_retry', agent: 'supervisor', status: 503, code: 'upstream_error' };
    expect(run.events.filter((e: any) => e.type === 'upstream_retry')).toEqual([
      expect.objectContaining({ ...retry, attempt: 1, delayMs: 10 }),
      expect.objectContaining({ ...retry, attempt: 2, delayMs: 10 }),
      expect.objectContaining({ ...retry, attempt: 3, delayMs: 0, fallback: 'openai:backup' }),
    ]);
  });

  it('does not fall back for a failure that a retry of the primary mends', async () => {
    script({ status: 503, headers: { 'retry-after-ms': '10' } }, { text: 'Fine now.' });
    const r: any = await ask(withFallback);
    expect(r.choices[0].message.content).toBe('Fine now.');
    expect(upstream.requests.map((q) => q.body.model)).toEqual(['primary', 'primary']);
  });

  it('falls back at once for a failure no retry mends (the model is unknown upstream)', async () => {
    script({ status: 404, error: { message: 'The model `primary` does not exist' } });
    const r: any = await ask(withFallback);
    expect(r.choices[0].message.content).toBe('Answer from the fallback model.');
    expect(upstream.requests.map((q) => q.body.model)).toEqual(['primary', 'backup']);
  });

  it('does not fall back on a 400 (the request itself is wrong)', async () => {
    script({ status: 400, error: { message: 'bad request' } });
    const err: any = await ask(withFallback).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests.map((q) => q.body.model)).toEqual(['primary']);
  });

  it('is still up and healthy after all of that', async () => {
    expect((await fetch(`${plainUrl}/health`)).status).toBe(200);
    script({ text: 'Still here.' });
    expect(((await ask(plain)) as any).choices[0].message.content).toBe('Still here.');
  });
});
