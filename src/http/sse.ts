// Server-Sent Events as OpenAI sends them: `data: <json>\n\n` frames, `data: [DONE]` at the end,
// and `: ping` comments while nothing else flows so that proxies keep a long agent run open.
// A client that stops reading is given `writeTimeoutMs` to take a frame; then the connection is
// closed, as if it had gone away, so that it can never hold a run (and its slot) by not reading.
import type { ServerResponse } from 'node:http';

export interface SseOptions {
  keepAliveSeconds: number;
  /** Longest wait for a stalled socket to take a frame (and, at the end, its last frames). */
  writeTimeoutSeconds: number;
  /** When it aborts, a write stops waiting for the client (the run is over; the frame stays queued). */
  signal?: AbortSignal;
}

export class SseWriter {
  private readonly res: ServerResponse;
  private readonly keepAliveMs: number;
  private readonly writeTimeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the last frame was written (performance.now()): the keep-alive pings only after that much silence. */
  private lastWriteAt = 0;
  private closed = false;
  /**
   * Frames written by the current callback and its promise continuations, not yet handed to the
   * response: they leave in one `res.write` once that work is done (process.nextTick). One upstream
   * read often brings several deltas; each `res.write` costs a chunk header and three buffered
   * socket writes in JavaScript (Node corks the socket until the next tick anyway: the bytes on the
   * wire are the same). Streamed one-call path: up to 8% less event-loop CPU per request in one
   * side-by-side comparison, within the noise in another (BENCHMARKS.md, fourth round).
   */
  private pending = '';

  constructor(res: ServerResponse, options: SseOptions) {
    this.res = res;
    this.keepAliveMs = options.keepAliveSeconds * 1000;
    this.writeTimeoutMs = options.writeTimeoutSeconds * 1000;
    this.signal = options.signal;
    res.once('close', () => this.stop());
  }

  /**
   * Sends the status line and headers. A renderer whose first frames follow at once, in the same turn
   * of the event loop, passes `withFirstFrames`: the headers then leave in the same socket write as
   * those frames. Sending them alone costs a write (and a wake-up of the client) per response, which
   * shows under load as server CPU; the bytes on the wire are the same either way.
   */
  open(status: number, headers: Record<string, string>, { withFirstFrames = false } = {}): void {
    this.res.writeHead(status, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the whole answer.
      'x-accel-buffering': 'no',
    });
    if (!withFirstFrames) this.res.flushHeaders();
    this.armKeepAlive();
  }

  get isOpen(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Writes one frame; resolves once the socket can take more (back-pressure from slow clients). */
  async data(payload: unknown): Promise<void> {
    await this.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
  }

  /**
   * Writes frames already formatted (named events, `event: <name>` before their data, as the Responses
   * API streams), several at once: what happened together leaves in one write.
   */
  async frames(text: string): Promise<void> {
    await this.write(text);
  }

  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    this.stop();
    if (this.res.writableEnded) return;
    const rest = this.pending;
    this.pending = '';
    if (rest && !this.res.destroyed) this.res.end(rest);
    else this.res.end();
    // Frames still queued for a client that does not read: the connection goes after the same bound.
    // (Asked after end(), `writableNeedDrain` is always false: what tells is whether the response
    // has been handed over whole, its `finish`.)
    if (!this.res.writableFinished && !this.res.destroyed) {
      const cut = setTimeout(() => this.res.destroy(), this.writeTimeoutMs).unref();
      const clear = () => clearTimeout(cut);
      this.res.once('finish', clear);
      this.res.once('close', clear);
    }
  }

  private async write(frame: string): Promise<void> {
    if (!this.isOpen) return;
    this.lastWriteAt = performance.now();
    if (!this.pending) process.nextTick(this.flush);
    this.pending += frame;
    // Back-pressure from what earlier turns sent: a client that does not read is waited for here.
    if (!this.res.writableNeedDrain || this.signal?.aborted) return;
    const drained = await new Promise<boolean>((resolve) => {
      const settle = (ok: boolean) => () => {
        clearTimeout(timeout);
        this.res.off('drain', onDrain);
        this.res.off('close', onClose);
        this.signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onDrain = settle(true);
      const onClose = settle(true);
      const onAbort = settle(true);
      const timeout = setTimeout(settle(false), this.writeTimeoutMs);
      this.res.once('drain', onDrain);
      this.res.once('close', onClose);
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (!drained) this.res.destroy(); // the client stopped reading: treated as gone
  }

  private readonly flush = (): void => {
    const text = this.pending;
    this.pending = '';
    if (text && this.isOpen && !this.res.writableEnded) this.res.write(text);
  };

  /**
   * One timer for the whole stream, not one per frame: when it fires it pings if nothing was written
   * for `keepAliveMs`, and otherwise waits out the rest of that interval since the last frame.
   */
  private armKeepAlive(delayMs = this.keepAliveMs): void {
    if (this.keepAliveMs <= 0 || this.closed) return;
    this.lastWriteAt ||= performance.now();
    this.timer = setTimeout(() => {
      if (!this.isOpen) return;
      const silentMs = performance.now() - this.lastWriteAt;
      if (silentMs < this.keepAliveMs) return this.armKeepAlive(this.keepAliveMs - silentMs);
      this.res.write(': ping\n\n');
      this.lastWriteAt = performance.now();
      this.armKeepAlive();
    }, delayMs);
    this.timer.unref();
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
