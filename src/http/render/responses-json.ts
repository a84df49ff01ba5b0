// A run rendered as one `response` object (POST /v1/responses without `stream`), sent only once the
// turn and the response are stored: the client is never handed the id of a response that was lost.
import type { FastifyReply } from 'fastify';
import type { ChatRun } from '../../run/chat-run.ts';
import { turnNotStored } from '../../run/run-errors.ts';
import { ApiError } from '../errors.ts';
import { runHeaders } from './run-headers.ts';
import {
  endOf,
  outputItems,
  responseObject,
  responseUsage,
  type ResponseHead,
  type ResponseObject,
} from './responses-object.ts';

/** How a rendering of a response ends besides the run itself. */
export interface ResponseOutlet {
  head: ResponseHead;
  /** Aborted by POST /v1/responses/{id}/cancel. */
  cancelled: AbortSignal;
  /** Keeps the final object (absent with `store: false`); throws when it could not be kept. */
  save?: (body: ResponseObject) => Promise<void>;
  /** The latest state, for GET /v1/responses/{id} while the response is still running. */
  publish: (body: ResponseObject) => void;
}

export async function answerResponse(run: ChatRun, reply: FastifyReply, outlet: ResponseOutlet) {
  await run.complete(); // throws when the turn could not be stored: never a 200 for a lost turn
  const body = finalResponse(run, outlet);
  if (run.clientLeft && !outlet.cancelled.aborted) {
    await saveOrFail(run, outlet, body).catch(() => {}); // nobody is listening; GET may still ask
    return reply;
  }
  await saveOrFail(run, outlet, body);
  const error = run.interruption() ?? run.failure();
  if (error) throw error;
  reply.headers(runHeaders(run));
  return body;
}

/** The response object a finished (or stopped) run leaves. */
export function finalResponse(run: ChatRun, outlet: ResponseOutlet, output?: Record<string, unknown>[]) {
  const summary = run.choices[0].summary;
  const usage = responseUsage(run.promptTokens, run.completionTokens());
  const items = output ?? outputItems(summary);
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
    return responseObject(outlet.head, { status: 'cancelled', output: items, usage });
  return responseObject(outlet.head, { ...endOf(summary), output: items, usage });
}

export async function saveOrFail(run: ChatRun, outlet: ResponseOutlet, body: ResponseObject): Promise<void> {
  outlet.publish(body);
  if (!outlet.save) return;
  try {
    await outlet.save(body);
  } catch (err) {
    if (err instanceof ApiError) throw run.error(err);
    throw run.error(turnNotStored());
  }
}
