// The keep-alive fetch under the OpenAI-style providers (src/llm/http-fetch.ts): the parts of fetch
// the providers and the run rely on. A body streams as it arrives, a connection failure reads as
// fetch's own `TypeError('fetch failed')` with the cause, and both a cancelled body and an aborted
// signal close the connection, so that stopping a run reaches the upstream.
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { keepAliveFetch } from '../../src/llm/http-fetch.ts';

const held: ServerResponse[] = [];
let closed = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    res.on('close', () => closed++);
    if (req.url === '/echo') return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    // /stream: one part now, the rest never (until the client goes away).
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    held.push(res);
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(() => {
  for (const r of held) r.destroy();
  server.close();
});

const f = keepAliveFetch();
const waitFor = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  return ok();
};

describe('keepAliveFetch', () => {
  it('sends the body and headers and answers with status, headers and body', async () => {
    const res = await f(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ a: 1 });
  });

  it('streams the body as it arrives, and a cancelled body closes the connection', async () => {
    const before = closed;
    const res = await f(`${base}/stream`, { method: 'POST', body: '{}' });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    await reader.cancel();
    expect(await waitFor(() => closed > before)).toBe(true);
  });

  it('aborts a streaming answer when the signal fires, and the upstream sees the connection close', async () => {
    const before = closed;
    const stop = new AbortController();
    const res = await f(`${base}/stream`, { method: 'POST', body: '{}', signal: stop.signal });
    const reader = res.body!.getReader();
    await reader.read();
    stop.abort(new Error('client left'));
    await expect(reader.read()).rejects.toBeDefined();
    expect(await waitFor(() => closed > before)).toBe(true);
  });

  it('reports a connection failure as fetch does: TypeError "fetch failed" with the cause', async () => {
    const err = await f('http://127.0.0.1:9/x', { method: 'POST', body: '{}' }).catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect(String(err.cause?.message)).toMatch(/ECONNREFUSED/);
  });
});
