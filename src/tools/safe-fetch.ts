// HTTP GET for tools that reach the internet, with a size limit, a time limit and an SSRF guard:
// a host that is (or resolves to) a private, loopback or link-local address is refused, on every
// redirect hop too, unless explicitly allowed. The check happens at connect time, so a DNS answer
// cannot change between the check and the connection.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';

export class FetchRefusedError extends Error {}

export function isPublicAddress(address: string): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
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
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a DNS lookup, so it is checked here.
  if (!allowPrivate && (host === 'localhost' || (isIP(host) && !isPublicAddress(host))))
    throw new FetchRefusedError(`Refused: ${host} is a private or loopback address`);
  return url;
}

export async function safeFetch(raw: string, o: SafeFetchOptions): Promise<FetchedPage> {
  const signal = AbortSignal.any([AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])]);
  let url = checkUrl(raw, o.allowPrivate);
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(url, {
      method: o.method ?? 'GET',
      body: o.body,
      headers: {
        'user-agent': 'CortexFlow/0.1 (+research agent)',
        accept: 'text/html,application/json,text/plain;q=0.9,*/*;q=0.5',
        ...o.headers,
      },
      dispatcher: agentFor(o.allowPrivate),
      signal,
    });
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump();
      url = checkUrl(new URL(location, url).toString(), o.allowPrivate);
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
      body: Buffer.concat(chunks).toString('utf8'),
      truncated,
    };
  }
  throw new FetchRefusedError('Too many redirects');
}
