// What an operator relies on: /ready follows the store, /metrics in Prometheus format, a request
// id on every response and log line, and no secret in the logs.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { StoredMemory } from '../../src/conversation/stored.ts';
import { assembleDeps } from '../../src/http/deps.ts';
import { buildServer } from '../../src/http/server.ts';
import { createStore } from '../../src/store/create-store.ts';
import { TokenCounter } from '../../src/tokens.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(new ScriptedOrchestrator(), { CORTEX_API_KEYS: 'sk-ops-secret-key' });
});
afterAll(() => srv.close());
const auth = { authorization: 'Bearer sk-ops-secret-key' };

describe('operations', () => {
  it('exposes Prometheus metrics: requests by route and status, latency, time to first token, upstream tokens by agent, active runs', async () => {
    await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, auth);
    await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }], stream: true }, auth).catch(() => {});
    await fetch(`${srv.baseUrl}/v1/models`); // 401
    const res = await fetch(`${srv.baseUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /cortex_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/cortex_http_requests_total\{route="\/v1\/models",method="GET",status="401"\} 1/);
    expect(text).toMatch(/cortex_http_request_duration_seconds_bucket\{le="0.1",route="\/v1\/chat\/completions"\}/);
    expect(text).toMatch(/cortex_time_to_first_token_seconds_count\{model="cortex-flow"\} [1-9]/);
    expect(text).toMatch(/cortex_llm_tokens_total\{agent="researcher",model="mock:model",direction="input"\} [1-9]/);
    expect(text).toContain('cortex_active_runs 0');
    expect(text).toContain('cortex_active_streams 0');
  });

  it("echoes a request id on every response, keeping a caller's own", async () => {
    const generated = await fetch(`${srv.baseUrl}/health`);
    expect(generated.headers.get('x-request-id')).toMatch(/^req_[0-9a-f-]{36}$/);
    const given = await fetch(`${srv.baseUrl}/v1/models`, { headers: { 'x-request-id': 'trace-abc.123', ...auth } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const hostile = await fetch(`${srv.baseUrl}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('is ready while the store answers, and says 503 when it does not', async () => {
    expect(await (await fetch(`${srv.baseUrl}/ready`)).json()).toEqual({ status: 'ready' });
    const dir = mkdtempSync(join(tmpdir(), 'ready-'));
    const config = loadConfig({ CORTEX_DATA_DIR: dir, CORTEX_LOG_LEVEL: 'silent' });
    const store = await createStore(config);
    const tokens = new TokenCounter('gpt-4');
    const app = buildServer(
      assembleDeps({
        config,
        orchestrator: new ScriptedOrchestrator(),
        memory: new StoredMemory(store, tokens, 1000),
        tokens,
        version: 't',
        store,
      }),
    );
    await store.close(); // the database goes away
    const res = await app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('store_unreachable');
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes JSON logs with the request id on every line and never the key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    const config = loadConfig({ CORTEX_DATA_DIR: dir, CORTEX_LOG_LEVEL: 'info', CORTEX_API_KEYS: 'sk-never-log-me' });
    const store = await createStore(config);
    const tokens = new TokenCounter('gpt-4');
    const app = buildServer(
      assembleDeps({
        config,
        orchestrator: new ScriptedOrchestrator(),
        memory: new StoredMemory(store, tokens, 1000),
        tokens,
        version: 't',
        store,
      }),
      { logStream: sink },
    );
    await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-never-log-me', 'x-request-id': 'req-log-test' },
      payload: { model: 'cortex-flow', messages: [{ role: 'user', content: 'hi' }] },
    });
    await app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: 'Bearer sk-wrong-key-also-secret' },
    });
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === 'req-log-test');
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) {
      expect(l).not.toContain('sk-never-log-me');
      expect(l).not.toContain('sk-wrong-key-also-secret');
    }
  });
});

describe('CORS', () => {
  it('is off by default and answers configured origins only', async () => {
    const off = await fetch(`${srv.baseUrl}/health`, { headers: { origin: 'https://app.example' } });
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
    const on = await startTestServer(new ScriptedOrchestrator(), { CORTEX_CORS_ORIGINS: 'https://app.example' });
    try {
      const allowed = await fetch(`${on.baseUrl}/v1/models`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const other = await fetch(`${on.baseUrl}/v1/models`, { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await on.close();
    }
  });
});
