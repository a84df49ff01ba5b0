// Operability endpoints: /ready (the store answers) and /metrics (Prometheus text format).
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';

export function registerOps(app: FastifyInstance, deps: AppDeps): void {
  app.get('/ready', async (request, reply) => {
    try {
      await deps.checkReady();
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'not ready');
      return reply.status(503).send({
        status: 'unavailable',
        error: {
          message: 'The store is unreachable.',
          type: 'service_unavailable',
          param: null,
          code: 'store_unreachable',
        },
      });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
