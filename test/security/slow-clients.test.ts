// Slow and greedy clients (slowloris): a request must arrive within CORTEX_REQUEST_TIMEOUT_SECONDS
// (then 408 in the envelope and the connection is closed), open connections are capped, and a
// request without a key is refused before its body is read. Answers are not limited: a stream or
// a slow answer that lasts longer than the request limit still completes.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { isErrorEnvelope, parseResponse, portOf, request } from './raw-http.ts';

const KEY = 'sk-slow-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
let srv: TestServer;
beforeAll(async () => {
  // 40 deltas 75 ms apart: each answer takes about 3 s, three times the request limit.
  srv = await startTestServer(new RecordingOrchestrator({ answer: () => 'abcd'.repeat(40), delayMs: 75 }), {
    CORTEX_API_KEYS: KEY,
    CORTEX_REQUEST_TIMEOUT_SECONDS: '1',
  });
});
afterAll(() => srv.close());

/** Opens a connection, writes `first`, then `drip` every 200 ms until the server closes it. */
function slowClient(port: number, first: string, drip: string, giveUpMs: number) {
  return new Promise<{ closed: boolean; raw: Buffer }>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.write(first);
    const dripping = setInterval(() => socket.writable && socket.write(drip), 200);
    const done = (closed: boolean) => {
      clearInterval(dripping);
      clearTimeout(timer);
      socket.destroy();
      resolve({ closed, raw: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => done(false), giveUpMs);
    socket.on('close', () => done(true));
  });
}

describe('slow requests', () => {
  it('closes a connection whose headers trickle in, with a 408 in the envelope', async () => {
    const { closed, raw } = await slowClient(
      portOf(srv.baseUrl),
      'GET /v1/models HTTP/1.1\r\nHost: x\r\n',
      'X-Slow: 1\r\n',
      10_000,
    );
    expect(closed).toBe(true);
    const response = parseResponse(raw);
    expect(response?.status).toBe(408);
    expect(isErrorEnvelope(response!.body)).toBe(true);
    expect(response!.headers['x-request-id']).toMatch(/^req_[0-9a-f-]{36}$/);
  });

  it('closes a connection whose body trickles in, even with a valid key', async () => {
    const { closed, raw } = await slowClient(
      portOf(srv.baseUrl),
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":',
      ' ',
      10_000,
    );
    expect(closed).toBe(true);
    expect(parseResponse(raw)?.status).toBe(408);
  });

  it('closes a connection that sends nothing at all', async () => {
    const { closed } = await slowClient(portOf(srv.baseUrl), '', '', 10_000);
    expect(closed).toBe(true);
  });

  it('refuses a request without a key before reading its body, and closes the connection', async () => {
    // The default request limit (30 s) is far away: what closes the connection is the refusal.
    const patient = await startTestServer(new RecordingOrchestrator(), { CORTEX_API_KEYS: KEY });
    try {
      // Headers announce a large body that never comes: the answer must not wait for it.
      const { closed, raw } = await slowClient(
        portOf(patient.baseUrl),
        'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 50000000\r\n\r\n{',
        '',
        10_000,
      );
      expect(closed).toBe(true);
      const response = parseResponse(raw);
      expect(response?.status).toBe(401);
      expect(response!.headers.connection).toBe('close');
      expect(isErrorEnvelope(response!.body)).toBe(true);
    } finally {
      await patient.close();
    }
  });
});

describe('long answers', () => {
  it('streams an answer that lasts longer than the request limit to its end', async () => {
    const res = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: 'cortex-flow', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const content = text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(content).toBe('abcd'.repeat(40));
  });

  it('answers a non-streamed request that takes longer than the request limit', async () => {
    const r = await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, auth);
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toBe('abcd'.repeat(40));
  });
});

describe('connection cap', () => {
  /** A connection that sent `data` and stays open; resolves once the server answered it, if it does. */
  const hold = (port: number, data: string) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(data);
    return { socket, answered, closed };
  };
  /** A new connection asking for /health: its response, or '' if the server closed it at once. */
  const probe = (port: number) =>
    new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('error', () => {});
      s.on('close', () => resolve(data));
      s.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      setTimeout(() => s.destroy(), 5000);
    });

  it('closes connections beyond CORTEX_MAX_CONNECTIONS at once while all serve requests, and accepts again when one leaves', async () => {
    // Each answer streams word by word, 400 ms apart: the three requests keep their connections busy.
    const team = new RecordingOrchestrator({ answer: () => 'one two three four five', delayMs: 400 });
    const capped = await startTestServer(team, { CORTEX_MAX_CONNECTIONS: '3' });
    const port = portOf(capped.baseUrl);
    const body = JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'hi' }] });
    const busy = request('POST', '/v1/chat/completions', { 'Content-Type': 'application/json' }, body);
    const held: ReturnType<typeof hold>[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        held.push(hold(port, busy));
        await waitFor(() => team.inputs.length === i + 1, 5_000, 'the request to start its run');
      }
      expect(await probe(port)).toBe('');
      await held[0].answered; // one request done: its connection closes (Connection: close)
      await held[0].closed;
      expect(await probe(port)).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      held.forEach((h) => h.socket.destroy());
      await capped.close();
    }
  });

  it('closes idle keep-alive connections near the cap: a client leaving many idle cannot lock others out', async () => {
    const capped = await startTestServer(new RecordingOrchestrator(), { CORTEX_MAX_CONNECTIONS: '10' });
    const port = portOf(capped.baseUrl);
    const held: ReturnType<typeof hold>[] = [];
    try {
      // Ten connections, each served once and then kept alive, idle (a keep-alive lasts 72 s).
      for (let i = 0; i < 10; i++) {
        const h = hold(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        held.push(h);
        await Promise.race([h.answered, h.closed]);
      }
      expect(await probe(port)).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      held.forEach((h) => h.socket.destroy());
      await capped.close();
    }
  });
});
