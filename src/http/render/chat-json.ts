// A chat run rendered as one `chat.completion` body, sent only once every choice is stored.
import type { FastifyReply } from 'fastify';
import type { ChatRun } from '../../run/chat-run.ts';
import type { AppDeps } from '../deps.ts';
import type { ChatRequest } from '../chat-request.ts';
import {
  choiceMessage,
  newCompletionId,
  runMetadata,
  SERVICE_TIER,
  systemFingerprint,
  usageOf,
  wireFinishReason,
} from '../chat-response.ts';
import { runHeaders } from './run-headers.ts';

export async function answerChat(run: ChatRun, reply: FastifyReply, deps: AppDeps, chat: ChatRequest) {
  await run.complete(); // throws when a turn could not be stored: never a 200 for a lost turn
  const interrupted = run.interruption();
  if (interrupted) throw interrupted;
  if (run.clientLeft) return reply; // nobody is listening any more
  const failed = run.failure();
  if (failed) throw failed;
  reply.headers(runHeaders(run));
  const metadata = run.choices.map((c) => runMetadata(c.summary, { runId: c.runId, engine: deps.orchestrator.engine }));
  return {
    id: newCompletionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
    service_tier: SERVICE_TIER,
    system_fingerprint: systemFingerprint(deps.config, deps.version, deps.orchestrator.engine),
    choices: run.choices.map((c) => ({
      index: c.index,
      message: choiceMessage(c.summary, chat.legacyFunctions),
      logprobs: null,
      finish_reason: wireFinishReason(c.summary.finishReason ?? 'stop', chat.legacyFunctions),
      metadata: metadata[c.index],
    })),
    usage: usageOf(run.promptTokens, run.completionTokens()),
    conversation_id: run.conversationId,
    // The first choice's, as before choices carried their own.
    metadata: metadata[0],
  };
}
