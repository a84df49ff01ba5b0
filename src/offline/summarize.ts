// Extractive summary of a text: TextRank over its sentences (Mihalcea & Tarau, 2004), with a
// position prior. Sentences
// are the nodes of a graph whose edges weigh the words two sentences share, normalised by their
// lengths; PageRank over that graph ranks the sentences that most of the text agrees with, and
// the best are returned in the order the text has them. Only the text's own sentences come out.
import { sentences, stems } from './text.ts';

const DAMPING = 0.85;
const ITERATIONS = 40;

/** The `count` most central sentences of `text`, in their original order. */
export const textRank = (text: string, count: number): string[] => rankSentences(sentences(text), count);

/** The `count` most central of some sentences, in their original order. */
export function rankSentences(all: string[], count: number): string[] {
  if (all.length <= count) return all;
  const words = all.map((s) => new Set(stems(s)));
  const n = all.length;
  const similarity = (a: number, b: number) => {
    const shared = [...words[a]].filter((w) => words[b].has(w)).length;
    const norm = Math.log(words[a].size + 1) + Math.log(words[b].size + 1);
    return shared && norm ? shared / norm : 0;
  };
  const edges = all.map((_, a) => all.map((__, b) => (a === b ? 0 : similarity(a, b))));
  const outWeight = edges.map((row) => row.reduce((x, y) => x + y, 0));
  // The random surfer restarts on earlier sentences more often (a position prior, as in
  // PositionRank): a text's opening usually states its topic, which a summary should keep.
  const prior = all.map((_, i) => 1 / (i + 1));
  const priorSum = prior.reduce((x, y) => x + y, 0);
  let rank = new Array<number>(n).fill(1 / n);
  for (let k = 0; k < ITERATIONS; k++) {
    rank = rank.map(
      (_, b) =>
        ((1 - DAMPING) * prior[b]) / priorSum +
        DAMPING * edges.reduce((sum, row, a) => (outWeight[a] ? sum + (row[b] / outWeight[a]) * rank[a] : sum), 0),
    );
  }
  // The opening sentence is kept whatever its rank: it usually states the topic (the LEAD baseline
  // of summarisation is hard to beat). Ties fall back to the earliest sentences.
  rank[0] = Infinity;
  const chosen = rank
    .map((r, i) => ({ r, i }))
    .sort((x, y) => y.r - x.r || x.i - y.i)
    .slice(0, count)
    .map((x) => x.i)
    .sort((a, b) => a - b);
  return chosen.map((i) => all[i]);
}

/** How many sentences a summary of `total` keeps: about a third, at least one, at most five. */
export const summaryLength = (total: number) => Math.max(1, Math.min(5, Math.round(total / 3)));
