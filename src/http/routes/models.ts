// GET /v1/models and GET /v1/models/{id}, in OpenAI's list and object shapes.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { modelNotFound } from '../errors.ts';

export function registerModels(app: FastifyInstance, deps: AppDeps): void {
  // One creation time for every model, stable for the life of the process.
  const created = Math.floor(Date.now() / 1000);
  const toModel = (id: string) => ({ id, object: 'model' as const, created, owned_by: 'cortex-flow' });

  app.get('/v1/models', async () => ({
    object: 'list' as const,
    data: deps.orchestrator.models().map((m) => toModel(m.id)),
  }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) => {
    const found = deps.orchestrator.models().find((m) => m.id === request.params.id);
    if (!found) throw modelNotFound(request.params.id);
    return toModel(found.id);
  });
}
