// The engine's own earlier answers, read back from the transcript: the points it quoted (each
// with the source it cited) and the question each answered. Follow-ups ("summarize the key
// findings", "tell me more", "and the second point?") work on these, and cite the same sources.
import type { ChatMessage } from '../orchestrator/types.ts';
import { pattern } from './pattern.ts';
import { questionTerms } from './relevance.ts';

export interface CitedSource {
  title: string;
  url: string;
}

export interface Point {
  text: string;
  source?: CitedSource;
}

export interface EarlierAnswer {
  question: string;
  /** What a knowledge-base answer was about: its question, or the topic "more" was asked on. */
  topic?: string;
  text: string;
  points: Point[];
}

const POINT = /^- (.+?)(?: \[(\d+)\])?$/;
const SOURCE = /^\[(\d+)\] (.+) \((\S+)\)$/;

/** The points of one answer the engine wrote: its bullet lines, with their cited source. */
export function pointsOf(answer: string): Point[] {
  const sources = new Map<string, CitedSource>();
  for (const line of answer.split('\n')) {
    const m = SOURCE.exec(line.trim());
    if (m) sources.set(m[1], { title: m[2], url: m[3] });
  }
  const points: Point[] = [];
  for (const line of answer.split('\n')) {
    const m = POINT.exec(line.trim());
    if (m) points.push({ text: m[1], source: m[2] ? sources.get(m[2]) : undefined });
  }
  return points;
}

/** The assistant's answers in the history, oldest first, each with the user question before it. */
export function earlierAnswers(history: ChatMessage[]): EarlierAnswer[] {
  const out: EarlierAnswer[] = [];
  let question = '';
  for (const m of history) {
    if (m.role === 'user') question = m.content;
    else if (m.role === 'assistant' && m.content.trim())
      out.push({ question, topic: topicOf(question, m.content), text: m.content, points: pointsOf(m.content) });
  }
  return out;
}

// Must match how the orchestrator opens a quoted answer and a "tell me more" answer.
export const QUOTED_INTRO = 'From the knowledge base:';
const MORE_INTRO = /^More on "(.+)":$/m;

function topicOf(question: string, answer: string): string | undefined {
  if (answer.startsWith(QUOTED_INTRO)) return question;
  return MORE_INTRO.exec(answer)?.[1];
}

const ORDINALS: Record<string, number> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  '1st': 1,
  '2nd': 2,
  '3rd': 3,
  '4th': 4,
  '5th': 5,
};

const ORDINAL_POINT = pattern(
  'i',
  String.raw`\b(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)\s+`,
  String.raw`(?:point|one|finding|item|bullet|quote|sentence)\b`,
);

/** "and the second point?" → 2; "the last one" → -1. */
export function pointAsked(q: string): number | undefined {
  const m = ORDINAL_POINT.exec(q) ?? /\b(?:point|item|finding)\s+(?:number\s+)?(\d)\b/i.exec(q);
  if (!m) return undefined;
  const word = m[1].toLowerCase();
  return word === 'last' ? -1 : (ORDINALS[word] ?? Number(word));
}

/**
 * A question that leans on the one before it ("And when did it end?", "Is there a maximum?",
 * "And films?"): it opens with "and" or "what about", or says "it", "they", "there"; and it names
 * little of its own (a question with its own subject is a new question, whatever its pronouns).
 */
const LEANS_BACK = pattern(
  'i',
  String.raw`^\s*(?:and|but|also|what about|how about)\b`,
  String.raw`|\b(?:it|its|they|them|their|this|that|these|those|he|him|his|she|her|there|then|the same)\b`,
);
/** A question naming more terms than this has a subject of its own. */
const MAX_LEANING_TERMS = 2;

export interface FollowUp {
  /** The question of the answer it follows. */
  topic: string;
  /** The documents that answer quoted (their addresses without the passage: `kb://doc_x`). */
  documents: Set<string>;
}

/**
 * What a follow-up question is about: the last answer's question and the documents it quoted. A
 * question alone ("And when did it end?") shares a word or two with any document ("Ending the
 * agreement" of some terms of service); read after its topic, it is asked of the same documents.
 */
export function followUpOf(question: string, history: ChatMessage[]): FollowUp | undefined {
  if (!LEANS_BACK.test(question) || questionTerms(question).terms.length > MAX_LEANING_TERMS) return undefined;
  const last = earlierAnswers(history).at(-1);
  if (!last?.topic) return undefined;
  const documents = new Set(last.points.flatMap((p) => (p.source ? [documentOf(p.source.url)] : [])));
  return documents.size ? { topic: last.topic, documents } : undefined;
}

/** The document of a passage's address: `kb://doc_x#3` is of `kb://doc_x`. */
export const documentOf = (url: string): string => url.replace(/#.*$/, '');
