// web_search through Tavily, Brave Search or a SearXNG instance, whichever is configured. Each
// result becomes a numbered source of the run.
import { z } from 'zod';
import type { Config } from '../config.ts';
import { safeFetch } from './safe-fetch.ts';
import type { AgentTool } from './types.ts';

export interface WebResult {
  title: string;
  url: string;
  snippet: string;
}

type SearchSettings = Pick<
  Config,
  | 'webSearch'
  | 'tavilyApiKey'
  | 'tavilyUrl'
  | 'braveApiKey'
  | 'braveUrl'
  | 'searxngUrl'
  | 'fetchTimeoutSeconds'
  | 'fetchMaxBytes'
>;

async function getJson(
  url: string,
  s: SearchSettings,
  signal: AbortSignal,
  init: { headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string } = {},
): Promise<any> {
  // Search APIs are configured by the operator, so private addresses (a local SearXNG) are allowed.
  const page = await safeFetch(url, {
    allowPrivate: true,
    maxBytes: s.fetchMaxBytes,
    timeoutMs: s.fetchTimeoutSeconds * 1000,
    signal,
    ...init,
    headers: { accept: 'application/json', ...init.headers },
  });
  if (page.status >= 400) throw new Error(`The search provider answered HTTP ${page.status}`);
  return JSON.parse(page.body);
}

export async function searchWeb(
  s: SearchSettings,
  query: string,
  count: number,
  signal: AbortSignal,
): Promise<WebResult[]> {
  switch (s.webSearch) {
    case 'tavily': {
      const data = await getJson(`${s.tavilyUrl.replace(/\/$/, '')}/search`, s, signal, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.tavilyApiKey}` },
        body: JSON.stringify({ query, max_results: count }),
      });
      return (data.results ?? []).map((r: any) => ({
        title: String(r.title ?? r.url),
        url: String(r.url),
        snippet: String(r.content ?? ''),
      }));
    }
    case 'brave': {
      const u = new URL(`${s.braveUrl.replace(/\/$/, '')}/res/v1/web/search`);
      u.searchParams.set('q', query);
      u.searchParams.set('count', String(count));
      const data = await getJson(u.toString(), s, signal, { headers: { 'x-subscription-token': s.braveApiKey ?? '' } });
      return (data.web?.results ?? []).map((r: any) => ({
        title: String(r.title ?? r.url),
        url: String(r.url),
        snippet: String(r.description ?? ''),
      }));
    }
    case 'searxng': {
      const u = new URL(`${s.searxngUrl!.replace(/\/$/, '')}/search`);
      u.searchParams.set('q', query);
      u.searchParams.set('format', 'json');
      const data = await getJson(u.toString(), s, signal);
      return (data.results ?? [])
        .slice(0, count)
        .map((r: any) => ({ title: String(r.title ?? r.url), url: String(r.url), snippet: String(r.content ?? '') }));
    }
    default:
      return [];
  }
}

/** Why the configured provider cannot work (a missing key or URL), for a start-up error. */
export function webSearchProblem(s: SearchSettings): string | undefined {
  if (s.webSearch === 'tavily' && !s.tavilyApiKey) return 'CORTEX_WEB_SEARCH=tavily needs TAVILY_API_KEY';
  if (s.webSearch === 'brave' && !s.braveApiKey) return 'CORTEX_WEB_SEARCH=brave needs BRAVE_API_KEY';
  if (s.webSearch === 'searxng' && !s.searxngUrl) return 'CORTEX_WEB_SEARCH=searxng needs CORTEX_SEARXNG_URL';
  return undefined;
}

export function webSearchTool(
  s: SearchSettings,
): AgentTool<{ query: string; count?: number }, (WebResult & { source: number })[]> {
  return {
    name: 'web_search',
    description:
      'Search the web. Returns results with title, URL and snippet, each with the source number to cite as [n]; read a page with fetch_url.',
    inputSchema: z.object({ query: z.string().min(1), count: z.number().int().min(1).max(10).optional() }),
    async execute({ query, count }, ctx) {
      const results = await searchWeb(s, query, count ?? 5, ctx.signal);
      return results.map((r) => ({
        ...r,
        source: ctx.sources.add({ title: r.title, url: r.url, snippet: r.snippet.slice(0, 240) }),
      }));
    },
  };
}
