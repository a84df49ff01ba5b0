// A run's events from its start to its end, wherever the run is: live from this process's hub while
// it serves the run, replayed from the store once the run is over. A run that is still `running` in
// the store but not served here (about to start, or served by another replica) is waited for: the
// store is polled until the run shows up here or is over, and its stored trace is then replayed.
import type { RunEvent } from '../orchestrator/events.ts';
import type { RunRecord } from '../store/types.ts';
import type { RunEventsHub } from './run-events-hub.ts';

/** How often the store is asked about a run that is running elsewhere. */
const POLL_MS = 500;

export async function* followRun(
  first: RunRecord,
  reload: () => Promise<RunRecord | undefined>,
  hub: RunEventsHub,
  signal: AbortSignal,
): AsyncIterable<RunEvent> {
  let stored: RunRecord | undefined = first;
  while (stored && !signal.aborted) {
    const live = hub.follow(stored.id, signal);
    if (live) {
      yield* live;
      return;
    }
    if (stored.status !== 'running') {
      yield* stored.events;
      return;
    }
    await pause(POLL_MS, signal);
    stored = await reload();
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
