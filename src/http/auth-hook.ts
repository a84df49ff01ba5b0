// Deny by default: once keys are required, every request needs `Authorization: Bearer KEY` unless
// the route it MATCHED is declared public (`config: { public: true }`: /health, /ready, /metrics,
// the CORS preflight). The decision is made on the router's match, never on the raw URL: the router
// also matches `/%761/...`, `http://host/v1/...` and the like, and an unknown URL (no match) is
// treated as protected too. A wrong key is never echoed back.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from './deps.ts';
import { checkBrowserOrigin } from './browser-origin.ts';
import { ApiError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key. */
    public?: boolean;
  }
}

/** Route options of a route served without a key. */
export const PUBLIC_ROUTE = { config: { public: true } } as const;

// The body of a refused request is never read: closing the connection is what stops a client
// from keeping it busy (or sending a large body) without a key.
const invalidKey = (message: string) =>
  new ApiError(401, 'invalid_request_error', message, {
    code: 'invalid_api_key',
    headers: { connection: 'close' },
  });

const isPublic = (request: FastifyRequest): boolean => request.routeOptions.config?.public === true;

export function registerAuth(app: FastifyInstance, deps: AppDeps): void {
  // A browser never sends credentials with a CORS preflight, and the preflight route only answers
  // CORS headers: it is public wherever the CORS plugin registers it.
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') route.config = { ...route.config, public: true };
  });

  // preParsing: after CORS has added its headers (a browser then sees the 401 itself, not a CORS
  // failure), and before the body is read.
  app.addHook('preParsing', async (request) => {
    if (isPublic(request)) return;
    // Without keys, a browser's request is served only from the server's own pages and the
    // origins the operator allows (browser-origin.ts: cross-site forgery, DNS rebinding).
    if (!(await deps.auth.required())) return checkBrowserOrigin(request, deps.config.corsOrigins);
    // Node keeps the first of two Authorization headers, a proxy in front may check the last:
    // a request carrying two is refused rather than read one way here and another way there.
    if (authorizationCount(request.raw.rawHeaders) > 1)
      throw invalidKey('Send one Authorization header; this request has several.');
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw invalidKey("You didn't provide an API key. Send it in the Authorization header as 'Bearer KEY'.");
    const owner = await deps.auth.authenticate(match[1]);
    if (!owner) throw invalidKey('Incorrect API key provided.');
    request.owner = owner;
  });
}

function authorizationCount(rawHeaders: string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === 'authorization') count++;
  return count;
}
