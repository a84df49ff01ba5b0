// Knowledge-base passages written in a test, and the sentences the offline engine quotes from them
// for a question: the unit of the relevance tests.
import { selectQuotes } from '../../src/offline/relevance.ts';
import type { KnowledgeResult } from '../../src/tools/knowledge-search.ts';

/** A passage as the knowledge base returns it: the first chunk of document `source`. */
export const passage = (source: number, title: string, text: string): KnowledgeResult => ({
  source,
  title,
  url: `kb://doc_${source}#0`,
  text,
});

/** The sentences quoted for `question` from `passages`, best first. */
export const quoted = (question: string, passages: KnowledgeResult[]): string[] =>
  selectQuotes(question, passages).quotes.map((q) => q.text);
