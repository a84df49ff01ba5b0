// Agents of one run work concurrently but the client sees one ordered stream: each pushes its
// events here, the HTTP layer iterates them in arrival order.
import type { RunEvent } from '../orchestrator/events.ts';

export class EventChannel implements AsyncIterable<RunEvent> {
  private readonly queue: RunEvent[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(event: RunEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  /** Ends the stream with an error the consumer sees once it has read every event before it. */
  fail(error: unknown): void {
    this.failure = { error };
    this.close();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    while (true) {
      if (this.queue.length) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
