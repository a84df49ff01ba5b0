// The events of the runs this process is serving, for whoever follows a run while it works
// (GET /v1/runs/{id}/events). A run is open here from when its lifecycle starts it to when it is
// closed; its events are buffered from its first one, so a follower that arrives late still sees
// the run from the start; the buffer is dropped when the run is over, by
// which time the run's trace is in the store (the lifecycle records before it releases). The
// buffer is compact, as the stored trace is: consecutive text deltas are kept as one (a late
// follower gets the same text in fewer pieces), so a long answer costs one string, not an event
// per delta, and a run nobody follows holds no listener set.
import type { RunEvent } from '../orchestrator/events.ts';

type Listener = (event: RunEvent | undefined) => void;

interface LiveRun {
  events: RunEvent[];
  /** Created by the first follower. */
  listeners?: Set<Listener>;
}

export class RunEventsHub {
  private readonly runs = new Map<string, LiveRun>();

  /** This process serves the run from now on: followers wait here for its events. */
  open(runId: string): void {
    if (!this.runs.has(runId)) this.runs.set(runId, { events: [] });
  }

  /**
   * One event of a run this process serves, in order. An event of a run not open (closed already)
   * is dropped: it would open the run again for good, and a follower would wait on it forever
   * instead of reading the stored trace.
   */
  publish(runId: string, event: RunEvent): void {
    const run = this.runs.get(runId);
    if (!run) return;
    const last = run.events.length - 1;
    const previous = run.events[last];
    if (event.type === 'text_delta' && previous?.type === 'text_delta')
      run.events[last] = { ...previous, text: previous.text + event.text }; // a copy: the event is shared
    else run.events.push(event);
    if (run.listeners) for (const listener of run.listeners) listener(event);
  }

  /** The run is over (finished, failed, stopped or abandoned): its followers' streams end. */
  close(runId: string): void {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    if (run.listeners) for (const listener of run.listeners) listener(undefined);
  }

  /** Whether this process is serving the run now (it published and has not closed it). */
  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /**
   * The run's events from its start, then live ones until it is over; undefined when this process
   * does not serve it (not started yet, over, or on another replica). Ending the iteration early
   * (a follower that leaves) unsubscribes.
   */
  follow(runId: string, signal?: AbortSignal): AsyncIterable<RunEvent> | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const queue: (RunEvent | undefined)[] = [...run.events];
    let wake: (() => void) | undefined;
    const listener: Listener = (event) => {
      queue.push(event);
      wake?.();
    };
    (run.listeners ??= new Set()).add(listener);
    const onAbort = () => listener(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            while (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            const event = queue.shift();
            if (!event) return;
            yield event;
          }
        } finally {
          run.listeners?.delete(listener);
          signal?.removeEventListener('abort', onAbort);
        }
      },
    };
  }
}
