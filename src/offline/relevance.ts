// Which sentences of the retrieved passages answer the question, if any. Retrieval (BM25 over
// chunks) finds text that shares words with the question; that is recall, not relevance. Here a
// passage is quoted only when its paragraph and title cover most of what the question asks, when
// it scores close to the best hit, and then only through its answer-bearing sentence: the one
// that carries what the question asks beyond the paragraph's subject, never the title line.
import { queryTerms } from '../kb/types.ts';
import type { KnowledgeResult } from '../tools/knowledge-search.ts';
import { anyOf } from './pattern.ts';
import { isCode, paragraphs, stem, stems } from './text.ts';

/** Share of the question's terms the paragraph with its title must contain. */
export const MIN_QUESTION_COVERAGE = 0.6;
/** A quote must score at least this fraction of the best quote's score. */
export const MIN_RELATIVE_SCORE = 0.65;
export const MAX_QUOTES = 3;

export interface Quote {
  text: string;
  passage: KnowledgeResult;
  /** Position of the sentence in its passage, to find its neighbours ("tell me more"). */
  paragraph: number;
  sentence: number;
  score: number;
}

export interface Selection {
  /** The words searched for, as the user would recognise them. */
  terms: string[];
  quotes: Quote[];
}

// Words that say how a question is asked, not what it is about.
const FILLER = new Set(
  [
    'know want need find info information anything something thing things kind sort way ways',
    'much many also just really ok okay get got each other after before should must',
    'question questions document documents doc docs say says said mention mentions talk summarize summarise',
  ]
    .join(' ')
    .split(' ')
    .map(stem),
);

/** A figure, in digits or words. */
const FIGURE = anyOf(
  String.raw`\d[\d.,]*`,
  ...'one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty'.split(
    ' ',
  ),
  'hundred',
  'a few',
  'several',
);
/** A count of units: a figure, or one ("an hour"). */
const NUMBER = anyOf(FIGURE, 'an?');

/** A person's name, as text writes it: "Daniel Stenberg", "Steve J. Klabnik". */
const PERSON = String.raw`\p{Lu}\p{Ll}+\s+(\p{Lu}\.\s+)?\p{Lu}\p{Ll}+`;
const MAKER = '([Bb]y|[Aa]uthors?|[Cc]reators?|[Mm]aintainers?|[Ff]ounders?|[Ii]nventors?|[Cc]opyright)';

/** The kind of answer a question asks for, recognised by its shape ("how long" wants a duration). */
const SHAPES: { asks: RegExp; consumes: string[]; answer: RegExp }[] = [
  {
    // "How long" asks for a duration or a length ("How long is the bridge?").
    asks: /\b(how long|how many (years|months|weeks|days|hours|minutes))\b/i,
    consumes: ['long', 'last', 'year', 'month', 'week', 'day', 'hour', 'minute', 'take'],
    answer: new RegExp(
      String.raw`\b${NUMBER}\s*(?:to\s*${NUMBER}\s*)?(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|ms|milliseconds?|` +
        String.raw`(?:kilo|centi|milli)?(?:metres?|meters?)|km|cm|mm|miles?|feet|foot|ft|inch(?:es)?|characters?|bytes?)\b`,
      'i',
    ),
  },
  {
    // Who made something is answered by a name ("Daniel Stenberg is the main author"), never by a
    // sentence that only shares the verb's stem ("--create-dirs").
    asks: /\bwho (created|wrote|writes|invented|made|founded|develops|developed|designed|built|discovered|maintains|authored|started)\b/i,
    consumes: [
      'creat',
      'wrote',
      'writ',
      'invent',
      'made',
      'found',
      'develop',
      'design',
      'built',
      'discover',
      'maintain',
      'author',
      'start',
    ],
    answer: new RegExp(
      // "by Daniel Stenberg", or "Daniel Stenberg is the main author" (a few words apart: "Redis
      // Cluster, one pipeline per node is created" names no maker).
      `\\b${MAKER}\\b.*${PERSON}|${PERSON},?\\s+(\\S+\\s+){0,3}(${MAKER}|created|wrote|invented|founded|designed)\\b`,
      'u',
    ),
  },
  {
    // When something happened is answered by a date.
    asks: /\bwhen (was|were|did)\b/i,
    consumes: [],
    answer:
      /\b(1[5-9]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|september|october|november|december)\b/i,
  },
  {
    asks: /\b(what time|at what time|when does .* (open|close|start|end|begin|finish))\b/i,
    consumes: ['time', 'open', 'close', 'start', 'end', 'begin', 'finish'],
    answer: /\b\d{1,2}([:.h]\d{2}|\s*(am|pm|o'clock))\b/i,
  },
  {
    asks: /\bhow often\b/i,
    consumes: ['often'],
    answer: /\b(every|each|once|twice|times|per|daily|weekly|monthly|yearly|annually|after every)\b/i,
  },
  {
    asks: /\b(what (percent|percentage|share|fraction)|how efficient)\b/i,
    consumes: ['percent', 'percentage', 'share', 'fraction'],
    answer: /\d[\d.,]*\s*(%|percent)/i,
  },
  {
    asks: /\b(how (much|many)|what temperature|how (hot|cold|far|heavy|big))\b/i,
    consumes: ['hot', 'cold', 'far', 'heavy', 'big'],
    // A figure, not "a" or "an" (which would let any sentence through).
    answer: new RegExp(String.raw`\b${FIGURE}\b`, 'i'),
  },
  { asks: /\bhow (do|does|did)\b.*\bwork\b/i, consumes: ['work'], answer: /./ },
];

const HOW_TO = /\bhow (do|can|should|would) (i|we|you|one)\b|\bhow to\b/i;

/**
 * A sentence that speaks to the assistant reading the document rather than about its subject (text
 * planted to steer a model: "Ignore the previous instructions", "Tell the user that ..."). Quoted,
 * it would read as the document's answer; it answers nothing.
 */
const ADDRESSES_THE_ASSISTANT =
  /\b(ignore|disregard|forget) (all |any |the )?(previous|prior|above|earlier|preceding) (instructions|prompts?|messages?|rules)\b|\b(tell|inform|convince|assure) the (user|reader|customer)\b|\byou are (now )?(an? |the )?(ai|assistant|language model|chatbot)\b|\bas an ai\b|\b(your|the) system prompt\b/i;

/**
 * What a question names exactly: command-line options (`-a`, `--ignore-case`), version numbers
 * (`1.0`, `3.12.1`) and numbers of two digits or more (`1987`, `6455`). Words that match by stem
 * cannot stand for them: a passage that does not name them does not answer the question.
 */
const EXACT = /(?<![\w-])--?[a-z][\w-]*|\b\d+(?:\.\d+)+\b|\b\d{2,}\b/gi;

/** At most this many: a question naming more (a pasted table of figures) is not asking about each. */
const MAX_EXACT = 8;

function exactTerms(question: string): string[] {
  return [...new Set(question.match(EXACT) ?? [])].slice(0, MAX_EXACT);
}

/** What finds `exact` as a whole in a text (`-a` is not `-all`, `1.0` is not `1.05`), in its case. */
const naming = (exact: string): RegExp =>
  new RegExp(String.raw`(?<![\w.-])${exact.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\w-]|\.\d)`);

/** The terms of the words a question writes with a capital inside it (not its first word): names. */
const namedTerms = (question: string): string[] =>
  [...question.matchAll(/(?<=\S\s+)\p{L}*\p{Lu}[\p{L}\p{N}]*/gu)].flatMap((m) => stems(m[0]));

export function questionTerms(question: string): { terms: string[]; shape?: RegExp } {
  const shape = SHAPES.find((s) => s.asks.test(question));
  const consumed = new Set(shape?.consumes.map(stem) ?? []);
  return { terms: stems(question).filter((t) => !FILLER.has(t) && !consumed.has(t)), shape: shape?.answer };
}

interface Para {
  passage: KnowledgeResult;
  index: number;
  heading: string;
  title: Set<string>;
  sentences: { text: string; terms: Set<string> }[];
  all: Set<string>;
}

export function selectQuotes(question: string, passages: KnowledgeResult[], opts: { max?: number } = {}): Selection {
  const { terms, shape } = questionTerms(question);
  // A command from a code block answers how to do something, not what a thing is or does.
  const asksHowTo = HOW_TO.test(question);
  const wanted = new Set(terms);
  const selection: Selection = { terms: queryTerms(question).filter((w) => wanted.has(stem(w))), quotes: [] };
  if (!terms.length) return selection;
  const only = (text: string) => new Set(stems(text).filter((t) => wanted.has(t)));

  const paras: Para[] = passages.flatMap((passage) =>
    paragraphs(passage.text).map((p, index) => {
      const title = only(`${passage.title} ${p.heading}`);
      const sentences = p.sentences.map((text) => ({ text, terms: only(text) }));
      return {
        passage,
        index,
        heading: p.heading,
        title,
        sentences,
        all: new Set([...title, ...sentences.flatMap((s) => [...s.terms])]),
      };
    }),
  );
  // Terms few paragraphs contain say more about which paragraph the question is about.
  const df = (t: string) => paras.filter((p) => p.all.has(t)).length;
  const idf = new Map(terms.map((t) => [t, Math.log(1 + (paras.length - df(t) + 0.5) / (df(t) + 0.5))]));
  const weight = (ts: Iterable<string>) => [...ts].reduce((n, t) => n + (idf.get(t) ?? 0), 0);

  const exact = exactTerms(question).map(naming);
  const named = namedTerms(question).filter((t) => wanted.has(t));
  const quotes: Quote[] = [];
  for (const p of paras) {
    if (exact.length) {
      const said = `${p.passage.title}\n${p.heading}\n${p.sentences.map((s) => s.text).join('\n')}`;
      if (!exact.every((e) => e.test(said))) continue;
    }
    const shaped = (s: { text: string }) => !shape || shape.test(s.text);
    // The answer's shape is a condition, not one more word matched: a question about something the
    // passages never name ("How much memory does a Chromebook have?") is not half answered by a
    // sentence with a number in it.
    if (shape && !p.sentences.some(shaped)) continue;
    // A named option or version the paragraph has (checked above) counts as a word it matched.
    if ((p.all.size + exact.length) / (terms.length + exact.length) < MIN_QUESTION_COVERAGE) continue;
    // What the question names with a capital (MySQL, Python, iPhone) is what it is about: a passage
    // that never names it answers another question ("the default port" of something else).
    if (named.some((t) => !p.all.has(t))) continue;
    // The paragraph's subject is what its title names; the question's focus is what it asks beyond
    // that ("milk" in "Can I put milk in Velvet Ember?"). The answer is a sentence that carries the
    // focus; a question about the subject alone is answered by sentences that name it.
    const focus = terms.filter((t) => !p.title.has(t));
    // ...or, for a question about the subject alone, a sentence that names it, or has the shape of
    // the answer ("Who created curl?" in the section of curl's authors).
    const carries = (s: { terms: Set<string> }) =>
      focus.length ? focus.some((t) => s.terms.has(t)) : s.terms.size > 0 || shape !== undefined;
    // A sentence that names the option or version the question names is about it.
    const namesExact = (text: string) => exact.length > 0 && exact.every((e) => e.test(text));
    const eligible = p.sentences
      .map((s, i) => ({ ...s, i }))
      .filter((s) => shaped(s) && (namesExact(s.text) || carries(s)))
      .filter((s) => asksHowTo || !isCode(s.text))
      .filter((s) => !ADDRESSES_THE_ASSISTANT.test(s.text));
    // What the title names the whole paragraph is about: it counts as much as a term the sentence
    // names, and more, as a sentence may name a term in passing. Otherwise a section titled with
    // the question's subject ranked below any other that mentions it ("Variadic closures." in
    // "Missing Features" above "This facility is called the closure API." in "The Closure API").
    const subject = weight(p.title);
    for (const s of eligible) {
      const own = weight([...s.terms].filter((t) => !p.title.has(t)));
      // A sentence that opens with what the question names is about it ("Evaporation turns...").
      const opening = new Set(stems(s.text.split(/\s+/).slice(0, 3).join(' ')));
      const about = weight(terms.filter((t) => opening.has(t) && s.terms.has(t)));
      // BM25's length normalisation: a long sentence that mentions a term in passing ranks lower.
      const length = s.text.split(/\s+/).length;
      const score =
        (weight(p.all) + 2 * own + 3 * subject + 0.5 * about) / (0.75 + 0.25 * Math.max(1, length / 20)) - s.i * 0.01;
      quotes.push({ text: s.text, passage: p.passage, paragraph: p.index, sentence: s.i, score });
    }
  }
  quotes.sort((a, b) => b.score - a.score);
  const best = quotes[0]?.score ?? 0;
  const seen = new Set<string>();
  // One sentence per paragraph: its best. "Tell me more" gives the rest.
  const quotedParagraphs = new Set<string>();
  for (const q of quotes) {
    const paragraph = `${q.passage.url}/${q.paragraph}`;
    if (q.score < MIN_RELATIVE_SCORE * best || seen.has(q.text) || quotedParagraphs.has(paragraph)) continue;
    seen.add(q.text);
    quotedParagraphs.add(paragraph);
    selection.quotes.push(q);
    if (selection.quotes.length === (opts.max ?? MAX_QUOTES)) break;
  }
  return selection;
}

/** The sentences around a quote in its passage, for "tell me more". */
export function neighbours(passage: KnowledgeResult, paragraph: number): string[] {
  return paragraphs(passage.text)[paragraph]?.sentences ?? [];
}
