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

  /**
   * A plain iterator, not an async generator: a run waits on its upstream most of its life, and a
   * suspended generator kept its frame and request queue alive for all that time.
   */
  [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    return { next: () => this.next() };
  }

  private next(): Promise<IteratorResult<RunEvent>> {
    if (this.queue.length) return Promise.resolve({ done: false, value: this.queue.shift()! });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined; // thrown once, then the stream is over, as a generator's would be
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.next());
  }
}
