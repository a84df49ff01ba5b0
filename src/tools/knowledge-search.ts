// search_knowledge_base: ranked passages from the local knowledge base, each registered as a
// numbered source of the run so that answers can cite it as [n].
import { z } from 'zod';
import type { KnowledgeBase } from '../kb/types.ts';
import type { AgentTool } from './types.ts';

export const kbSourceUrl = (documentId: string, ordinal: number) => `kb://${documentId}#${ordinal}`;

export interface KnowledgeResult {
  source: number;
  title: string;
  url: string;
  text: string;
}

export function knowledgeSearchTool(
  kb: KnowledgeBase,
): AgentTool<{ query: string; limit?: number }, KnowledgeResult[]> {
  return {
    name: 'search_knowledge_base',
    description:
      'Search the local knowledge base (ingested documents). Returns the best passages, each with the source number to cite as [n].',
    inputSchema: z.object({
      query: z.string().min(1).describe('What to look for, in keywords or a question'),
      limit: z.number().int().min(1).max(10).optional(),
    }),
    async execute({ query, limit }, ctx) {
      const hits = await kb.search(query, limit ?? 5);
      return hits.map((h) => {
        const url = kbSourceUrl(h.documentId, h.ordinal);
        const title = h.heading && h.heading !== h.title ? `${h.title} — ${h.heading}` : h.title;
        const source = ctx.sources.add({ title, url, snippet: h.text.slice(0, 240) });
        return { source, title, url, text: h.text };
      });
    },
  };
}
