// POST /v1/chat/completions: validate, prepare the conversation's context, run the team, render its
// events as one JSON body or as SSE chunks, and record the turn whatever happens to the client.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { ApiError, invalidRequest, modelNotFound, serverError } from '../errors.ts';
import { parseChatRequest, type ChatRequest } from '../chat-request.ts';
import {
  chunk,
  choiceMessage,
  deltaChoice,
  newCompletionId,
  runMetadata,
  usageOf,
  wireToolCalls,
  type ChunkHead,
} from '../chat-response.ts';
import { SseWriter } from '../sse.ts';
import { enforceMessageLimits, rateLimited, STOPPED, type StopReason } from '../run-limits.ts';
import { instrument } from '../run-metrics.ts';
import { RunSummary } from '../../orchestrator/run-summary.ts';
import type { RunEvent } from '../../orchestrator/events.ts';
import type { PreparedTurn, TurnStatus } from '../../conversation/types.ts';

const CONVERSATION_HEADER = 'x-conversation-id';

interface RunSlot {
  index: number;
  runId: string;
  summary: RunSummary;
}

export function registerChatCompletions(app: FastifyInstance, deps: AppDeps): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    const headerId = request.headers[CONVERSATION_HEADER];
    const chat = parseChatRequest(request.body, {
      conversationId: typeof headerId === 'string' && headerId ? headerId : undefined,
    });
    enforceMessageLimits(chat, deps);
    if (!deps.orchestrator.models().some((m) => m.id === chat.model)) throw modelNotFound(chat.model);
    const refusal = deps.orchestrator.refuse?.({
      model: chat.model,
      messages: chat.messages,
      generation: chat.generation,
      reasoningEffort: chat.reasoningEffort,
      tools: chat.tools,
      toolChoice: chat.toolChoice,
    });
    if (refusal) throw invalidRequest(refusal.message, refusal.param, refusal.code);

    const owner = request.owner;
    const bucket = owner ?? 'anonymous';
    // Counting tokens costs time: only when a limit needs the figure.
    const limit = await deps.rateLimiter.admit(
      bucket,
      deps.rateLimiter.enabled ? deps.tokens.countChat(chat.messages) : 0,
    );
    if (!limit.ok) {
      deps.metrics.rejected.inc({ reason: `rate_limit_${limit.limit}` });
      throw rateLimited(limit.limit!, limit.retryAfterSeconds);
    }

    const abort = new AbortController();
    let stopReason: StopReason | undefined;
    const stop = (reason: StopReason) => {
      if (abort.signal.aborted) return;
      stopReason = reason;
      abort.abort(new Error(reason));
    };
    // A client that goes away aborts the run, down to the upstream HTTP calls.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) stop('client');
    });
    const releaseSlot = await deps.gate.acquire(abort.signal);
    if (!releaseSlot) {
      deps.metrics.rejected.inc({ reason: 'concurrency' });
      throw new ApiError(429, 'rate_limit_error', 'Too many runs are in progress on this server; try again shortly.', {
        code: 'too_many_concurrent_runs',
        headers: { 'retry-after': '1' },
      });
    }

    const conversationId = chat.conversationId ?? `conv_${randomUUID()}`;
    let turn: PreparedTurn;
    try {
      turn = await deps.memory.prepare({ conversationId, owner, messages: chat.messages });
    } catch (err) {
      releaseSlot();
      throw err;
    }
    const runTimer = setTimeout(() => stop('timeout'), deps.config.maxRunSeconds * 1000);
    deps.metrics.activeRuns.inc();

    const slots: RunSlot[] = Array.from({ length: chat.n }, (_, index) => ({
      index,
      runId: `run_${randomUUID()}`,
      summary: new RunSummary(),
    }));
    const startedAt = new Date();
    const promptTokens = deps.tokens.countChat(turn.context);
    const runs = slots.map((slot) =>
      instrument(
        guardRun(
          deps.orchestrator.run(
            {
              runId: slot.runId,
              conversationId,
              model: chat.model,
              messages: turn.context,
              generation: chat.generation,
              reasoningEffort: chat.reasoningEffort,
              tools: chat.tools,
              toolChoice: chat.toolChoice,
              owner,
            },
            abort.signal,
          ),
          request,
        ),
        deps,
        chat.model,
        startedAt.getTime(),
      ),
    );

    let recorded: () => void = () => {};
    const done = new Promise<void>((resolve) => (recorded = resolve));
    deps.activeRuns.track({ abort: () => stop('shutdown'), done });

    const record = async () => {
      clearTimeout(runTimer);
      const main = slots[0].summary;
      const interrupted = stopReason && stopReason !== 'client' ? STOPPED[stopReason] : undefined;
      const status: TurnStatus =
        main.failure || interrupted
          ? 'failed'
          : main.finishReason === 'tool_calls'
            ? 'tool_calls'
            : main.finishReason
              ? 'completed'
              : 'cancelled';
      const answerText = main.answerSoFar;
      const completionTokens = completionTokensOf(deps, main);
      try {
        await deps.memory.record({
          conversationId,
          owner,
          runId: slots[0].runId,
          model: chat.model,
          newMessages: turn.newMessages,
          answer:
            answerText || main.toolCalls?.length
              ? {
                  role: 'assistant',
                  content: answerText,
                  ...(main.toolCalls?.length ? { toolCalls: main.toolCalls } : {}),
                }
              : null,
          status,
          error:
            main.failure?.message ??
            interrupted?.message ??
            (status === 'cancelled' ? 'client disconnected before the run finished' : undefined),
          events: main.events,
          agentsUsed: main.agentsUsed,
          usage: main.usageTotal(),
          promptTokens,
          completionTokens,
          startedAt,
          finishedAt: new Date(),
        });
      } catch (err) {
        request.log.error({ err, conversationId }, 'failed to record the conversation turn');
      } finally {
        turn.release();
        releaseSlot();
        deps.metrics.activeRuns.dec();
        await deps.rateLimiter
          .spend(bucket, completionTokens)
          .catch((err) => request.log.warn({ err }, 'rate limit accounting failed'));
        recorded();
      }
    };
    const interruption = () => (stopReason && stopReason !== 'client' ? STOPPED[stopReason] : undefined);

    const ctx: RenderContext = { deps, chat, conversationId, slots, promptTokens, record, turn, interruption };
    if (chat.stream) return streamRuns(reply, ctx, runs, abort.signal);
    return answerRuns(reply, ctx, runs, abort.signal);
  });
}

interface RenderContext {
  deps: AppDeps;
  chat: ChatRequest;
  conversationId: string;
  slots: RunSlot[];
  promptTokens: number;
  turn: PreparedTurn;
  record: () => Promise<void>;
  /** Why the server stopped the run itself (time limit, shutdown), if it did. */
  interruption: () => ApiError | undefined;
}

function completionTokensOf(deps: AppDeps, run: RunSummary): number {
  const calls = run.toolCalls?.map((c) => `${c.name}${c.arguments}`).join('') ?? '';
  return deps.tokens.count(run.answerSoFar) + deps.tokens.count(calls);
}

/** An engine that throws instead of emitting run_failed still ends in a clean OpenAI error. */
async function* guardRun(events: AsyncIterable<RunEvent>, request: FastifyRequest): AsyncIterable<RunEvent> {
  try {
    yield* events;
  } catch (err) {
    const e = err instanceof ApiError ? err : undefined;
    if (!e) request.log.error({ err }, 'run threw');
    const error = e ?? serverError();
    yield {
      type: 'run_failed',
      error: { message: error.message, status: error.status, type: error.type, code: error.code },
      at: Date.now(),
    };
  }
}

async function answerRuns(
  reply: FastifyReply,
  ctx: RenderContext,
  runs: AsyncIterable<RunEvent>[],
  signal: AbortSignal,
) {
  try {
    await Promise.all(
      runs.map(async (events, i) => {
        for await (const event of events) ctx.slots[i].summary.apply(event);
      }),
    );
  } finally {
    await ctx.record();
  }
  const interrupted = ctx.interruption();
  if (interrupted) throw interrupted;
  if (signal.aborted) return reply; // nobody is listening any more
  const failed = ctx.slots.find((s) => s.summary.failure)?.summary.failure;
  if (failed) throw new ApiError(failed.status, failed.type, failed.message, { code: failed.code });
  const { deps, chat, conversationId, slots, promptTokens } = ctx;
  const completionTokens = slots.reduce((n, s) => n + completionTokensOf(deps, s.summary), 0);
  reply.header(CONVERSATION_HEADER, conversationId);
  return {
    id: newCompletionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
    choices: slots.map((s) => ({
      index: s.index,
      message: choiceMessage(s.summary),
      logprobs: null,
      finish_reason: s.summary.finishReason ?? 'stop',
    })),
    usage: usageOf(promptTokens, completionTokens),
    conversation_id: conversationId,
    metadata: runMetadata(slots[0].summary, { runId: slots[0].runId, engine: deps.orchestrator.engine }),
  };
}

/** Interleaves the events of the n runs of one request, tagged with their choice index. */
async function* mergeRuns(runs: AsyncIterable<RunEvent>[]): AsyncIterable<[number, RunEvent]> {
  if (runs.length === 1) {
    for await (const event of runs[0]) yield [0, event];
    return;
  }
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

async function streamRuns(
  reply: FastifyReply,
  ctx: RenderContext,
  runs: AsyncIterable<RunEvent>[],
  signal: AbortSignal,
) {
  const { deps, chat, conversationId, slots } = ctx;
  const sse = new SseWriter(reply.raw, deps.config.keepAliveSeconds);
  const head: ChunkHead = {
    id: newCompletionId(),
    created: Math.floor(Date.now() / 1000),
    model: chat.model,
    conversationId,
    includeUsage: chat.includeUsage,
  };
  const streamed = slots.map(() => '');
  // Headers set by hooks (request id, CORS) would be lost by hijack(): carry them over.
  reply.hijack(); // from here on we own the socket: SSE frames, not a JSON body
  sse.open(200, { ...(reply.getHeaders() as Record<string, string>), [CONVERSATION_HEADER]: conversationId });
  deps.metrics.activeStreams.inc();
  try {
    for (const s of slots) await sse.data(chunk(head, [deltaChoice(s.index, { role: 'assistant' })]));
    for await (const [i, event] of mergeRuns(runs)) {
      const summary = slots[i].summary;
      summary.apply(event);
      if (!sse.isOpen) continue; // keep consuming: the run is being aborted and must still be recorded
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
          if (event.toolCalls?.length)
            await sse.data(
              chunk(head, [
                deltaChoice(i, { tool_calls: wireToolCalls(event.toolCalls).map((c, index) => ({ index, ...c })) }),
              ]),
            );
          await sse.data(
            chunk(head, [deltaChoice(i, {}, event.finishReason)], {
              metadata: runMetadata(summary, { runId: slots[i].runId, engine: deps.orchestrator.engine }),
            }),
          );
          break;
        }
        case 'run_failed':
          await sse.data({
            error: { message: event.error.message, type: event.error.type, param: null, code: event.error.code },
          });
          break;
      }
    }
  } catch (err) {
    reply.request.log.error({ err }, 'stream failed');
    const e = serverError();
    await sse.data(e.toJSON());
  } finally {
    await ctx.record();
    deps.metrics.activeStreams.dec();
  }
  const interrupted = ctx.interruption();
  if (interrupted && sse.isOpen) {
    await sse.data(interrupted.toJSON());
    return sse.end();
  }
  if (signal.aborted || !sse.isOpen) return sse.end();
  if (slots.some((s) => s.summary.failure)) return sse.end(); // the error frame ends the stream
  if (chat.includeUsage) {
    const completionTokens = slots.reduce((n, s) => n + completionTokensOf(deps, s.summary), 0);
    await sse.data({ ...chunk(head, []), usage: usageOf(ctx.promptTokens, completionTokens) });
  }
  await sse.done();
}
