// Operability endpoints: /ready (the store answers) and /metrics (Prometheus text format). Both are
// public (for probes and scrapers): expose them to your infrastructure only.
import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTE } from '../auth-hook.ts';
import type { AppDeps } from '../deps.ts';
import { storeUnavailable } from '../errors.ts';
import { storeAnswers } from '../store-status.ts';

export function registerOps(app: FastifyInstance, deps: AppDeps): void {
  app.get('/ready', PUBLIC_ROUTE, async (request, reply) => {
    if (await storeAnswers(deps.checkReady)) return { status: 'ready' };
    request.log.warn('not ready: the store is unreachable');
    return reply.status(503).send({ status: 'unavailable', ...storeUnavailable().toJSON() });
  });

  app.get('/metrics', PUBLIC_ROUTE, async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
