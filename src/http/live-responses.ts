// The responses still running in this process (POST /v1/responses registers each kept one until its
// run is recorded and released): what GET, cancel, delete and a `previous_response_id` find before the
// store has it. A response is stored only with its run's end (src/http/routes/responses.ts).
import { ApiError } from './errors.ts';
import type { ResponseObject } from './render/responses-object.ts';
import { clientClosedRequest } from '../run/run-errors.ts';

/** A response still running in this process. */
export interface LiveResponse {
  owner: string;
  inputItems: Record<string, unknown>[];
  /** The response as it stands: in progress (with what was streamed so far), or final. */
  snapshot(): ResponseObject;
  /** Stops the run as POST .../cancel does (the response ends `cancelled`). */
  cancel(): void;
  deleted: boolean;
  /** Settles once the run is recorded (its response stored, unless deleted) and released. */
  done: Promise<void>;
}

/** The previous response is still running and did not end within the wait. */
const previousStillRunning = (id: string, waitedSeconds: number) =>
  new ApiError(
    409,
    'invalid_request_error',
    `Previous response with id '${id}' is still in progress (waited ${waitedSeconds}s); retry once it has finished.`,
    { param: 'previous_response_id', code: 'conversation_busy', headers: { 'retry-after': '1' } },
  );

/**
 * Waits for a response of this owner that still runs here to end, as a turn waits for the turn in
 * progress on its conversation (at most `waitSeconds`, given up when the client leaves): its id is
 * known from `response.created` before the store has it, and continuing it must find it stored, not
 * answer "not found" for a response GET returns. Nothing to wait for when it is not running here.
 */
export async function settled(
  live: LiveResponse | undefined,
  id: string,
  waitSeconds: number,
  clientGone: AbortSignal,
): Promise<void> {
  if (!live || live.deleted) return;
  let timer: NodeJS.Timeout | undefined;
  let onGone: (() => void) | undefined;
  const outcome = await Promise.race([
    live.done.then(() => 'ended' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitSeconds * 1000))),
    new Promise<'gone'>((resolve) => {
      onGone = () => resolve('gone');
      if (clientGone.aborted) onGone();
      else clientGone.addEventListener('abort', onGone, { once: true });
    }),
  ]);
  clearTimeout(timer);
  clientGone.removeEventListener('abort', onGone!);
  if (outcome === 'gone') throw clientClosedRequest();
  if (outcome === 'timeout') throw previousStillRunning(id, waitSeconds);
}
