// A run rendered as one `response` object (POST /v1/responses without `stream`), sent only once the
// turn and the response are stored (in one write, with the run's end): the client is never handed
// the id of a response that was lost.
import type { FastifyReply } from 'fastify';
import type { ChatRun } from '../../run/chat-run.ts';
import { runHeaders, runIdHeaders } from './run-headers.ts';
import type { RunCheckpoint } from '../../orchestrator/types.ts';
import {
  endOf,
  outputItems,
  responseObject,
  responseUsage,
  type ResponseHead,
  type ResponseObject,
} from './responses-object.ts';

/** What the renderers of one response share with its route. */
export interface ResponseOutlet {
  head: ResponseHead;
  /** Whether POST /v1/responses/{id}/cancel stopped it (rather than a client that left). */
  isCancelled(): boolean;
  /** A paused run's checkpoint sealed for the client to carry (asked for by `include`); absent when not asked. */
  sealCheckpoint?(checkpoint: RunCheckpoint): string;
  /** The output items as streamed so far (SSE); without them, the final items are built from the run. */
  streamed?: Record<string, unknown>[];
  /** The final response object, built once: the one stored with the turn is the one rendered. */
  final(): ResponseObject;
  /** The final response object as JSON, serialised once: the text stored is the text sent. */
  finalJson(): string;
}

export async function answerResponse(run: ChatRun, reply: FastifyReply, outlet: ResponseOutlet) {
  await run.complete(); // the turn and the response stored, or a throw: never a 200 for a lost turn
  const body = outlet.finalJson();
  if (run.clientLeft && !outlet.isCancelled()) return reply; // nobody is listening any more
  const error = run.interruption() ?? run.failure();
  if (error) throw error;
  reply.headers(responseHeaders(run, outlet));
  // Returned, not sent here: the reply leaves once the route has released the run (as chat's does).
  reply.type(JSON_TYPE);
  return body;
}

/** The run's headers; with `store: false` no conversation is named: none was kept to continue. */
export const responseHeaders = (run: ChatRun, outlet: ResponseOutlet): Record<string, string> =>
  outlet.head.conversationId ? runHeaders(run) : runIdHeaders(run);

export const JSON_TYPE = 'application/json; charset=utf-8';

/** The response object a finished (or stopped) run leaves. */
export function finalResponse(run: ChatRun, outlet: ResponseOutlet): ResponseObject {
  const summary = run.choices[0].summary;
  const usage = responseUsage(run.promptTokens, run.completionTokens());
  const items =
    outlet.streamed ??
    outputItems(
      summary,
      summary.checkpoint && outlet.sealCheckpoint ? outlet.sealCheckpoint(summary.checkpoint) : undefined,
    );
  const error = run.interruption() ?? run.failure();
  if (error)
    return responseObject(outlet.head, {
      status: 'failed',
      output: items,
      usage,
      error: { code: error.code ?? error.type, message: error.message },
    });
  if (!summary.finishReason)
    // Stopped before it finished: by POST .../cancel, or by a client that left.
    return responseObject(outlet.head, { status: 'cancelled', incompleteReason: 'cancelled', output: items, usage });
  return responseObject(outlet.head, { ...endOf(summary), output: items, usage });
}
