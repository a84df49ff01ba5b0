// A client that goes away before its response is complete: the one AbortController of a request that
// runs (docs/ARCHITECTURE.md, "A client disconnect aborts one AbortController per request"). It
// cancels the waits for a lock or a run slot, then the run and its upstream calls.
import type { ServerResponse } from 'node:http';

/**
 * Watches the response's connection: aborted when it closes before the response was sent whole.
 * Made first thing in a handler, before anything it awaits: a `close` that fires before the listener
 * exists is never heard again, and the run opened after it would go on for nobody, holding its run
 * slot and its conversation until its time limit. A connection closed already (the client left while
 * its request was being read, or while the handler looked something up) aborts at once.
 */
export function watchClient(response: ServerResponse): AbortController {
  const gone = new AbortController();
  if (response.destroyed && !response.writableFinished) gone.abort();
  else
    response.once('close', () => {
      if (!response.writableFinished) gone.abort();
    });
  return gone;
}
