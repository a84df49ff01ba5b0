// GET /health: the process is alive and says what it runs. Public: no key needed.
import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTE } from '../auth-hook.ts';
import type { AppDeps } from '../deps.ts';

export function registerHealth(app: FastifyInstance, deps: AppDeps): void {
  app.get('/health', PUBLIC_ROUTE, async () => ({
    status: 'healthy',
    version: deps.version,
    engine: deps.orchestrator.engine,
    uptime_seconds: Math.round(process.uptime()),
  }));
}
