// A server without keys (the default until one exists) is open to anyone who reaches its port, but
// not to the web pages its operator's browser opens: another site's page cannot start a run with a
// "simple" cross-site POST (no preflight), and a page under a domain rebound to 127.0.0.1 cannot
// read conversations or open an MCP session. The console (same origin, loopback or IP), listed
// CORS origins and programs (no Origin header) are served as before. And with keys, a request
// carrying two Authorization headers is refused: Node reads the first, a proxy may check the last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { exchange, isErrorEnvelope, portOf, request } from './raw-http.ts';

const SECRET = 'the launch code is 7310';
const chatBody = JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'forged' }] });
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'page', version: '1' } },
});

describe('a server without keys, called by web pages', () => {
  let srv: TestServer;
  let orchestrator: RecordingOrchestrator;
  let port: number;
  beforeAll(async () => {
    orchestrator = new RecordingOrchestrator();
    srv = await startTestServer(orchestrator, { CORTEX_CORS_ORIGINS: 'https://app.example' });
    port = portOf(srv.baseUrl);
    const r = await chat(srv.baseUrl, {
      conversation_id: 'conv_secret',
      messages: [{ role: 'user', content: SECRET }],
    });
    expect(r.status).toBe(200);
  });
  afterAll(() => srv.close());

  const send = async (method: string, target: string, headers: Record<string, string>, body = '') =>
    (await exchange(port, request(method, target, headers, body))).response!;

  it("refuses another site's text/plain POST (sent without a preflight) and starts no run", async () => {
    const runsBefore = orchestrator.inputs.length;
    const r = await send(
      'POST',
      '/v1/chat/completions',
      {
        Host: `127.0.0.1:${port}`,
        Origin: 'https://evil.example',
        'Sec-Fetch-Site': 'cross-site',
        'Content-Type': 'text/plain;charset=UTF-8',
      },
      chatBody,
    );
    expect(r.status).toBe(403);
    expect(isErrorEnvelope(r.body)).toBe(true);
    expect(JSON.parse(r.body).error.code).toBe('origin_not_allowed');
    // A form's POST from an opaque origin ("null") and a fetch marked cross-site without Origin.
    const pages: Record<string, string>[] = [
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of pages)
      expect(
        (await send('POST', '/v1/chat/completions', { Host: `127.0.0.1:${port}`, ...headers }, chatBody)).status,
      ).toBe(403);
    expect(orchestrator.inputs.length).toBe(runsBefore);
  });

  it('refuses a page reached under a rebound domain name: no conversation read, no MCP session', async () => {
    const host = `rebind.evil.example:${port}`;
    for (const target of ['/v1/conversations', '/v1/conversations/conv_secret']) {
      const r = await send('GET', target, { Host: host, 'Sec-Fetch-Site': 'same-origin' });
      expect(r.status, target).toBe(403);
      expect(r.body).not.toContain(SECRET);
    }
    const mcp = await send(
      'POST',
      '/mcp',
      {
        Host: host,
        Origin: `http://${host}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      initialize,
    );
    expect(mcp.status).toBe(403);
    expect(mcp.headers['mcp-session-id']).toBeUndefined();
  });

  it('serves the console (its own origin at a loopback name or IP), listed origins and programs', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const r = await send('GET', '/v1/conversations', {
        Host: host,
        Origin: `http://${host}`,
        'Sec-Fetch-Site': 'same-origin',
      });
      expect(r.status, host).toBe(200);
      expect(r.body).toContain('conv_secret');
    }
    const listed = await send(
      'POST',
      '/v1/chat/completions',
      { Host: `127.0.0.1:${port}`, Origin: 'https://app.example', 'Sec-Fetch-Site': 'cross-site' },
      chatBody,
    );
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe('https://app.example');
    // A program (no Origin, no Sec-Fetch-Site) behind a proxy that keeps its public host name.
    const program = await send('GET', '/v1/conversations', { Host: 'api.example.com' });
    expect(program.status).toBe(200);
    // The console's files are public and hold no data: served whatever the page.
    expect((await send('GET', '/health', { Host: 'rebind.evil.example', 'Sec-Fetch-Site': 'cross-site' })).status).toBe(
      200,
    );
  });
});

describe('a server with keys', () => {
  const KEY = 'sk-dup-owner-0123456789';
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(new RecordingOrchestrator(), { CORTEX_API_KEYS: KEY });
  });
  afterAll(() => srv.close());

  const twoKeys = (first: string, second: string) =>
    `GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: ${first}\r\nauthorization: ${second}\r\n\r\n`;

  it('refuses a request carrying two Authorization headers, whichever comes first', async () => {
    for (const raw of [twoKeys(`Bearer ${KEY}`, 'Bearer sk-other'), twoKeys('Bearer sk-other', `Bearer ${KEY}`)]) {
      const { response } = await exchange(portOf(srv.baseUrl), raw);
      expect(response?.status).toBe(401);
      expect(JSON.parse(response!.body).error.code).toBe('invalid_api_key');
      expect(response!.body).not.toContain(KEY);
    }
    const one = await fetch(`${srv.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(one.status).toBe(200);
  });

  it('serves a page of another origin that holds a key (CORS decides what it may read)', async () => {
    const r = await fetch(`${srv.baseUrl}/v1/models`, {
      headers: { authorization: `Bearer ${KEY}`, origin: 'https://evil.example' },
    });
    expect(r.status).toBe(200);
  });
});
