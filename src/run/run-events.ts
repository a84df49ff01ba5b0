// The event streams of a request's runs, made safe to consume: an engine that throws ends its
// stream with `run_failed` (never an exception that escapes the lifecycle), and the n runs of one
// request are interleaved into one stream tagged with their choice index.
//
// These are plain iterators whose next() chains on the engine's, not async generators: a run
// waits on its upstream most of its life, and each suspended generator layer kept its frame, its
// request queue and promises alive for that whole time (BENCHMARKS.md, "memory per open stream").
import type { FastifyBaseLogger } from 'fastify';
import { ApiError, serverError } from '../http/errors.ts';
import type { RunEvent, RunEventOf } from '../orchestrator/events.ts';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Starts a run and turns whatever it throws (at the call or while iterating) into `run_failed`. */
export function guardRun(start: () => AsyncIterable<RunEvent>, log: FastifyBaseLogger): AsyncIterator<RunEvent> {
  let events: AsyncIterator<RunEvent> | undefined;
  let over = false;
  const failed = (err: unknown): IteratorResult<RunEvent> => {
    over = true;
    const e = err instanceof ApiError ? err : undefined;
    if (!e) log.error({ err }, 'run threw');
    const error = e ?? serverError();
    return {
      done: false,
      value: {
        type: 'run_failed',
        error: { message: error.message, status: error.status, type: error.type, code: error.code },
        at: Date.now(),
      },
    };
  };
  const settled = (r: IteratorResult<RunEvent>) => {
    if (r.done) over = true;
    else if (r.value.type === 'run_failed' && r.value.error.detail !== undefined) return logDetail(r.value, log);
    return r;
  };
  return {
    next() {
      if (over) return Promise.resolve(DONE);
      try {
        events ??= start()[Symbol.asyncIterator]();
        return events.next().then(settled, failed);
      } catch (err) {
        return Promise.resolve(failed(err));
      }
    },
  };
}

/**
 * A failure's detail (the upstream's address) goes to the log, and the event on without it: what
 * follows (the client's answer, followers, the stored trace) is read by API clients.
 */
function logDetail(event: RunEventOf<'run_failed'>, log: FastifyBaseLogger): IteratorResult<RunEvent> {
  const { detail, ...error } = event.error;
  log.warn({ code: error.code, detail }, 'run failed: %s', error.message);
  return { done: false, value: { ...event, error } };
}

/** Interleaves the events of the n runs of one request, tagged with their choice index. */
export function mergeRuns(runs: AsyncIterator<RunEvent>[]): AsyncIterator<[number, RunEvent]> {
  if (runs.length > 1) return interleave(runs);
  // The common case, one choice: a plain mapping, without a generator's queue per event.
  const only = runs[0];
  const tagged = (r: IteratorResult<RunEvent>): IteratorResult<[number, RunEvent]> =>
    r.done ? DONE : { done: false, value: [0, r.value] };
  return { next: () => only.next().then(tagged) };
}

/**
 * Each run's next event, handed on in the order they arrive. Not `Promise.race` over the runs'
 * pending promises: each race adds a reaction to every one of them, so a run waiting on its
 * upstream gathered one per event of the others and ran them all at once when it resumed (n = 8
 * answers of 250,000 small chunks: a second or two of the event loop in one go, and the memory of
 * millions of reactions meanwhile). Here each event costs one reaction. One event per run is read
 * ahead, as before: the next is asked for once the previous one is handed on.
 */
function interleave(iterators: AsyncIterator<RunEvent>[]): AsyncIterator<[number, RunEvent]> {
  const arrived: [number, IteratorResult<RunEvent>][] = [];
  let live = iterators.length;
  let failure: { error: unknown } | undefined;
  /** Callers of next() waiting for an event (one, as the run reads them; a list costs nothing). */
  let waiting: (() => void)[] = [];
  const woken = () => {
    const all = waiting;
    waiting = [];
    for (const w of all) w();
  };
  const pull = (i: number) =>
    iterators[i].next().then(
      (r) => {
        arrived.push([i, r]);
        woken();
      },
      (error: unknown) => {
        failure ??= { error };
        woken();
      },
    );
  iterators.forEach((_, i) => pull(i));
  const next = async (): Promise<IteratorResult<[number, RunEvent]>> => {
    for (;;) {
      // A run that threw ends the merged stream at once (guarded runs never throw; see guardRun).
      if (failure) throw failure.error;
      const first = arrived.shift(); // at most one per run
      if (first) {
        const [i, r] = first;
        if (r.done) {
          live--;
          continue;
        }
        pull(i);
        return { done: false, value: [i, r.value] };
      }
      if (!live) return DONE;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  return { next };
}
