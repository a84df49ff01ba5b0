// The research tools against in-suite HTTP servers: fetch_url's SSRF guard and limits, and each
// web search provider speaking its own API.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { fetchUrlTool } from '../../src/tools/fetch-url.ts';
import { isPublicAddress, safeFetch } from '../../src/tools/safe-fetch.ts';
import { SourceCollector, type ToolContext } from '../../src/tools/types.ts';
import { webSearchTool } from '../../src/tools/web-search.ts';
import { calculate } from '../../src/tools/calculator.ts';

// 660 KB, 60,000 levels deep: a DOM parser took a minute of event-loop time over it.
const NESTED_PAGE = `<title>Deep</title>${'<div>'.repeat(60_000)}bottom of the well${'</div>'.repeat(60_000)}`;

let server: Server;
let base: string;
const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({ url: req.url!, headers: req.headers, body });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/page')
      return res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<html><head><title>Test page</title></head><body><nav>menu</nav><p>The answer is 42.</p></body></html>');
    if (url.pathname === '/headlines')
      return res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<title>Harbour news</title><ul><li><a href="/1">Storm closes the harbour at Brest</a></li>' +
            '<li><a href="/2">Tidal records broken in March</a></li></ul>',
        );
    if (url.pathname === '/nested') return res.writeHead(200, { 'content-type': 'text/html' }).end(NESTED_PAGE);
    if (url.pathname === '/big') return res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(50_000));
    if (url.pathname === '/redirect-private')
      return res.writeHead(302, { location: 'http://127.0.0.1:1/secret' }).end();
    if (url.pathname === '/search' && req.method === 'POST') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          results: [{ title: 'Tavily result', url: 'https://example.org/t', content: 'from tavily' }],
        }),
      );
    }
    if (url.pathname === '/res/v1/web/search') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          web: { results: [{ title: 'Brave result', url: 'https://example.org/b', description: 'from brave' }] },
        }),
      );
    }
    if (url.pathname === '/search' && url.searchParams.get('format') === 'json') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          results: [
            { title: 'SearXNG result', url: 'https://example.org/s', content: 'from searxng' },
            { title: 'Second', url: 'https://example.org/s2', content: '' },
          ],
        }),
      );
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const ctx = (): ToolContext => ({
  signal: new AbortController().signal,
  conversationId: 'c',
  messages: [],
  sources: new SourceCollector(),
});

describe('fetch_url', () => {
  const guarded = fetchUrlTool({ allowPrivate: false, maxBytes: 10_000, timeoutMs: 5000 });
  const open = fetchUrlTool({ allowPrivate: true, maxBytes: 10_000, timeoutMs: 5000 });

  it.each([
    'http://127.0.0.1/',
    'http://localhost:8001/',
    'http://10.0.0.5/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'file:///etc/passwd',
  ])('refuses %s', async (url) => {
    await expect(guarded.execute({ url }, ctx())).rejects.toThrow(/Refused/);
  });

  it('refuses a host name that resolves to a private address', async () => {
    // The check is on the resolved address, not on the name's spelling.
    await expect(
      safeFetch(`http://localhost:${new URL(base).port}/page`, {
        allowPrivate: false,
        maxBytes: 1000,
        timeoutMs: 2000,
      }),
    ).rejects.toThrow(/Refused/);
  });

  it('reads a page as text when private addresses are allowed, and cites it', async () => {
    const c = ctx();
    const page = await open.execute({ url: `${base}/page` }, c);
    expect(page).toMatchObject({ source: 1, title: 'Test page' });
    expect(page.text).toContain('The answer is 42.');
    expect(page.text).not.toContain('menu');
    expect(c.sources.list()[0]).toMatchObject({ index: 1, url: `${base}/page` });
  });

  it('reads a page of headlines: its links are what it says', async () => {
    const page = await open.execute({ url: `${base}/headlines` }, ctx());
    expect(page.text).toBe('Storm closes the harbour at Brest\n\nTidal records broken in March');
  });

  it('reads a 60,000-level nested page (linear-time extraction, no tree)', async () => {
    const deep = fetchUrlTool({ allowPrivate: true, maxBytes: 1_000_000, timeoutMs: 5000 });
    const page = await deep.execute({ url: `${base}/nested` }, ctx());
    expect(page).toMatchObject({ title: 'Deep', text: 'bottom of the well' });
  });

  it('refuses a redirect to a private address even from an allowed start', async () => {
    await expect(
      safeFetch(`${base}/redirect-private`, { allowPrivate: false, maxBytes: 1000, timeoutMs: 2000 }),
    ).rejects.toThrow(/Refused/);
  });

  it('stops reading at the size limit', async () => {
    const page = await safeFetch(`${base}/big`, { allowPrivate: true, maxBytes: 1000, timeoutMs: 2000 });
    expect(page.body.length).toBe(1000);
    expect(page.truncated).toBe(true);
  });

  it('classifies addresses', () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('2606:4700::1111')).toBe(true);
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.0.1',
      '169.254.1.1',
      '::1',
      'fc00::1',
      'fe80::1',
      '0.0.0.0',
      '100.64.0.1',
    ])
      expect(isPublicAddress(a)).toBe(false);
  });
});

describe('web_search providers', () => {
  const settings = (env: Record<string, string>) =>
    loadConfig({ CORTEX_TAVILY_URL: base, CORTEX_BRAVE_URL: base, CORTEX_SEARXNG_URL: base, ...env });

  it('Tavily: POST /search with the key as a bearer token', async () => {
    const c = ctx();
    const results = await webSearchTool(settings({ CORTEX_WEB_SEARCH: 'tavily', TAVILY_API_KEY: 'tvly-test' })).execute(
      { query: 'solar' },
      c,
    );
    expect(results).toEqual([
      { title: 'Tavily result', url: 'https://example.org/t', snippet: 'from tavily', source: 1 },
    ]);
    const call = seen.findLast((s) => s.url === '/search')!;
    expect(call.headers.authorization).toBe('Bearer tvly-test');
    expect(JSON.parse(call.body)).toMatchObject({ query: 'solar', max_results: 5 });
  });

  it('Brave: GET /res/v1/web/search with the subscription token', async () => {
    const results = await webSearchTool(settings({ CORTEX_WEB_SEARCH: 'brave', BRAVE_API_KEY: 'brave-key' })).execute(
      { query: 'wind', count: 3 },
      ctx(),
    );
    expect(results[0]).toMatchObject({ title: 'Brave result', url: 'https://example.org/b', source: 1 });
    const call = seen.findLast((s) => s.url.startsWith('/res/v1/web/search'))!;
    expect(call.headers['x-subscription-token']).toBe('brave-key');
    expect(call.url).toContain('q=wind');
    expect(call.url).toContain('count=3');
  });

  it('SearXNG: GET /search?format=json, limited to the count', async () => {
    const results = await webSearchTool(settings({ CORTEX_WEB_SEARCH: 'searxng' })).execute(
      { query: 'tides', count: 1 },
      ctx(),
    );
    expect(results).toEqual([
      { title: 'SearXNG result', url: 'https://example.org/s', snippet: 'from searxng', source: 1 },
    ]);
  });
});

describe('calculator', () => {
  it('computes', () => {
    expect(calculate('12.5% * 2400')).toBe('300');
    expect(calculate('sqrt(2) * sqrt(2)')).toBe('2');
    expect(calculate('5 km to m')).toBe('5000 m');
  });

  it.each([
    'import({}, {override: true})',
    'createUnit("foo")',
    'evaluate("1+1")',
    'f(x) = x^2',
    'a = 5',
    'parse("1")',
    '1+'.repeat(300) + '1',
  ])('refuses %s', (expr) => {
    expect(() => calculate(expr)).toThrow();
  });
});
