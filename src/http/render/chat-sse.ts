// A chat run rendered as `chat.completion.chunk` frames over SSE. The stream ends with `[DONE]`
// only when every choice finished and was stored; otherwise with an error frame naming the run.
// Once the socket is taken over (hijack), nobody else can answer: every failure is answered here.
import type { FastifyReply } from 'fastify';
import type { ChatRun } from '../../run/chat-run.ts';
import type { AppDeps } from '../deps.ts';
import type { ChatRequest } from '../chat-request.ts';
import { ApiError, serverError } from '../errors.ts';
import {
  chunk,
  deltaChoice,
  newCompletionId,
  runMetadata,
  systemFingerprint,
  toolCallDeltas,
  wireFinishReason,
  usageOf,
  type ChunkHead,
} from '../chat-response.ts';
import { SseWriter } from '../sse.ts';
import { runHeaders } from './run-headers.ts';

export async function streamChat(run: ChatRun, reply: FastifyReply, deps: AppDeps, chat: ChatRequest): Promise<void> {
  const sse = new SseWriter(reply.raw, {
    keepAliveSeconds: deps.config.keepAliveSeconds,
    writeTimeoutSeconds: deps.config.streamWriteTimeoutSeconds,
    // Once the runs are over, the last frames are queued without waiting for a slow client.
    signal: run.ended,
  });
  // Headers set by hooks (request id, CORS) would be lost by hijack(): carry them over.
  const hookHeaders = reply.getHeaders() as Record<string, string>;
  reply.hijack(); // from here on we own the socket: SSE frames, not a JSON body
  try {
    // The role frames follow in this same turn (streamFrames writes them before its first await).
    sse.open(200, { ...hookHeaders, ...runHeaders(run) }, { withFirstFrames: true });
    await streamFrames(run, sse, deps, chat);
  } catch (err) {
    reply.request.log.error({ err }, 'stream failed');
    const e = run.error(err instanceof ApiError ? err : serverError());
    if (!reply.raw.headersSent) {
      reply.raw.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', ...e.headers });
      reply.raw.end(JSON.stringify(e.toJSON()));
    } else {
      await sse.data(e.toJSON());
      sse.end();
    }
  }
}

async function streamFrames(run: ChatRun, sse: SseWriter, deps: AppDeps, chat: ChatRequest): Promise<void> {
  const head: ChunkHead = {
    id: newCompletionId(),
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
    systemFingerprint: systemFingerprint(deps.config, deps.version, deps.orchestrator.engine),
    conversationId: run.conversationId,
    includeUsage: chat.includeUsage,
  };
  const streamed = run.choices.map(() => '');
  /** A choice failed: its error frame ended the stream (the other choices are being stopped). */
  let failed = false;
  deps.metrics.activeStreams.inc();
  try {
    for (const c of run.choices) await sse.data(chunk(head, [deltaChoice(c.index, { role: 'assistant' })]));
    for await (const [i, event] of run.events()) {
      // Keep consuming: a run being stopped must still be recorded.
      if (!sse.isOpen || failed) continue;
      const choice = run.choices[i];
      switch (event.type) {
        case 'progress':
          if (deps.config.streamProgress)
            await sse.data(chunk(head, [deltaChoice(i, { reasoning_content: `${event.text}\n` })]));
          break;
        case 'text_delta':
          streamed[i] += event.text;
          await sse.data(chunk(head, [deltaChoice(i, { content: event.text })]));
          break;
        case 'run_finished': {
          // An engine that does not stream its answer sends it whole with run_finished.
          const rest = event.text.startsWith(streamed[i]) ? event.text.slice(streamed[i].length) : '';
          if (rest) await sse.data(chunk(head, [deltaChoice(i, { content: rest })]));
          for (const delta of toolCallDeltas(event.toolCalls ?? [], undefined, chat.legacyFunctions))
            await sse.data(chunk(head, [deltaChoice(i, delta)]));
          await sse.data(
            chunk(head, [deltaChoice(i, {}, wireFinishReason(event.finishReason, chat.legacyFunctions))], {
              metadata: runMetadata(choice.summary, { runId: choice.runId, engine: deps.orchestrator.engine }),
            }),
          );
          break;
        }
        case 'run_failed': {
          const { status, type, message, code } = event.error;
          await sse.data(run.error(new ApiError(status, type, message, { code }), choice.runId).toJSON());
          failed = true;
          break;
        }
      }
    }
  } finally {
    deps.metrics.activeStreams.dec();
  }
  try {
    await run.complete(); // recorded before the final success: a lost turn ends in an error, not [DONE]
  } catch (err) {
    if (sse.isOpen) await sse.data(run.error(err instanceof ApiError ? err : serverError()).toJSON());
    return sse.end();
  }
  const interrupted = run.interruption();
  if (interrupted) {
    if (sse.isOpen) await sse.data(interrupted.toJSON());
    return sse.end();
  }
  if (!sse.isOpen) return sse.end();
  if (run.failure()) return sse.end(); // its error frame ended the stream
  if (chat.includeUsage)
    await sse.data({ ...chunk(head, []), usage: usageOf(run.promptTokens, run.completionTokens()) });
  await sse.done();
}
