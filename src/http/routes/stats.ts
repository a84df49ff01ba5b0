// GET /v1/stats?window=3600: the caller's runs over the last `window` seconds, from the store (so
// every replica answers the same): runs, errors, upstream tokens per agent, p50/p95 duration.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/types.ts';
import { invalidRequest } from '../errors.ts';

const query = z.object({
  window: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
});

export function registerStats(app: FastifyInstance, store: Store): void {
  app.get('/v1/stats', async (request) => {
    const parsed = query.safeParse(request.query ?? {});
    if (!parsed.success)
      throw invalidRequest(`Invalid 'window': ${parsed.error.issues[0].message}.`, 'window', 'invalid_value');
    const windowSeconds = parsed.data.window;
    const since = new Date(Date.now() - windowSeconds * 1000).toISOString();
    const s = await store.runStats(request.owner ?? '', since);
    return {
      object: 'stats',
      window_seconds: windowSeconds,
      since: Math.floor(Date.parse(s.since) / 1000),
      runs: s.runs,
      errors: s.errors,
      by_status: s.byStatus,
      tokens_by_agent: Object.fromEntries(
        Object.entries(s.tokensByAgent).map(([agent, t]) => [
          agent,
          {
            prompt_tokens: t.inputTokens,
            completion_tokens: t.outputTokens,
            total_tokens: t.inputTokens + t.outputTokens,
          },
        ]),
      ),
      latency_seconds: { p50: s.latency.p50, p95: s.latency.p95 },
    };
  });
}
