// One upstream HTTP call over undici's dispatcher, answered as a small event source: the status and
// headers once they arrive, then the body as it comes. Both ways the OpenAI-style providers call
// their upstream go through it, on one connection pool (src/llm/http-fetch.ts): the lean
// OpenAI-wire path reads it directly (src/llm/openai-wire.ts), the SDK's `fetch` gets it wrapped in
// a `Response`. It replaces node:http's ClientRequest and IncomingMessage, whose stream machinery
// (Readable, Writable, socket events per request) cost a third more CPU per upstream call
// (bench/upstream-client.ts). One object is the dispatcher's handler and the caller's answer.
import type { Dispatcher } from 'undici';

/** Where an answer's body goes once its reader is ready. */
export interface AnswerListener {
  /** A piece of the body (a view of what the socket read: multi-byte characters may be split). */
  data(piece: Buffer): void;
  end(): void;
  /** The connection broke off, or the call was aborted (then with the signal's reason). */
  error(err: unknown): void;
}

export interface UpstreamCall {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/**
 * Sends one request and settles with the answer once its status and headers arrived, or fails with
 * the connection's error (the signal's reason when aborted, at once even while the call waits for
 * a connection).
 */
export function sendUpstream(dispatcher: Dispatcher, call: UpstreamCall): Promise<UpstreamAnswer> {
  const { signal } = call;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const bytes = call.body === undefined ? undefined : Buffer.from(call.body);
  return new Promise((resolve, reject) => {
    const answer = new UpstreamAnswer(signal, resolve, reject);
    dispatcher.dispatch(
      {
        origin: call.url.origin,
        path: call.url.pathname + call.url.search,
        method: call.method as Dispatcher.HttpMethod, // any token: undici sends it as given
        headers: bytes ? { ...call.headers, 'content-length': String(bytes.length) } : call.headers,
        // A one-shot iterable rather than the bytes themselves: undici keeps its request (and a
        // buffer body with it) until the answer ends, which for a streamed answer is its whole life.
        // (undici takes any iterable body; its types list only streams.)
        body: bytes && (once(bytes) as unknown as Dispatcher.DispatchOptions['body']),
      },
      answer,
    );
  });
}

function* once(bytes: Buffer): Generator<Buffer> {
  yield bytes;
}

export class UpstreamAnswer implements Dispatcher.DispatchHandlers {
  status = 0;
  statusText = '';
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string> = {};
  /** The whole body arrived. */
  complete = false;
  private signal: AbortSignal | undefined;
  private opening: { resolve: (a: UpstreamAnswer) => void; reject: (e: unknown) => void } | undefined;
  private abortRequest: ((err?: Error) => void) | undefined;
  private resumeBody: (() => void) | undefined;
  private listener: AnswerListener | undefined;
  /** Body pieces that arrived before a listener did (the parser hands them over with the headers). */
  private early: Buffer[] | undefined;
  private failure: unknown;
  private finished = false;
  private paused = false;

  constructor(signal: AbortSignal | undefined, resolve: (a: UpstreamAnswer) => void, reject: (e: unknown) => void) {
    this.opening = { resolve, reject };
    this.signal = signal;
    signal?.addEventListener('abort', this.onAbort);
  }

  /** Starts delivering the body: what already arrived now, the rest as it comes. */
  listen(listener: AnswerListener): void {
    this.listener = listener;
    const early = this.early;
    this.early = undefined;
    if (early) for (const piece of early) listener.data(piece);
    if (this.failure !== undefined) listener.error(this.failure);
    else if (this.complete) listener.end();
  }

  /** Stops reading the body until `resume()`: the upstream's socket is no longer read. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeBody?.();
  }

  /** Abandons the answer; an unfinished one closes its connection, which cannot be reused. */
  destroy(): void {
    if (this.finished) return;
    this.listener = undefined;
    this.abortRequest?.(new Error('aborted'));
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.signal?.aborted) abort(this.signal.reason as Error);
    else this.abortRequest = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true; // an informational answer: the real one follows
    this.status = status;
    this.statusText = statusText;
    this.headers = headersOf(raw);
    this.resumeBody = resume;
    const opening = this.opening;
    this.opening = undefined;
    opening?.resolve(this);
    return true;
  }

  onData(piece: Buffer): boolean {
    if (this.listener) this.listener.data(piece);
    else (this.early ??= []).push(piece);
    return !this.paused;
  }

  onComplete(): void {
    this.complete = true;
    this.settled();
    this.listener?.end();
  }

  onError(err: Error): void {
    const reason = this.signal?.aborted ? this.signal.reason : err;
    this.settled();
    const opening = this.opening;
    if (opening) {
      this.opening = undefined;
      opening.reject(reason);
      return;
    }
    this.failure = reason;
    this.listener?.error(reason);
  }

  private settled(): void {
    this.finished = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.signal = undefined;
  }

  private readonly onAbort = (): void => {
    const reason = this.signal!.reason;
    // Fails at once, even while the call still waits for a connection.
    const opening = this.opening;
    this.opening = undefined;
    opening?.reject(reason);
    this.abortRequest?.(reason as Error);
  };
}

function headersOf(raw: Buffer[]): Record<string, string> {
  // Named by the upstream (or a proxy on the way): a `constructor` or `__proto__` header is a header.
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    out[name] = Object.hasOwn(out, name) ? `${out[name]}, ${value}` : value;
  }
  return out;
}
