// fetch_url: reads one web page as text (HTML reduced to its readable text), registered as a
// numbered source of the run.
import { z } from 'zod';
import { extractHtml } from '../kb/extract.ts';
import { safeFetch, type SafeFetchOptions } from './safe-fetch.ts';
import type { AgentTool } from './types.ts';

const MAX_TEXT = 12_000;

export function fetchUrlTool(
  limits: Pick<SafeFetchOptions, 'allowPrivate' | 'maxBytes' | 'timeoutMs'>,
): AgentTool<{ url: string }, { source: number; url: string; title: string; text: string }> {
  return {
    name: 'fetch_url',
    description:
      'Read a web page (http or https) and return its text. Use it on URLs found by web_search or given by the user.',
    inputSchema: z.object({ url: z.string().url() }),
    async execute({ url }, ctx) {
      const page = await safeFetch(url, { ...limits, signal: ctx.signal });
      if (page.status >= 400) throw new Error(`The page answered HTTP ${page.status}`);
      const isHtml = /html/i.test(page.contentType) || /^\s*</.test(page.body);
      // A page of links keeps them here: a front page of headlines is what the agent asked to read.
      const { title, text } = isHtml
        ? await extractHtml(page.body, page.url, { keepPagesOfLinks: true })
        : { title: page.url, text: page.body };
      const source = ctx.sources.add({ title, url: page.url, snippet: text.slice(0, 240) });
      return { source, url: page.url, title, text: text.slice(0, MAX_TEXT) };
    },
  };
}
