// The connection pool of the OpenAI-style providers, and the two ways they call through it: the
// bare `send()` the lean OpenAI-wire path reads (src/llm/upstream-answer.ts), and a `fetch` for the
// SDK's own calls built on the same `send()`, instead of undici's WHATWG fetch, whose spec machinery
// (Request, Headers, fetch params, body mixins) cost more CPU per upstream call than the rest of the
// call (BENCHMARKS.md, "Hot path"). The `fetch` keeps what the providers rely on: a `Response` whose
// body streams, connection failures as `TypeError('fetch failed', { cause })` (the SDK names the
// cause: `connect ECONNREFUSED ...`), the signal aborting the request and its body, and a cancelled
// body closing the connection. Anything it does not do (redirects, bodies other than text or bytes)
// is left to global fetch.
import { Agent } from 'undici';
import { sendUpstream, type UpstreamAnswer, type UpstreamCall } from './upstream-answer.ts';

const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** Body pieces a `Response` body holds before it stops reading the socket. */
const BODY_HIGH_WATER = 16;

/** One pool of connections for both ways of calling an upstream. */
export interface KeepAlivePool {
  fetch: typeof fetch;
  /**
   * One request, answered without any stream wrapping: for a caller that parses the body itself
   * (src/llm/openai-wire.ts). A connection failure is the connection's own error.
   */
  send(call: UpstreamCall): Promise<UpstreamAnswer>;
}

export function keepAliveFetch(): typeof fetch {
  return keepAlivePool().fetch;
}

export function keepAlivePool(): KeepAlivePool {
  // No header or body timeouts (undici's default is 300 s each): a model may think longer than that
  // between tokens, and the run's own deadlines decide when a call has taken too long.
  const dispatcher = new Agent({ connections: 256, headersTimeout: 0, bodyTimeout: 0 });
  const send = (call: UpstreamCall) => sendUpstream(dispatcher, call);
  // Not an async function: a call waits for its response headers most of its life, and a suspended
  // frame would hold its registers all that time. What throws is a rejection, as with fetch.
  const viaPool: typeof fetch = (input, init = {}) => {
    const target = input instanceof Request ? input.url : String(input);
    const url = new URL(target);
    const body = init.body;
    if (
      input instanceof Request ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    )
      return fetch(input, init);
    const signal = init.signal ?? undefined;
    const call = {
      method: init.method ?? 'GET',
      url,
      headers: headersOf(init.headers),
      body: body ?? undefined,
      signal,
    };
    return send(call).then(
      (answer) => {
        if (REDIRECT.has(answer.status) && answer.headers.location) {
          answer.destroy();
          return fetch(new URL(answer.headers.location, target), init);
        }
        return asResponse(answer);
      },
      (err) => {
        throw signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err });
      },
    );
  };
  return {
    fetch: (input, init) => {
      try {
        return viaPool(input, init);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    send,
  };
}

function asResponse(answer: UpstreamAnswer): Response {
  const { status } = answer;
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) headers.append(name, value);
  // A null-body status (204, 304) must not be given a body.
  if (status === 204 || status === 304) {
    answer.destroy();
    return new Response(null, { status, statusText: answer.statusText, headers });
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start: (controller) =>
        answer.listen({
          data: (piece) => {
            controller.enqueue(piece);
            if ((controller.desiredSize ?? 1) <= 0) answer.pause();
          },
          end: () => controller.close(),
          error: (err) => controller.error(err),
        }),
      pull: () => answer.resume(),
      // The body is abandoned: an unfinished answer closes its connection.
      cancel: () => answer.destroy(),
    },
    { highWaterMark: BODY_HIGH_WATER },
  );
  return new Response(body, { status, statusText: answer.statusText, headers });
}

function headersOf(h: HeadersInit | undefined): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = String(v);
  return out;
}
