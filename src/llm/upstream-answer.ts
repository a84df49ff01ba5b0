// One upstream POST over undici's dispatcher, answered as a small event source: the status and
// headers once they arrive, then the body as text. It replaces node:http's ClientRequest and
// IncomingMessage on the lean OpenAI-wire path (src/llm/openai-wire.ts), whose stream machinery
// (Readable, Writable, socket events per request) cost a third more CPU per upstream call
// (bench/upstream-client.ts). One object is the dispatcher's handler and the caller's answer.
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';

/** Where an answer's body goes once its reader is ready. */
export interface AnswerListener {
  data(text: string): void;
  end(): void;
  /** The connection broke off, or the call was aborted (then with the signal's reason). */
  error(err: unknown): void;
}

/**
 * Sends one POST and settles with the answer once its status and headers arrived, or fails with
 * the connection's error (the signal's reason when aborted, at once even while the call waits for
 * a connection).
 */
export function postAnswer(
  dispatcher: Dispatcher,
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal | undefined,
): Promise<UpstreamAnswer> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const bytes = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const answer = new UpstreamAnswer(signal, resolve, reject);
    dispatcher.dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { ...headers, 'content-length': String(bytes.length) },
        // A one-shot iterable rather than the bytes themselves: undici keeps its request (and a
        // buffer body with it) until the answer ends, which for a streamed answer is its whole life.
        // (undici takes any iterable body; its types list only streams.)
        body: once(bytes) as unknown as Dispatcher.DispatchOptions['body'],
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
  private readonly decoder = new StringDecoder('utf8');

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
    if (early) for (const piece of early) listener.data(this.decoder.write(piece));
    if (this.failure !== undefined) listener.error(this.failure);
    else if (this.complete) this.deliverEnd();
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
    if (this.listener) this.listener.data(this.decoder.write(piece));
    else (this.early ??= []).push(piece);
    return !this.paused;
  }

  onComplete(): void {
    this.complete = true;
    this.settled();
    if (this.listener) this.deliverEnd();
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

  private deliverEnd(): void {
    const rest = this.decoder.end();
    if (rest) this.listener!.data(rest);
    this.listener!.end();
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
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}
