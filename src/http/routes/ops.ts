// Operability endpoints: /ready (the store answers) and /metrics (Prometheus text format). Both are
// public (for probes and scrapers): expose them to your infrastructure only.
import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTE } from '../auth-hook.ts';
import type { AppDeps } from '../deps.ts';
import { storeUnavailable } from '../errors.ts';
import { storeAnswers } from '../store-status.ts';

export function registerOps(app: FastifyInstance, deps: AppDeps): void {
  app.get('/ready', PUBLIC_ROUTE, async (request, reply) => {
    // An MCP server that is down withdraws its tools but leaves the server ready: the detail says so.
    const mcp = deps.mcp?.status().map((s) => ({
      name: s.name,
      state: s.state,
      tools: s.tools.length,
      ...(s.error ? { error: s.error } : {}),
    }));
    if (await storeAnswers(deps.checkReady)) return { status: 'ready', ...(mcp ? { mcp_servers: mcp } : {}) };
    request.log.warn('not ready: the store is unreachable');
    return reply.status(503).send({ status: 'unavailable', ...storeUnavailable().toJSON() });
  });

  app.get('/metrics', PUBLIC_ROUTE, async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
