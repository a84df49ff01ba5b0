// Which sentences of the retrieved passages answer the question, if any. Retrieval (BM25 over
// chunks) finds text that shares words with the question; that is recall, not relevance. Here a
// passage is quoted only when its paragraph and title cover most of what the question asks, when
// it scores close to the best hit, and then only through its answer-bearing sentence: the one
// that carries what the question asks beyond the paragraph's subject, never the title line.
import { queryTerms } from '../kb/types.ts';
import { wordsOf } from '../kb/words.ts';
import type { KnowledgeResult } from '../tools/knowledge-search.ts';
import { anyOf } from './pattern.ts';
import { isCode, paragraphs, stem, stems, wordList } from './text.ts';

/** Share of the question's terms the paragraph with its title must contain. */
export const MIN_QUESTION_COVERAGE = 0.6;
/** A quote must score at least this fraction of the best quote's score. */
export const MIN_RELATIVE_SCORE = 0.65;
export const MAX_QUOTES = 3;
/** A second sentence of a quoted paragraph must score at least this fraction of the first's. */
export const SECOND_IN_PARAGRAPH = 0.9;

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
    'know want need find info information anything something thing things kind sort way ways use using used',
    'much many also just really ok okay get got each other after before should must',
    'question questions document documents doc docs say says said mention mentions talk summarize summarise',
    // Function words of English the search keeps (prepositions, conjunctions): they say how a
    // question is put, not what it is about. (Contractions are spelt out first: "don't" is "do not".)
    'll ve re myself yourself ourselves themselves himself herself because until against between through during',
    'above below up down out off further whether unless otherwise like across around toward towards',
    // Auxiliaries and question words of German, French and Spanish the search keeps: "Wann wurde
    // die Schwebebahn eröffnet?" is not answered by any sentence that says "wurde".
    'wurde wurden wird werden worden hat haben hatte hatten bin bist seid waren wann warum wieso weshalb viel viele',
    'combien faut quand quoi été était étaient ont avait peut doit',
    'cuánto cuánta cuántos cuántas fue fueron son está están tiene tienen puede',
    // Italian and Portuguese, whose function words the search does not know: articles,
    // prepositions, auxiliaries and question words ("Quanto tempo dura uma partida?").
    'il lo gli di da con tra fra che chi cosa come dove quando quanto quanta quanti quante perché è sono era',
    'fu furono ha hanno può possono si del della dei delle al alla nel nella un una uno per non',
    'os as um uma umas uns do da dos das no na nos nas ao aos em com pelo pela que quem qual quais como onde',
    'quando quanto quanta quantos quantas porque foi foram são está estão tem têm pode podem se não cada ogni',
    // What a question asks about the consequence of something, not its subject ("What happens if...").
    'happen',
    // The same in Chinese and Japanese ("the way to", "information about", "want to know").
    '方法 办法 方式 信息 资料 东西 事情 知道 想 想要 我想 我要 使用 用 一下 やり方 仕方 情報 知り たい 教え',
  ]
    .join(' ')
    .split(' ')
    .map(stem),
);

/** A figure, in digits or words (of English, German, French, Spanish, Italian and Portuguese). */
const FIGURE = anyOf(
  String.raw`\d[\d.,]*`,
  ...'one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty'.split(
    ' ',
  ),
  'hundred',
  'a few',
  'several',
  ...[
    'zwei drei vier fünf sechs sieben acht neun zehn zwölf zwanzig dreißig hundert',
    'deux trois quatre cinq six sept huit neuf dix douze quinze vingt trente cent',
    'dos tres cuatro cinco seis siete ocho nueve diez doce quince veinte treinta cien',
    'due tre quattro cinque sei sette otto nove dieci dodici quindici venti trenta cento',
    'dois duas três quatro cinco seis sete oito nove dez doze quinze vinte trinta cem',
  ]
    .join(' ')
    .split(' '),
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
    // So do "wie lange", "combien de temps", "cuánto tiempo", "quanto tempo", whose answer says its
    // units in its own language ("cinq à sept jours", "cerca de 30 minutos").
    asks: /\b(how long|how many (years|months|weeks|days|hours|minutes))\b|(?<!\p{L})(wie lange|combien de temps|cuánto tiempo|quanto tempo)(?!\p{L})/iu,
    consumes: [
      'long',
      'last',
      'year',
      'month',
      'week',
      'day',
      'hour',
      'minute',
      'take',
      'lange',
      'temps',
      'tiempo',
      'tempo',
      'dura',
      'dauert',
    ],
    answer: new RegExp(
      // "two-year", "30-day": a duration written as one word with its figure.
      String.raw`(?<![\p{L}\p{N}])${NUMBER}[\s-]*(?:(?:to|à|a|bis|-|–)\s*${NUMBER}[\s-]*)?(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|ms|milliseconds?|` +
        String.raw`(?:kilo|centi|milli)?(?:metres?|meters?)|km|cm|mm|miles?|feet|foot|ft|inch(?:es)?|characters?|bytes?|` +
        // The same units in German, French, Spanish, Italian and Portuguese.
        String.raw`jahre?n?|monate?n?|wochen?|tage?n?|stunden?|minuten?|sekunden?|ans?|années?|mois|semaines?|jours?|heures?|secondes?|` +
        String.raw`años?|meses|mes|semanas?|días?|horas?|minutos?|segundos?|anni|anno|mesi|mese|settimane|settimana|giorni|giorno|ore|ora|minuti|secondi|` +
        String.raw`anos?|dias?)(?![\p{L}\p{N}])`,
      'iu',
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
    // When something did open, close, start or end is answered by a date or by a time of day ("The
    // meeting closed at 21:15."); the verb stays a word of the question.
    asks: /\bwhen did .*\b(open|close|start|end|begin|finish)\b/i,
    consumes: [],
    answer:
      /\b(1\d\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|november|december|century|centuries)\b|\b\d{1,2}([:.h]\d{2}|\s*(am|pm|o'clock))\b/i,
  },
  {
    // When something happened is answered by a date.
    asks: /\bwhen (was|were|did)\b|(?<!\p{L})(wann|quand|cuándo)(?!\p{L})/iu,
    consumes: [],
    // A year (a thousand years back: "the Peace of Stralsund in 1370"), a decade, a century or a month.
    answer:
      /\b(1\d\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|november|december|century|centuries)\b/i,
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
    asks: /\b(how (much|many)|what temperature|how (hot|cold|far|heavy|big))\b|(?<!\p{L})(wie ?viele?|combien|cuánt[oa]s?|quant[oaie]s?)(?!\p{L})/iu,
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
 * A sentence that opens with a pronoun standing for what the sentence before it said: "These are
 * called neap tides.", "It marked the height of the league's power.", "This is why...".
 */
const POINTS_BACK =
  /^(?:This|That|These|Those|It|They|Such)\s+(?:is|are|was|were|means?|meant|makes?|made|marks?|marked|gives?|gave|lets?|has|have|had|can|could|will|would|also|became|becomes)\b/;

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

/**
 * A word made of a letter and a word ("e-readers", "T-shirt", "x-ray"): the search splits it and
 * drops the letter, but a text about "readers" does not speak of e-readers. What finds it as a
 * whole, in any case and number.
 */
const lettered = (question: string): RegExp[] =>
  [...question.matchAll(/(?<![\p{L}\p{N}-])(\p{L})-(\p{L}{2,})(?![\p{L}\p{N}-])/gu)].map(
    ([, letter, word]) => new RegExp(String.raw`(?<![\p{L}\p{N}-])${letter}-${stem(word)}`, 'iu'),
  );

/**
 * The terms of the words a question writes with a capital inside it (not its first word): names.
 * Next to Chinese or Japanese, without a space, the name is the word of the run that has the
 * capital ("Redis" of "配置Redis端口").
 */
const namedTerms = (question: string): string[] =>
  // The letter is looked for before the space behind it: the other way round, every position of a
  // long run of spaces looked back over the whole run (9 s for a message of 200,000 newlines).
  [...question.matchAll(/(?=\p{L})(?<=\S\s+)\p{L}*\p{Lu}[\p{L}\p{N}]*/gu)].flatMap((m) =>
    stems(
      wordsOf(m[0])
        .filter((w) => /\p{Lu}/u.test(w))
        .join(' '),
    ),
  );

/**
 * The initialisms a title's names make: "The Lantern Heartbeat Protocol" is also "LHP" (and "HP",
 * "TLHP"), the way a document names itself after its title says it in full once.
 */
function initialisms(title: string): string {
  const out: string[] = [];
  for (const run of title.match(/(?:\p{Lu}\p{Ll}+[ \t]+)+\p{Lu}\p{Ll}+/gu) ?? []) {
    const initials = run.split(/\s+/).map((w) => w[0]);
    for (let i = 0; i < initials.length - 1; i++)
      for (let j = i + 2; j <= initials.length; j++) out.push(initials.slice(i, j).join(''));
  }
  return out.join(' ');
}

/** Phrasal verbs said in one word ("turn on" is "enable"), in a question and in the text alike. */
const PHRASAL: [RegExp, string][] = [
  [/\b(?:turn|switch)(?:s|ed|ing)? on\b/gi, 'enable'],
  [/\b(?:turn|switch)(?:s|ed|ing)? off\b/gi, 'disable'],
  [/\bset(?:s|ting)? up\b/gi, 'setup'],
  [/\bshut(?:s|ting)? down\b/gi, 'shutdown'],
  [/\bclean(?:s|ed|ing)? up\b/gi, 'cleanup'],
  [/\bout of the box\b/gi, 'default'],
  [/\bturn(?:s|ed|ing)?\b(?=(?:\s+\S+){1,5}?\s+into\b)/gi, 'convert'],
];
const oneWord = (text: string): string =>
  PHRASAL.reduce(
    (t, [phrase, word]) => t.replace(phrase, word),
    text
      .replace(
        /\b(won|can|shan)['’]t\b/gi,
        (_, w: string) => `${{ won: 'will', can: 'can', shan: 'shall' }[w.toLowerCase()]} not`,
      )
      .replace(/n['’]t\b/gi, ' not'),
  );

/**
 * Words that documentation uses for one another: the common verbs and nouns of technical writing
 * ("remove" for "delete", "enable" for "turn on"). A question's word is found in a text that says
 * one of its related words instead. General English, never the words of one document.
 */
const RELATED_WORDS = [
  'enable activate',
  'disable deactivate stop',
  'delete remove erase',
  'install setup',
  'create generate',
  'start begin launch',
  'shutdown terminate',
  'stop prevent',
  'error failure fail',
  'support accept handle',
  'allow permit',
  'check verify validate',
  'convert transform',
  'maximum max limit',
  'change modify configure adjust customize',
  'secure security authenticate',
  'end last final',
  'deadline due',
  'minimum min',
  'big large size',
  'folder directory',
  'app application',
  'package module library',
  // Abbreviations, and the words they stand for.
  'auto automatic',
  'config configuration',
  'dir directory',
  'env environment',
  'repo repository',
  'db database',
  'param parameter',
  'arg argument',
  'auth authentication',
  'init initialize',
  'lib library',
  'pkg package',
  'msg message',
  'conn connection',
];
const RELATED = new Map<string, Set<string>>();
for (const line of RELATED_WORDS) {
  const group = line.split(' ').map(stem);
  for (const w of group) RELATED.set(w, new Set([...(RELATED.get(w) ?? []), ...group.filter((g) => g !== w)]));
}

/** The words of a camel-cased name ("enableOfflineQueue" says "enable offline queue"). */
const CAMEL = /\b[a-z]+(?:[A-Z][a-z]+)+\b/g;
const camelWords = (text: string): string =>
  (text.match(CAMEL) ?? []).map((name) => name.replace(/([a-z])([A-Z])/g, '$1 $2')).join(' ');

/**
 * A text without the addresses of its links: a link says its text, not the words of its URL.
 * Both patterns start only where a run of the characters they repeat starts (the link's target
 * stops at the next `]`, the scheme is not preceded by a scheme character): otherwise each position
 * of a long run ("a-a-a-…", "v1.v1.…", "](](…") rescans the rest of it, quadratic time (seconds of
 * the event loop for one message).
 */
const withoutUrls = (text: string): string =>
  text.replace(/\]\([^)\s\]]*\)/g, ']').replace(/(?<![\w+.-])[a-z][a-z0-9+.-]*:\/\/\S+/gi, ' ');

/** The stems of a text, with its phrasal verbs said in one word and its names' words. */
const textStems = (text: string): string[] => {
  const said = withoutUrls(text);
  return stems(`${oneWord(said)} ${camelWords(said)}`);
};

/** The question's terms a text's stems stand for: each itself, and the related words it is said by. */
function standsFor(textTerms: Iterable<string>, wanted: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const t of textTerms) {
    if (wanted.has(t)) out.add(t);
    for (const r of RELATED.get(t) ?? []) if (wanted.has(r)) out.add(r);
  }
  return out;
}

export function questionTerms(question: string): { terms: string[]; shape?: RegExp } {
  const shape = SHAPES.find((s) => s.asks.test(question));
  const consumed = new Set(shape?.consumes.map(stem) ?? []);
  return { terms: textStems(question).filter((t) => !FILLER.has(t) && !consumed.has(t)), shape: shape?.answer };
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
  const only = (text: string) => standsFor(textStems(text), wanted);

  const paras: Para[] = passages.flatMap((passage) =>
    paragraphs(passage.text).map((p, index) => {
      const title = only(`${passage.title} ${p.heading} ${initialisms(`${passage.title} ${p.heading}`)}`);
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

  const exact = [...exactTerms(question).map(naming), ...lettered(question)];
  const named = namedTerms(question).filter((t) => wanted.has(t));
  const quotes: Quote[] = [];
  for (const p of paras) {
    if (exact.length) {
      const said = `${p.passage.title}\n${p.heading}\n${p.sentences.map((s) => s.text).join('\n')}`;
      if (!exact.every((e) => e.test(said))) continue;
    }
    // A section headed by the version or number the question names, with the answer's shape in
    // its heading ("## 2.3.0 — 2026-02-10" of a changelog), gives that shape to its sentences:
    // they are quoted after the heading, which says the answer.
    // (The heading may be the paragraph's own or one of its passage's title, a subsection's parent:
    // "## [2.4.1] - 2026-06-02" over "### Fixed".)
    const headed = !shape || !exact.length ? undefined : headingSaying(p, shape, exact);
    const shaped = (s: { text: string }) => !shape || headed !== undefined || shape.test(s.text);
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
    // A question heading is answered by the first sentence under it, as in a FAQ ("How to connect
    // via a proxy?" by "Use a custom `http.Agent`..."): when the section covers the question and
    // none of its sentences names what the question asks beyond the heading, the heading is the
    // context of that sentence. (A heading that names a subject, "Solar energy", is no question:
    // its first sentence does not answer "Is solar energy expensive?".) A sentence that names the
    // focus without the answer's shape does not stand in its way ("Children's cards are never
    // charged late fees." gives no figure for "How much is the late fee?").
    const leads =
      /\?\s*$/.test(p.heading) &&
      !paras.some((o) => o.passage === p.passage && o.index < p.index && o.heading === p.heading) &&
      !p.sentences.some((s) => shaped(s) && carries(s));
    const eligible = p.sentences
      .map((s, i) => ({ ...s, i }))
      .filter((s) => shaped(s) && (namesExact(s.text) || carries(s) || ((leads || headed !== undefined) && s.i === 0)))
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
      const words = wordList(s.text);
      const opening = new Set(stems(words.slice(0, 3).join(' ')));
      const about = weight(terms.filter((t) => opening.has(t) && s.terms.has(t)));
      // BM25's length normalisation: a long sentence that mentions a term in passing ranks lower.
      const length = words.length;
      const score =
        (weight(p.all) + 2 * own + 3 * subject + 0.5 * about) / (0.75 + 0.25 * Math.max(1, length / 20)) - s.i * 0.01;
      // A sentence that opens by pointing back ("These are called neap tides.") says nothing alone:
      // it is quoted with the sentence it points to; and a sentence the next one goes on about
      // ("...four great foreign offices." "They were in London, ...") with that one.
      const before = s.i > 0 ? p.sentences[s.i - 1].text : undefined;
      const after = p.sentences[s.i + 1]?.text;
      const said =
        before && POINTS_BACK.test(s.text) && !isCode(before)
          ? `${before} ${s.text}`
          : after && POINTS_BACK.test(after) && !isCode(s.text)
            ? `${s.text} ${after}`
            : s.text;
      const text = headed && !shape!.test(said) ? `${headed}: ${said}` : said;
      quotes.push({ text, passage: p.passage, paragraph: p.index, sentence: s.i, score });
    }
  }
  quotes.sort((a, b) => b.score - a.score);
  const best = quotes[0]?.score ?? 0;
  const seen = new Set<string>();
  // One sentence per paragraph, its best, and a second only when it scores about as well (two rows
  // of one table, a statement and its reason). "Tell me more" gives the rest.
  const quotedParagraphs = new Map<string, { score: number; count: number }>();
  for (const q of quotes) {
    const paragraph = `${q.passage.url}/${q.paragraph}`;
    const first = quotedParagraphs.get(paragraph);
    if (q.score < MIN_RELATIVE_SCORE * best || [...seen].some((t) => t.includes(q.text) || q.text.includes(t)))
      continue;
    if (first && (first.count > 1 || q.score < SECOND_IN_PARAGRAPH * first.score)) continue;
    seen.add(q.text);
    quotedParagraphs.set(paragraph, first ? { ...first, count: 2 } : { score: q.score, count: 1 });
    selection.quotes.push(q);
    if (selection.quotes.length === (opts.max ?? MAX_QUOTES)) break;
  }
  return selection;
}

/**
 * The heading over a paragraph (its own, or a level of its passage's title) that names every exact
 * term of the question and has the answer's shape, as a changelog's "## 2.3.0 — 2026-02-10" does.
 */
function headingSaying(p: Para, shape: RegExp, exact: RegExp[]): string | undefined {
  const levels = [p.heading, ...p.passage.title.split(/\s+—\s+/)].map((h) => h.trim()).filter(Boolean);
  return levels.find((h) => shape.test(h) && exact.every((e) => e.test(h)));
}

/** The sentences around a quote in its passage, for "tell me more". */
export function neighbours(passage: KnowledgeResult, paragraph: number): string[] {
  return paragraphs(passage.text)[paragraph]?.sentences ?? [];
}
