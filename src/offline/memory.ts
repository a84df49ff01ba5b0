// What the offline engine can answer from the conversation itself: facts the user stated about
// themselves ("My name is Alice") and earlier statements matching a question.
import type { ChatMessage } from '../orchestrator/types.ts';
import { sentences, stems } from './text.ts';

const NAME_PATTERNS = [
  /\b[Mm]y name is\s+([\p{L}][\p{L}'-]+(?:\s+[\p{Lu}][\p{L}'-]+)?)/u,
  /\b[Cc]all me\s+([\p{Lu}][\p{L}'-]+)/u,
  /\bI am\s+([\p{Lu}][\p{L}'-]+)(?=[\s.,!]|$)/u,
  /\bI'm\s+([\p{Lu}][\p{L}'-]+)(?=[\s.,!]|$)/u,
];

/** The name the user gave, from their latest statement of it. */
export function statedName(history: ChatMessage[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i].role !== 'user') continue;
    for (const p of NAME_PATTERNS) {
      const m = p.exec(history[i].content);
      if (m) return m[1].charAt(0).toUpperCase() + m[1].slice(1);
    }
  }
  return undefined;
}

export const asksForName = (q: string) =>
  /\b(what('s| is) my name|who am i|do you (know|remember) my name|my name\?)/i.test(q);
export const asksAboutConversation = (q: string) =>
  /\b(what did i (say|tell|ask|mention)|do you remember|earlier i (said|mentioned)|i told you)\b/i.test(q);

/** The user's earlier statements that share words with the question, most overlapping first. */
export function recall(history: ChatMessage[], question: string, max = 3): string[] {
  const wanted = new Set(stems(question));
  const scored: { text: string; score: number; at: number }[] = [];
  history.forEach((m, at) => {
    if (m.role !== 'user') return;
    for (const s of [m.content, ...sentences(m.content)]) {
      const score = new Set(stems(s).filter((w) => wanted.has(w))).size;
      if (score > 0 && !scored.some((x) => x.text === s)) scored.push({ text: s.trim(), score, at });
    }
  });
  return scored
    .sort((a, b) => b.score - a.score || b.at - a.at)
    .slice(0, max)
    .map((s) => s.text);
}
