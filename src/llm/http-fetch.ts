// The `fetch` under the OpenAI-style providers: node:http(s) over a keep-alive agent instead of
// undici's WHATWG fetch, whose spec machinery (Request, Headers, fetch params, body mixins) cost
// more CPU per upstream call than the rest of the call (BENCHMARKS.md, "Hot path"). It keeps what
// the providers rely on from fetch: a `Response` whose body streams, connection failures as
// `TypeError('fetch failed', { cause })` (the SDK names the cause: `connect ECONNREFUSED ...`),
// the signal aborting the request and its body, and a cancelled body closing the connection.
// Anything it does not do (redirects, bodies other than text or bytes) is left to global fetch.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { Agent as UndiciAgent } from 'undici';
import { postAnswer, type UpstreamAnswer } from './upstream-answer.ts';

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** The pool's sockets, shared by its `fetch` and by callers that read node:http responses directly. */
export interface KeepAlivePool {
  fetch: typeof fetch;
  /**
   * One POST over undici's dispatcher, answered without any stream wrapping (src/llm/upstream-answer.ts):
   * for a caller that parses the body itself (src/llm/openai-wire.ts). A connection failure is the
   * connection's own error.
   */
  post(
    url: URL,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<UpstreamAnswer>;
}

export function keepAliveFetch(): typeof fetch {
  return keepAlivePool().fetch;
}

export function keepAlivePool(): KeepAlivePool {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };
  // Not an async function: a call waits for its response headers most of its life, and a suspended
  // frame would hold its registers all that time. What throws is a rejection, as with fetch.
  const send: typeof fetch = (input, init = {}) => {
    const target = input instanceof Request ? input.url : String(input);
    const url = new URL(target);
    const body = init.body;
    const protocol = url.protocol as keyof typeof agents;
    if (
      input instanceof Request ||
      !agents[protocol] ||
      (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    )
      return fetch(input, init);
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const request = protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: init.method ?? 'GET',
      headers: headersOf(init.headers),
      agent: agents[protocol],
      signal,
    });
    // The listeners live as long as the request: they must not capture the body (kilobytes per
    // waiting call), so it is written here, outside any closure.
    const answered = response(req, signal);
    req.end(body ?? undefined);
    return answered.then((res) => {
      const status = res.statusCode ?? 502;
      if (REDIRECT.has(status) && res.headers.location) {
        res.resume();
        return fetch(new URL(res.headers.location, target), init);
      }
      return asResponse(res, status);
    });
  };
  // No header or body timeouts (undici's default is 300 s each): a model may think longer than that
  // between tokens, and the run's own deadlines decide when a call has taken too long.
  const dispatcher = new UndiciAgent({ connections: 256, headersTimeout: 0, bodyTimeout: 0 });
  const post: KeepAlivePool['post'] = (url, headers, body, signal) =>
    postAnswer(dispatcher, url, headers, body, signal);
  return {
    fetch: (input, init) => {
      try {
        return send(input, init);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    post,
  };
}

function asResponse(res: IncomingMessage, status: number): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers))
    if (value !== undefined) for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  // A null-body status (204, 304) must not be given a body.
  const stream = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  if (!stream) res.resume();
  return new Response(stream, { status, statusText: res.statusMessage, headers });
}

function response(req: ClientRequest, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // `on`, not `once`: each once() wraps its listener in three more objects for the request's life.
    // A request answers once; a later error after the first finds the promise settled.
    req.on('response', resolve);
    req.on('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
  });
}

function headersOf(h: HeadersInit | undefined): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = String(v);
  return out;
}
