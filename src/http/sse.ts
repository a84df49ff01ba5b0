// Server-Sent Events as OpenAI sends them: `data: <json>\n\n` frames, `data: [DONE]` at the end,
// and `: ping` comments while nothing else flows so that proxies keep a long agent run open.
import type { ServerResponse } from 'node:http';

export class SseWriter {
  private readonly res: ServerResponse;
  private readonly keepAliveMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(res: ServerResponse, keepAliveSeconds: number) {
    this.res = res;
    this.keepAliveMs = keepAliveSeconds * 1000;
    res.once('close', () => this.stop());
  }

  open(status: number, headers: Record<string, string>): void {
    this.res.writeHead(status, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the whole answer.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    this.armKeepAlive();
  }

  get isOpen(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Writes one frame; resolves once the socket can take more (back-pressure from slow clients). */
  async data(payload: unknown): Promise<void> {
    await this.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
  }

  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }

  private async write(frame: string): Promise<void> {
    if (!this.isOpen) return;
    this.armKeepAlive();
    if (!this.res.write(frame)) {
      await new Promise<void>((resolve) => {
        const settle = () => {
          this.res.off('drain', settle);
          this.res.off('close', settle);
          resolve();
        };
        this.res.once('drain', settle);
        this.res.once('close', settle);
      });
    }
  }

  private armKeepAlive(): void {
    if (this.keepAliveMs <= 0 || this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.isOpen) return;
      this.res.write(': ping\n\n');
      this.armKeepAlive();
    }, this.keepAliveMs);
    this.timer.unref();
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
