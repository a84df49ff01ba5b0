// GET /health: the process is alive and says what it runs.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';

export function registerHealth(app: FastifyInstance, deps: AppDeps): void {
  app.get('/health', async () => ({
    status: 'healthy',
    version: deps.version,
    engine: deps.orchestrator.engine,
    uptime_seconds: Math.round(process.uptime()),
  }));
}
