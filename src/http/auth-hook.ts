// Every /v1 route requires `Authorization: Bearer KEY` once any key exists; the key's id becomes
// the request's owner. A wrong key is never echoed back.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { ApiError } from './errors.ts';

const invalidKey = (message: string) =>
  new ApiError(401, 'invalid_request_error', message, { code: 'invalid_api_key' });

export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/') || request.method === 'OPTIONS') return;
    if (!(await deps.auth.required())) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw invalidKey("You didn't provide an API key. Send it in the Authorization header as 'Bearer KEY'.");
    const owner = await deps.auth.authenticate(match[1]);
    if (!owner) throw invalidKey('Incorrect API key provided.');
    request.owner = owner;
  });
}
