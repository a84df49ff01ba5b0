// HTTP GET for tools that reach the internet, with a size limit, a time limit and an SSRF guard:
// a host that is (or resolves to) a private, loopback or link-local address is refused, on every
// redirect hop too, unless explicitly allowed. The check happens at connect time, so a DNS answer
// cannot change between the check and the connection.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';

export class FetchRefusedError extends Error {}

// ::/96, the deprecated "IPv4-compatible" addresses (::127.0.0.1 is ::7f00:1): ipaddr.js calls them
// unicast, but a host with an automatic tunnel sends them to the embedded IPv4 address. No public
// host has one, so they are refused like the IPv4 address they carry could be.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

export function isPublicAddress(address: string): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).match(IPV4_COMPATIBLE)) return false;
  return ip.range() === 'unicast';
}

export interface SafeFetchOptions {
  allowPrivate: boolean;
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
}

export interface FetchedPage {
  url: string;
  status: number;
  contentType: string;
  /** Content-Encoding as sent: the body is never decoded, so the size limit is on bytes received. */
  contentEncoding: string;
  body: string;
  truncated: boolean;
}

const guardedAgents = new Map<boolean, Agent>();

function agentFor(allowPrivate: boolean): Agent {
  let agent = guardedAgents.get(allowPrivate);
  if (!agent) {
    agent = new Agent({
      connect: {
        lookup: (hostname, options, callback) => {
          lookup(hostname, { ...options, all: true }, (err, addresses) => {
            if (err) return callback(err, '', 0);
            const list = addresses as { address: string; family: number }[];
            const blocked = list.find((a) => !isPublicAddress(a.address));
            if (blocked && !allowPrivate)
              return callback(
                new FetchRefusedError(`Refused: ${hostname} resolves to a private address (${blocked.address})`),
                '',
                0,
              );
            if ((options as { all?: boolean }).all)
              return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
            callback(null, list[0].address, list[0].family);
          });
        },
      },
    });
    guardedAgents.set(allowPrivate, agent);
  }
  return agent;
}

function checkUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchRefusedError(`Not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchRefusedError(`Refused: only http and https URLs can be fetched`);
  // They would not be sent (the client ignores them), only shown back in the page's URL and its
  // citation, so a password in a link would reach the answer.
  if (url.username || url.password) throw new FetchRefusedError('Refused: URLs with credentials are not fetched');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a DNS lookup, so it is checked here.
  if (!allowPrivate && (host === 'localhost' || (isIP(host) && !isPublicAddress(host))))
    throw new FetchRefusedError(`Refused: ${host} is a private or loopback address`);
  return url;
}

const DESCRIPTIVE = new Set(['accept', 'content-type']);

function descriptiveHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  return headers && Object.fromEntries(Object.entries(headers).filter(([k]) => DESCRIPTIVE.has(k.toLowerCase())));
}

export async function safeFetch(raw: string, o: SafeFetchOptions): Promise<FetchedPage> {
  const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])]);
  let url = checkUrl(raw, o.allowPrivate);
  let method = o.method ?? 'GET';
  let body = o.body;
  // The caller's headers (a search provider's API key) are for the URL it gave: a redirect to
  // another origin is followed with only those that describe the request, as browsers drop
  // Authorization.
  let headers = o.headers;
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(url, {
      method,
      body,
      headers: {
        'user-agent': 'CortexFlow/0.1 (+research agent)',
        accept: 'text/html,application/json,text/plain;q=0.9,*/*;q=0.5',
        ...headers,
      },
      dispatcher: agentFor(o.allowPrivate),
      signal,
    });
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump();
      const next = checkUrl(new URL(location, url).toString(), o.allowPrivate);
      if (next.origin !== url.origin) headers = descriptiveHeaders(headers);
      // 301, 302 and 303 turn a POST into a GET without its body (what every HTTP client does);
      // 307 and 308 repeat the request as it was.
      if (res.statusCode !== 307 && res.statusCode !== 308) {
        method = 'GET';
        body = undefined;
      }
      url = next;
      continue;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (size + buf.length > o.maxBytes) {
        chunks.push(buf.subarray(0, o.maxBytes - size));
        truncated = true;
        res.body.destroy();
        break;
      }
      chunks.push(buf);
      size += buf.length;
    }
    const contentType = String(res.headers['content-type'] ?? '');
    return {
      url: url.toString(),
      status: res.statusCode,
      contentType,
      contentEncoding: String(res.headers['content-encoding'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
      truncated,
    };
  }
  throw new FetchRefusedError('Too many redirects');
}
