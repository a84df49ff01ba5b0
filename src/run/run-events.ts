// The event streams of a request's runs, made safe to consume: an engine that throws ends its
// stream with `run_failed` (never an exception that escapes the lifecycle), and the n runs of one
// request are interleaved into one stream tagged with their choice index.
import type { FastifyBaseLogger } from 'fastify';
import { ApiError, serverError } from '../http/errors.ts';
import type { RunEvent } from '../orchestrator/events.ts';

/** Starts a run and turns whatever it throws (at the call or while iterating) into `run_failed`. */
export async function* guardRun(start: () => AsyncIterable<RunEvent>, log: FastifyBaseLogger): AsyncIterable<RunEvent> {
  try {
    yield* start();
  } catch (err) {
    const e = err instanceof ApiError ? err : undefined;
    if (!e) log.error({ err }, 'run threw');
    const error = e ?? serverError();
    yield {
      type: 'run_failed',
      error: { message: error.message, status: error.status, type: error.type, code: error.code },
      at: Date.now(),
    };
  }
}

/** Interleaves the events of the n runs of one request, tagged with their choice index. */
export function mergeRuns(runs: AsyncIterable<RunEvent>[]): AsyncIterator<[number, RunEvent]> {
  if (runs.length > 1) return interleave(runs)[Symbol.asyncIterator]();
  // The common case, one choice: a plain mapping, without a generator's queue per event.
  const only = runs[0][Symbol.asyncIterator]();
  return {
    async next() {
      const r = await only.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: [0, r.value] };
    },
  };
}

async function* interleave(runs: AsyncIterable<RunEvent>[]): AsyncIterable<[number, RunEvent]> {
  const iterators = runs.map((r) => r[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<[number, IteratorResult<RunEvent>]>>();
  const pull = (i: number) =>
    pending.set(
      i,
      iterators[i].next().then((r) => [i, r] as [number, IteratorResult<RunEvent>]),
    );
  iterators.forEach((_, i) => pull(i));
  while (pending.size) {
    const [i, result] = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(i);
      continue;
    }
    pull(i);
    yield [i, result.value];
  }
}
