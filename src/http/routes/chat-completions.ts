// POST /v1/chat/completions: parse, open the run (admission, memory, timers: src/run/chat-run.ts),
// render it as one JSON body or as SSE chunks. Disposing the run releases whatever it took.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { ApiError, serverError } from '../errors.ts';
import { parseChatRequest } from '../chat-request.ts';
import { checkServable } from '../run-limits.ts';
import { watchClient } from '../client-gone.ts';
import { ChatRun } from '../../run/chat-run.ts';
import { answerChat } from '../render/chat-json.ts';
import { streamChat } from '../render/chat-sse.ts';
import { CONVERSATION_HEADER } from '../render/run-headers.ts';
import { registerRuns } from './runs.ts';

/** The chat completion route, and (with a store) the routes that find the runs it leaves behind. */
export function registerChatCompletions(app: FastifyInstance, deps: AppDeps): void {
  if (deps.store) registerRuns(app, deps.store, deps);
  app.post('/v1/chat/completions', async (request, reply) => {
    const headerId = request.headers[CONVERSATION_HEADER];
    const chat = parseChatRequest(request.body, {
      conversationId: typeof headerId === 'string' && headerId ? headerId : undefined,
    });
    checkServable(chat, deps);

    // A client that goes away stops waiting for a lock or a slot, and stops its run.
    const clientGone = watchClient(reply.raw);
    await using run = await ChatRun.open(deps, chat, {
      owner: request.owner,
      log: request.log,
      clientGone: clientGone.signal,
    });
    try {
      return chat.stream ? await streamChat(run, reply, deps, chat) : await answerChat(run, reply, deps, chat);
    } catch (err) {
      if (!(err instanceof ApiError)) request.log.error({ err }, 'chat completion failed');
      throw run.error(err instanceof ApiError ? err : serverError());
    }
  });
}
