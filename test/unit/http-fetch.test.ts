// The keep-alive pool under the OpenAI-style providers (src/llm/http-fetch.ts): the parts of fetch
// the providers and the run rely on. A body streams as it arrives, a connection failure reads as
// fetch's own `TypeError('fetch failed')` with the cause, and both a cancelled body and an aborted
// signal close the connection, so that stopping a run reaches the upstream. The same holds for the
// pool's bare `send()` (src/llm/upstream-answer.ts), which the lean OpenAI-wire path reads and the
// fetch is built on.
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { keepAliveFetch, keepAlivePool } from '../../src/llm/http-fetch.ts';
import type { UpstreamAnswer } from '../../src/llm/upstream-answer.ts';

const held: ServerResponse[] = [];
let closed = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    res.on('close', () => closed++);
    if (req.url === '/echo') return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (req.url === '/empty') return res.writeHead(204, { 'x-method': req.method ?? '' }).end();
    if (req.url === '/headers') {
      // The request as the upstream saw it, with a repeated header and a body split inside a character.
      res.writeHead(201, [
        ['content-type', 'application/json'],
        ['x-seen', 'one'],
        ['x-seen', 'two'],
      ]);
      const text = Buffer.from(
        JSON.stringify({ body, length: req.headers['content-length'], key: req.headers['x-key'], word: 'naïve ✓' }),
      );
      const cut = text.indexOf('✓') + 1;
      res.write(text.subarray(0, cut));
      return setTimeout(() => res.end(text.subarray(cut)), 20);
    }
    if (req.url === '/silent') {
      // No answer at all until the client goes away.
      req.socket.on('close', () => closed++);
      return held.push(res);
    }
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

  it('sends a request without a body, and answers a 204 with no body', async () => {
    const res = await f(`${base}/empty`);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-method')).toBe('GET');
    expect(res.body).toBeNull();
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

/** Reads an answer's whole body as text. */
function text(answer: UpstreamAnswer): Promise<string> {
  const pieces: Buffer[] = [];
  return new Promise((resolve, reject) =>
    answer.listen({
      data: (piece) => pieces.push(piece),
      end: () => resolve(Buffer.concat(pieces).toString('utf8')),
      error: reject,
    }),
  );
}

describe('keepAlivePool().send', () => {
  const pool = keepAlivePool();
  const post = (path: string, signal?: AbortSignal, body = '{"q":"é"}') =>
    pool.send({
      method: 'POST',
      url: new URL(`${base}${path}`),
      headers: { 'content-type': 'application/json', 'x-key': 'k1' },
      body,
      signal,
    });

  it('sends the body with its byte length and headers, and answers with status, headers and the whole text', async () => {
    const answer = await post('/headers');
    expect(answer.status).toBe(201);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['x-seen']).toBe('one, two');
    // The body arrives in two pieces, the first one ending inside a three-byte character.
    expect(JSON.parse(await text(answer))).toEqual({ body: '{"q":"é"}', length: '10', key: 'k1', word: 'naïve ✓' });
    expect(answer.complete).toBe(true);
  });

  it('keeps what arrived before the reader listens, and the end', async () => {
    const answer = await post('/echo');
    await new Promise((r) => setTimeout(r, 30));
    expect(await text(answer)).toBe('{"q":"é"}');
  });

  it('streams the body as it arrives, and destroying an unfinished answer closes the connection', async () => {
    const before = closed;
    const answer = await post('/stream');
    const first = await new Promise<string>((resolve) =>
      answer.listen({
        data: (piece) => resolve(String(piece)),
        end: () => resolve('end'),
        error: () => resolve('error'),
      }),
    );
    expect(first).toBe('data: first\n\n');
    answer.destroy();
    expect(await waitFor(() => closed > before)).toBe(true);
  });

  it("fails a streaming answer with the signal's reason when it fires, and the upstream sees the connection close", async () => {
    const before = closed;
    const stop = new AbortController();
    const answer = await post('/stream', stop.signal);
    const failed = text(answer).catch((e) => e);
    stop.abort(new Error('client left'));
    expect((await failed).message).toBe('client left');
    expect(await waitFor(() => closed > before)).toBe(true);
  });

  it('fails at once with the reason when aborted before any answer arrived, and closes the connection', async () => {
    const before = closed;
    const stop = new AbortController();
    const pending = post('/silent', stop.signal).catch((e) => e);
    await new Promise((r) => setTimeout(r, 30));
    stop.abort(new Error('gave up'));
    expect((await pending).message).toBe('gave up');
    expect(await waitFor(() => closed > before)).toBe(true);
    // An already aborted signal sends nothing.
    expect((await post('/echo', stop.signal).catch((e) => e)).message).toBe('gave up');
  });

  it("reports a connection failure with the connection's own error", async () => {
    const err = await pool
      .send({ method: 'POST', url: new URL('http://127.0.0.1:9/x'), headers: {}, body: '{}' })
      .catch((e) => e);
    expect(String(err.message)).toMatch(/ECONNREFUSED/);
  });
});
