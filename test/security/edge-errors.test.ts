// Every error a client can get is OpenAI's envelope: the router's (a malformed URL), Node's parser's
// (a malformed request line, headers too large), a header value Node refuses, a request during
// shutdown; a store outage is a 503 (as /ready says), not a 500; CORS allows the API's methods.
import net from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { StoredMemory } from '../../src/conversation/stored.ts';
import { assembleDeps } from '../../src/http/deps.ts';
import { buildServer } from '../../src/http/server.ts';
import { createStore } from '../../src/store/create-store.ts';
import { TokenCounter } from '../../src/tokens.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { freshSchema } from '../support/postgres.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { exchange, isErrorEnvelope, parseResponses, portOf, request } from './raw-http.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(new RecordingOrchestrator());
});
afterAll(() => srv.close());

describe('errors outside the routes', () => {
  it('answers a malformed URL (bad percent-encoding) 400 in the envelope', async () => {
    for (const target of ['/%zz', '/v1/conversations/%E4%B8', '/v1/%']) {
      const { response } = await exchange(portOf(srv.baseUrl), request('GET', target));
      expect(response?.status, target).toBe(400);
      expect(isErrorEnvelope(response!.body), response!.body).toBe(true);
    }
  });

  it('answers a header larger than the limit 431 in the envelope', async () => {
    const { response, closed } = await exchange(
      portOf(srv.baseUrl),
      request('GET', '/v1/models', { 'X-Huge': 'h'.repeat(20_000) }),
    );
    expect(response?.status).toBe(431);
    expect(isErrorEnvelope(response!.body)).toBe(true);
    expect(response!.headers['x-request-id']).toMatch(/^req_[0-9a-f-]{36}$/);
    expect(closed).toBe(true);
  });

  it('answers an over-long URL in the envelope', async () => {
    const { response } = await exchange(portOf(srv.baseUrl), request('GET', `/v1/conversations/${'u'.repeat(20_000)}`));
    expect(response?.status).toBe(431);
    expect(isErrorEnvelope(response!.body)).toBe(true);
  });

  it.each([
    'GARBAGE\r\n\r\n',
    'GET /v1/models HTTP/9.9\r\nHost: x\r\n\r\n',
    'GET /v1 models HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /v1/models HTTP/1.1\r\nBad Header Line\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
    '\u0000\u0001\u0002\r\n\r\n',
  ])('answers the malformed request %j 400 in the envelope and closes', async (raw) => {
    const { response, closed } = await exchange(portOf(srv.baseUrl), raw);
    expect(response?.status).toBe(400);
    expect(isErrorEnvelope(response!.body)).toBe(true);
    expect(response!.headers['x-request-id']).toMatch(/^req_/);
    expect(closed).toBe(true);
  });

  it.each([
    ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
    ['GET /health HTTP/1.1\r\nHost: x\r\nExpect: telepathy\r\nConnection: close\r\n\r\n', 417],
    ['GET /health HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
  ])('answers what Node would refuse without a body (%j) in the envelope', async (raw, status) => {
    const { response } = await exchange(portOf(srv.baseUrl), raw);
    expect(response?.status).toBe(status);
    expect(isErrorEnvelope(response!.body), response?.body).toBe(true);
    expect(response!.headers['x-request-id']).toMatch(/^req_/);
  });

  it('answers in the envelope when a response header value is one Node refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-header-'));
    const config = loadConfig({ CORTEX_DATA_DIR: dir, CORTEX_LOG_LEVEL: 'silent' });
    const store = await createStore(config);
    const tokens = new TokenCounter('gpt-4');
    const app = buildServer(
      assembleDeps({
        config,
        orchestrator: new RecordingOrchestrator(),
        memory: new StoredMemory(store, tokens, 1000),
        tokens,
        version: 't',
        store,
      }),
    );
    // A route that (wrongly) copies a value Node cannot send into a header.
    app.get('/v1/echo-header', async (_request, reply) => {
      reply.header('x-echo', 'conv_\u4e2d');
      return { ok: true };
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/echo-header' });
      expect(res.statusCode).toBe(500);
      expect(isErrorEnvelope(res.body)).toBe(true);
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a request arriving during shutdown with a 503 in the envelope', async () => {
    const slow = await startTestServer(new RecordingOrchestrator({ answer: () => 'slow '.repeat(10), delayMs: 100 }));
    // One keep-alive connection: a run in flight, then a second request sent once shutdown began.
    const socket = net.connect(portOf(slow.baseUrl), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    const ended = new Promise((r) => socket.on('close', r));
    const body = JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'hi' }] });
    socket.write(request('POST', '/v1/chat/completions', { Connection: 'keep-alive' }, body));
    await new Promise((r) => setTimeout(r, 200));
    const closing = slow.server.close();
    await new Promise((r) => setTimeout(r, 50));
    socket.write(request('GET', '/v1/models', { Connection: 'keep-alive' }));
    await ended;
    const [first, late] = parseResponses(Buffer.concat(chunks));
    expect(first.status).toBe(200);
    expect(late.status).toBe(503);
    expect(isErrorEnvelope(late.body)).toBe(true);
    expect(JSON.parse(late.body).error.code).toBe('server_shutting_down');
    expect(late.headers['retry-after']).toBe('1');
    await closing;
    await slow.close(); // the store and the data directory
  });
});

describe('a store outage', () => {
  async function expectOutageAnswers(baseUrl: string) {
    expect((await fetch(`${baseUrl}/ready`)).status).toBe(503);
    for (const [method, path, body] of [
      ['GET', '/v1/conversations', undefined],
      ['GET', '/v1/conversations/conv_1', undefined],
      ['DELETE', '/v1/conversations/conv_1', undefined],
      [
        'POST',
        '/v1/chat/completions',
        JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'x' }] }),
      ],
    ] as const) {
      const res = await fetch(`${baseUrl}${path}`, { method, body, headers: { 'content-type': 'application/json' } });
      expect(res.status, `${method} ${path}`).toBe(503);
      const text = await res.text();
      expect(isErrorEnvelope(text), text).toBe(true);
      expect(JSON.parse(text).error.code).toBe('store_unreachable');
      // The SDKs wait as long as Retry-After says before retrying (their own backoff is shorter).
      expect(res.headers.get('retry-after'), `${method} ${path}`).toBe('2');
    }
  }

  it('answers 503 store_unreachable on API routes with SQLite, as /ready does', async () => {
    const s = await startTestServer(new RecordingOrchestrator());
    try {
      await s.store.close(); // the database goes away
      await expectOutageAnswers(s.baseUrl);
    } finally {
      await s.server.close();
    }
  });

  it('answers 503 store_unreachable on API routes when PostgreSQL becomes unreachable', async () => {
    const schema = await freshSchema('outage');
    // The server reaches PostgreSQL through a TCP relay the test can cut, as a network failure would.
    const links = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(5432, '127.0.0.1');
      links.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const relayUrl = new URL(schema.url);
    relayUrl.host = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    const s = await startTestServer(
      new RecordingOrchestrator(),
      { CORTEX_DATABASE_URL: relayUrl.toString() },
      {},
      { schema: schema.schema },
    );
    try {
      expect((await chat(s.baseUrl, { messages: [{ role: 'user', content: 'before' }] })).status).toBe(200);
      relay.close();
      links.forEach((l) => l.destroy());
      await expectOutageAnswers(s.baseUrl);
    } finally {
      await s.server.close();
      await s.store.close().catch(() => {});
      await schema.drop().catch(() => {});
    }
  });
});

describe('a busy store', () => {
  it('answers 503 store_busy with Retry-After while another writer holds the SQLite database, then serves again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cortex-busy-'));
    const s = await startTestServer(new RecordingOrchestrator(), { CORTEX_DATA_DIR: dir });
    // Another process's long write (a backup, an operator's sqlite3 shell) holds the write lock.
    const other = new DatabaseSync(join(dir, 'cortex.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const hi = { messages: [{ role: 'user', content: 'hi' }] };
      const refused = await chat(s.baseUrl, hi); // after SQLite's busy_timeout (5 s)
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'store_busy', type: 'service_unavailable' });
      expect(refused.headers.get('retry-after')).toBe('1');
      other.exec('ROLLBACK');
      expect((await chat(s.baseUrl, hi)).status).toBe(200);
    } finally {
      other.close();
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CORS', () => {
  it('lets a browser preflight DELETE without a key, and exposes the ids a client reads', async () => {
    const s = await startTestServer(new RecordingOrchestrator(), {
      CORTEX_CORS_ORIGINS: 'https://app.example',
      CORTEX_API_KEYS: 'sk-cors',
    });
    try {
      const preflight = await fetch(`${s.baseUrl}/v1/conversations/conv_1`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'DELETE',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.status).toBe(204);
      const methods = preflight.headers.get('access-control-allow-methods')!.split(/,\s*/);
      expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE']));
      // The preflight is public; the request itself is not, and the browser can read its 401.
      const refused = await fetch(`${s.baseUrl}/v1/conversations/conv_1`, {
        method: 'DELETE',
        headers: { origin: 'https://app.example' },
      });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example');

      const answered = await fetch(`${s.baseUrl}/v1/models`, {
        headers: { origin: 'https://app.example', authorization: 'Bearer sk-cors' },
      });
      const exposed = answered.headers.get('access-control-expose-headers')!.split(/,\s*/);
      // (mcp-session-id: a browser's MCP client must read it from the initialize answer.)
      expect(exposed).toEqual(
        expect.arrayContaining(['x-request-id', 'x-conversation-id', 'x-cortex-run-id', 'mcp-session-id']),
      );
    } finally {
      await s.close();
    }
  });
});
