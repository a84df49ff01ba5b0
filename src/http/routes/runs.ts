// The runs that answered chat completions, in OpenAI's list and object conventions, scoped to the
// caller's API key: GET /v1/runs?conversation_id=... (newest first by default, `after`/`before` run
// ids as cursors) and GET /v1/runs/{id}. A run id comes from `x-cortex-run-id`, `metadata.run_id` or
// an error's `run_id`.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RunRecord, Store } from '../../store/types.ts';
import { followRun } from '../../run/follow-run.ts';
import type { AppDeps } from '../deps.ts';
import { SseWriter } from '../sse.ts';
import { watchClient } from '../client-gone.ts';
import { missingParameter, notFound } from '../errors.ts';
import { listObject, pageQueryShape, parseQuery, readPage, unixSeconds } from '../lists.ts';
import { checkId } from '../resource-ids.ts';
import { conversationIdOfKey, conversationKey } from '../../conversation/conversation-keys.ts';

const listQuery = z.object({ conversation_id: z.string().min(1).optional(), ...pageQueryShape });

/** A run without its trace: what a listing shows. */
const runSummaryObject = (r: RunRecord) => ({
  id: r.id,
  object: 'run' as const,
  conversation_id: conversationIdOfKey(r.conversationId),
  model: r.model,
  status: r.status,
  error: r.error,
  agents_used: r.agentsUsed,
  usage: {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  },
  upstream_usage: {
    prompt_tokens: r.usage.inputTokens,
    completion_tokens: r.usage.outputTokens,
    total_tokens: r.usage.totalTokens,
  },
  started_at: unixSeconds(r.startedAt),
  // null while the run is still running.
  finished_at: r.finishedAt === null ? null : unixSeconds(r.finishedAt),
  duration_seconds: r.finishedAt === null ? null : (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000,
});

const runObject = (r: RunRecord) => ({ ...runSummaryObject(r), events: r.events });

export function registerRuns(app: FastifyInstance, store: Store, deps: AppDeps): void {
  app.get('/v1/runs', async (request) => {
    const { conversation_id: conversationId, ...query } = parseQuery(listQuery, request.query);
    if (!conversationId) throw missingParameter('conversation_id');
    checkId(conversationId, 'conversation_id');
    const owner = request.owner ?? '';
    const key = conversationKey(owner, conversationId);
    if (!(await store.getConversation(key, owner)))
      throw notFound(`No conversation found with id '${conversationId}'.`, 'conversation_not_found', 'conversation_id');
    const page = await readPage(
      query,
      (o) => store.listRuns(key, owner, o),
      async (id) => (await store.getRun(id, owner))?.conversationId === key,
    );
    return listObject(page.data.map(runSummaryObject), page.hasMore);
  });

  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (request) => {
    checkId(request.params.id, 'run_id');
    const run = await store.getRun(request.params.id, request.owner ?? '');
    if (!run) throw notFound(`No run found with id '${request.params.id}'.`, 'run_not_found', 'run_id');
    return runObject(run);
  });

  // The run's events as SSE, one RunEvent as JSON per `data:` line, from the start of the run; live
  // while it runs here, replayed from its stored trace once it is over; `data: [DONE]` when it ends.
  app.get<{ Params: { id: string } }>('/v1/runs/:id/events', async (request, reply) => {
    checkId(request.params.id, 'run_id');
    // Watched before the run is looked up: a follower gone meanwhile is not followed for nothing.
    const gone = watchClient(reply.raw);
    const owner = request.owner ?? '';
    const run = await store.getRun(request.params.id, owner);
    if (!run) throw notFound(`No run found with id '${request.params.id}'.`, 'run_not_found', 'run_id');
    const sse = new SseWriter(reply.raw, {
      keepAliveSeconds: deps.config.keepAliveSeconds,
      writeTimeoutSeconds: deps.config.streamWriteTimeoutSeconds,
    });
    // Headers set by hooks (request id, CORS) would be lost by hijack(): carry them over.
    const hookHeaders = reply.getHeaders() as Record<string, string>;
    reply.hijack();
    try {
      sse.open(200, hookHeaders);
      const events = followRun(run, () => store.getRun(run.id, owner), deps.runEvents, gone.signal);
      for await (const event of events) {
        if (!sse.isOpen) break;
        await sse.data(event);
      }
      await sse.done();
    } catch (err) {
      request.log.error({ err }, 'run events stream failed');
      sse.end();
    }
  });
}
