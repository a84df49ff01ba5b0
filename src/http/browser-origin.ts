// While no key is required, anyone who can reach the port is a user, and so is any web page the
// operator's browser opens, unless the server tells a browser's requests apart:
// - another site's page can POST to http://127.0.0.1:PORT with `Content-Type: text/plain` (a
//   "simple" request, sent without a CORS preflight) and the body is read as JSON: a run starts
//   on the operator's upstream account (cross-site request forgery);
// - a page under a domain the attacker points at 127.0.0.1 (DNS rebinding) is same-origin with the
//   server in the browser's eyes: it can read every conversation and use /mcp.
// Browsers mark their requests (`Origin`, `Sec-Fetch-Site`); programs (curl, the SDKs) send
// neither and are not affected. A browser's request is served when it comes from an origin
// listed in CORTEX_CORS_ORIGINS, or from the server's own page reached by a loopback name or an IP
// address (the console). With keys required none of this applies: a page has no key to send.
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

const refused = (message: string) =>
  new ApiError(403, 'invalid_request_error', message, { code: 'origin_not_allowed', headers: { connection: 'close' } });

/** A `Host` header or an origin as a URL (its `host`: name and port, lower-cased); undefined if malformed. */
function hostOf(urlOrHost: string, isOrigin: boolean): URL | undefined {
  try {
    return new URL(isOrigin ? urlOrHost : `http://${urlOrHost}`);
  } catch {
    return undefined;
  }
}

/** A name no DNS answer can point elsewhere: `localhost` (and `*.localhost`) or an IP address. */
function isLocalName(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare.endsWith('.localhost') || isIP(bare) !== 0;
}

/**
 * Refuses (throws) a browser's request the server must not serve without a key: from another
 * site, or to the server under a domain name (DNS rebinding). `allowedOrigins` is
 * CORTEX_CORS_ORIGINS (`*`: any).
 */
export function checkBrowserOrigin(request: FastifyRequest, allowedOrigins: readonly string[]): void {
  const origin = header(request, 'origin');
  const site = header(request, 'sec-fetch-site');
  if (origin === undefined && site === undefined) return; // not a browser
  if (origin !== undefined && (allowedOrigins.includes('*') || allowedOrigins.includes(origin))) return;
  const hint =
    'Without API keys, browsers may call this server only from its own pages at a loopback name or an IP address, or from an origin listed in CORTEX_CORS_ORIGINS.';
  const host = hostOf(header(request, 'host') ?? '', false);
  if (origin !== undefined && (origin === 'null' || hostOf(origin, true)?.host !== host?.host))
    throw refused(`This request comes from another site's page. ${hint}`);
  // `none`: the user typed the address; `same-origin`: the page is the server's own.
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    throw refused(`This request comes from another site's page. ${hint}`);
  if (!host || !isLocalName(host.hostname)) throw refused(`This server was reached under a domain name. ${hint}`);
}

/** One header's value; a repeated one (joined by Node) counts as given. */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
