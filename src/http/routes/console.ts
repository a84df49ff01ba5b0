// The web console (web/, built by Vite into web/dist/ by `npm run build:console`, run by `prepare`),
// served at `/` by the server itself: no second server, no CDN. Its files are public (they hold no
// data); everything the console shows comes from the API with the user's key. Hashed assets are
// cached for good; index.html never is, so a new build is picked up at the next load.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC_ROUTE } from '../auth-hook.ts';
import { notFound } from '../errors.ts';

/** The package root is three levels up from both src/http/routes/ and dist/http/routes/. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** The console's own pages (client-side routes): each is answered with index.html. */
const PAGES = ['/', '/playground', '/conversations', '/conversations/:id', '/runs/:id', '/overview'];

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Scripts and styles come from this origin only; API calls go to the same origin.
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
};

const unknownUrl = (request: FastifyRequest, reply: FastifyReply) => {
  const e = notFound(`Invalid URL (${request.method} ${request.url.split('?')[0]})`, 'unknown_url');
  return reply.status(e.status).send(e.toJSON());
};

/**
 * The router also maps request targets a browser never sends to these routes (`GET *` to `/`):
 * only a path is a page of the console.
 */
const isPath = (request: FastifyRequest) => request.raw.url?.startsWith('/') === true;

export function registerConsole(app: FastifyInstance, dir = CONSOLE_DIR): void {
  const index = join(dir, 'index.html');
  const sendIndex = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isPath(request)) return unknownUrl(request, reply);
    if (!existsSync(index)) {
      const e = notFound('The console is not built: run `npm run build:console`.', 'console_not_built');
      return reply.status(e.status).send(e.toJSON());
    }
    return reply
      .headers({ ...SECURITY_HEADERS, 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-cache' })
      .send(await readFile(index));
  };
  for (const page of PAGES) app.get(page, PUBLIC_ROUTE, sendIndex);

  app.get<{ Params: { '*': string } }>('/assets/*', PUBLIC_ROUTE, async (request, reply) => {
    const file = normalize(join(dir, 'assets', request.params['*']));
    // A path that climbs out of the assets folder (`..`, encoded or not) is not ours to serve.
    const type = CONTENT_TYPES[extname(file)];
    if (!isPath(request) || !file.startsWith(join(dir, 'assets') + sep) || !type || !existsSync(file))
      return unknownUrl(request, reply);
    return reply
      .headers({
        ...SECURITY_HEADERS,
        'content-type': type,
        // Vite names built assets by their content's hash: a changed file is a new URL.
        'cache-control': 'public, max-age=31536000, immutable',
      })
      .send(await readFile(file));
  });
}
