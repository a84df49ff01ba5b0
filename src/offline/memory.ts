// What the offline engine can answer from the conversation itself: what the user said about
// themselves ("My name is Alice", "I like green"), what they asked, and what it answered before.
import type { ChatMessage } from '../orchestrator/types.ts';
import { pattern } from './pattern.ts';
import { sentences, stems } from './text.ts';

const NAME = String.raw`([\p{Lu}][\p{L}'-]+(?:\s+[\p{Lu}][\p{L}'-]+)?)`;
const NAME_PATTERNS = [
  new RegExp(String.raw`\bmy name is\s+${NAME}`, 'iu'),
  new RegExp(String.raw`\bmy name's\s+${NAME}`, 'iu'),
  new RegExp(String.raw`\bcall me\s+${NAME}`, 'u'),
  new RegExp(String.raw`\bI am\s+${NAME}(?=[\s.,!;]|$)`, 'u'),
  new RegExp(String.raw`\bI'm\s+${NAME}(?=[\s.,!;]|$)`, 'u'),
  new RegExp(String.raw`\bthis is\s+${NAME}(?=[\s.,!;]|$)`, 'u'),
];
// "I'm Bob and I like green": the name ends where a new clause begins.
const NOT_NAMES = new Set(['and', 'but', 'also', 'i', 'not', 'sorry', 'fine', 'good', 'back', 'here', 'sure', 'from']);

/** The name stated in one message, if any. */
export function nameIn(text: string): string | undefined {
  for (const p of NAME_PATTERNS) {
    const m = p.exec(text);
    if (!m) continue;
    const words = m[1].split(/\s+/);
    const kept: string[] = [];
    for (const w of words) {
      if (NOT_NAMES.has(w.toLowerCase())) break;
      kept.push(w);
    }
    if (kept.length) return kept.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
  }
  return undefined;
}

/** The name the user gave, from their latest statement of it. */
export function statedName(history: ChatMessage[]): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i].role !== 'user') continue;
    const name = nameIn(history[i].content);
    if (name) return name;
  }
  return undefined;
}

// First-person facts worth acknowledging: "I like green", "I live in Lyon", "my favourite tea is...".
const FACT = pattern(
  'gi',
  String.raw`\b(I (?:really )?(?:like|love|prefer|enjoy|hate|live|work|study|have|own|am from)\b[^.!?]*`,
  String.raw`|my (?:favou?rite|dog|cat|job|work|home|city|hobby)\b[^.!?]*)`,
);

/** The facts a message states about its author, as written ("I like green"). */
export function factsIn(text: string): string[] {
  return [...text.matchAll(FACT)].map((m) => m[1].trim().replace(/[,;]$/, ''));
}

export const asksForName = (q: string) =>
  /\b(what('s| is) my name|who am i\b|do you (know|remember) my name|my name\?)/i.test(q);

export type ConversationQuestion = 'first' | 'previous' | 'all';

/** "What did I ask you first?", "What was my last question?", "What have we talked about?" */
export function conversationQuestion(q: string): ConversationQuestion | undefined {
  if (!/\b(ask|asked|question|questions|said|say|talk|talked|discuss|discussed)\b/i.test(q)) return undefined;
  if (!/\b(I|we|my)\b/i.test(q)) return undefined;
  if (/\bfirst\b/i.test(q)) return 'first';
  if (/\b(last|previous|previously|before|just|earlier)\b/i.test(q)) return 'previous';
  if (/\b(what|which)\b.*\b(so far|talk(ed)? about|discuss(ed)?|asked|questions)\b/i.test(q)) return 'all';
  return undefined;
}

/** The user's messages before the current one. */
export const userTurns = (history: ChatMessage[]) => history.filter((m) => m.role === 'user').map((m) => m.content);

/**
 * The user's earlier first-person statements that share every content word of a question about
 * themselves ("What do I like?" finds "I'm Bob and I like green").
 */
export function recallAboutUser(history: ChatMessage[], question: string): string[] {
  if (!/\b(I|my|me)\b/.test(question)) return [];
  const wanted = stems(question).filter((w) => !['name', 'remember', 'know', 'tell'].includes(w));
  if (!wanted.length) return [];
  const found: string[] = [];
  const matches = (s: string) => {
    const words = new Set(stems(s));
    return wanted.every((w) => words.has(w));
  };
  // The fact as stated ("I like green") reads better than the whole sentence it came in.
  for (const text of userTurns(history))
    for (const f of factsIn(text)) if (matches(f) && !found.includes(f)) found.push(f);
  if (!found.length)
    for (const text of userTurns(history))
      for (const s of sentences(text)) if (matches(s) && !found.includes(s)) found.push(s);
  return found.slice(0, 3);
}
