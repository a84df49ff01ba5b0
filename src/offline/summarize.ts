// Extractive summary of a text: TextRank over its sentences (Mihalcea & Tarau, 2004), with a
// position prior. Sentences
// are the nodes of a graph whose edges weigh the words two sentences share, normalised by their
// lengths; PageRank over that graph ranks the sentences that most of the text agrees with, and
// the best are returned in the order the text has them. Only the text's own sentences come out.
import { proseSentences, stems } from './text.ts';

const DAMPING = 0.85;
const ITERATIONS = 40;

/**
 * Past this many sentences a text is summarised from its beginning: the graph grows as n², and it
 * is ranked on the event loop (1,500 sentences that share their words took half a second).
 */
export const MAX_SENTENCES = 400;
/** The ranks have settled once an iteration moves them by less than this in all (they sum to 1). */
const SETTLED = 1e-6;

/**
 * The last text summarised, its sentences and its ranking: the n choices of one request summarise
 * the same text, n times at once, one after another on the event loop (eight splits of a text of
 * 199,000 characters held it for a quarter of a second).
 */
let last: { text: string; sentences: string[]; ranked?: { count: number; kept: string[] } } | undefined;

/** The prose sentences of `text` (proseSentences), split once for the choices that ask together. */
export function sentencesOf(text: string): string[] {
  if (last?.text !== text) last = { text, sentences: proseSentences(text) };
  return last.sentences;
}

/** The `count` most central sentences of `text` (of its first MAX_SENTENCES), in their original order. */
export function textRank(text: string, count: number): string[] {
  const sentences = sentencesOf(text);
  if (last!.ranked?.count !== count)
    last!.ranked = { count, kept: rankSentences(sentences.slice(0, MAX_SENTENCES), count) };
  return [...last!.ranked.kept];
}

/** The `count` most central of some sentences, in their original order. */
export function rankSentences(all: string[], count: number): string[] {
  if (all.length <= count) return all;
  const n = all.length;
  const words = all.map((s) => stems(s));
  // Words in common for each pair of sentences, counted through an index of words.
  const shared = new Uint8Array(n * n);
  const byWord = new Map<string, number[]>();
  words.forEach((ws, i) => {
    for (const w of ws) {
      const seen = byWord.get(w) ?? [];
      for (const j of seen) if (shared[j * n + i] < 255) shared[j * n + i]++;
      seen.push(i);
      byWord.set(w, seen);
    }
  });
  // The edge weight of TextRank: words in common over the log lengths of the two sentences.
  const logLength = words.map((ws) => Math.log(ws.length + 1));
  let m = 0;
  for (let k = 0; k < n * n; k++) if (shared[k]) m++;
  const from = new Int32Array(m);
  const to = new Int32Array(m);
  const weight = new Float64Array(m);
  const outWeight = new Float64Array(n);
  for (let a = 0, e = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      const common = shared[a * n + b];
      if (!common) continue;
      from[e] = a;
      to[e] = b;
      weight[e] = common / (logLength[a] + logLength[b]);
      outWeight[a] += weight[e];
      outWeight[b] += weight[e++];
    }
  // The random surfer restarts on earlier sentences more often (a position prior, as in
  // PositionRank): a text's opening usually states its topic, which a summary should keep.
  let priorSum = 0;
  for (let i = 0; i < n; i++) priorSum += 1 / (i + 1);
  let rank = new Float64Array(n).fill(1 / n);
  let next = new Float64Array(n);
  for (let k = 0; k < ITERATIONS; k++) {
    for (let i = 0; i < n; i++) next[i] = (1 - DAMPING) / (i + 1) / priorSum;
    for (let e = 0; e < m; e++) {
      const a = from[e];
      const b = to[e];
      next[b] += (DAMPING * weight[e] * rank[a]) / outWeight[a];
      next[a] += (DAMPING * weight[e] * rank[b]) / outWeight[b];
    }
    let moved = 0;
    for (let i = 0; i < n; i++) moved += Math.abs(next[i] - rank[i]);
    [rank, next] = [next, rank];
    if (moved < SETTLED) break;
  }
  // The opening sentence is kept whatever its rank: it usually states the topic (the LEAD baseline
  // of summarisation is hard to beat). Ties fall back to the earliest sentences.
  rank[0] = Infinity;
  const chosen = [...rank]
    .map((r, i) => ({ r, i }))
    .sort((x, y) => y.r - x.r || x.i - y.i)
    .slice(0, count)
    .map((x) => x.i)
    .sort((a, b) => a - b);
  return chosen.map((i) => all[i]);
}

/** How many sentences a summary of `total` keeps: about a third, at least one, at most five. */
export const summaryLength = (total: number) => Math.max(1, Math.min(5, Math.round(total / 3)));
