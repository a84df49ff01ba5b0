// Small, deterministic text tools of the offline engine: word stems, sentences and paragraphs.
// No model: only counting, so the engine never says what its sources do not.
import { MARKDOWN_HEADING } from '../kb/chunk.ts';
import { isFence, joinOpenFences } from '../kb/code-fences.ts';
import { queryTerms, STOP_WORDS } from '../kb/types.ts';
import { HAN_KANA, unspacedCount, UNSPACED, wordsOf, wordsOfEach } from '../kb/words.ts';

/**
 * The irregular forms of common English verbs (and plurals), by their base form: "fed" is "feed",
 * "written" is "write". Forms that are also other words are left out ("found", "left", "saw",
 * "spoke", "won", "lay", "felt", "ground", "wound").
 */
const IRREGULAR = new Map(
  [
    'arise arose arisen',
    'awake awoke awoken',
    'become became',
    'begin began begun',
    'bend bent',
    'bind bound',
    'bite bit bitten',
    'bleed bled',
    'blow blew blown',
    'break broke broken',
    'breed bred',
    'bring brought',
    'build built',
    'burn burnt',
    'buy bought',
    'catch caught',
    'choose chose chosen',
    'come came',
    'creep crept',
    'deal dealt',
    'die died dying',
    'dig dug',
    'draw drew drawn',
    'drink drank drunk',
    'drive drove driven',
    'eat ate eaten',
    'fall fell fallen',
    'feed fed',
    'fight fought',
    'flee fled',
    'fly flew flown',
    'forget forgot forgotten',
    'freeze froze frozen',
    'get got gotten',
    'give gave given',
    'go went gone',
    'grow grew grown',
    'hang hung',
    'hear heard',
    'hide hid hidden',
    'hold held',
    'keep kept',
    'know knew known',
    'lead led',
    'lend lent',
    'lie lied lying',
    'lose lost',
    'make made',
    'mean meant',
    'meet met',
    'pay paid',
    'ride rode ridden',
    'ring rang rung',
    'rise rose risen',
    'run ran',
    'say said',
    'seek sought',
    'sell sold',
    'send sent',
    'shake shook shaken',
    'shine shone',
    'shoot shot',
    'show shown',
    'shrink shrank shrunk',
    'sing sang sung',
    'sink sank sunk',
    'sit sat',
    'sleep slept',
    'slide slid',
    'spend spent',
    'spin spun',
    'stand stood',
    'steal stole stolen',
    'stick stuck',
    'strike struck',
    'swear swore sworn',
    'sweep swept',
    'swim swam swum',
    'take took taken',
    'teach taught',
    'tear tore torn',
    'think thought',
    'throw threw thrown',
    'tie tied tying',
    'understand understood',
    'wake woke woken',
    'wear wore worn',
    'write wrote written',
    'child children',
    'foot feet',
    'tooth teeth',
    'mouse mice',
    'man men',
    'woman women',
  ].flatMap((line) => {
    const [base, ...forms] = line.split(' ');
    return forms.map((form) => [form, base] as const);
  }),
);

/** A crude English stemmer: enough to match "panels" with "panel" or "charging" with "charge". */
export function stem(word: string): string {
  let w = word.toLowerCase();
  w = IRREGULAR.get(w) ?? w;
  if (w.length > 4 && (w.endsWith('ency') || w.endsWith('ancy'))) return `${w.slice(0, -2)}t`; // efficiency ~ efficient
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'es', 'ed', 'ly', 's']) {
    if (!w.endsWith(suffix) || w.length - suffix.length < 3) continue;
    // Short words lose only a plural s ("bees", "cats"), not "-us" or "-ss" ("bus", "less").
    if (w.length <= 4 && (suffix !== 's' || /(ss|us|is)$/.test(w))) continue;
    // "-es" is a suffix only after a hissing sound ("boxes", "wishes"); "lives" is "live" + "s".
    if (suffix === 'es' && !/(s|x|z|ch|sh)es$/.test(w)) continue;
    w = suffix === 'ies' || suffix === 'ied' ? `${w.slice(0, -3)}y` : w.slice(0, -suffix.length);
    // A consonant doubled before "-ing" or "-ed" is one: "stopped" and "setting" are "stop" and
    // "set" ("add", "fill", "pass" keep theirs).
    if ((suffix === 'ing' || suffix === 'ed') && w.length >= 4 && /([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
    break;
  }
  // A noun of action is its verb's stem: "authentication" meets "authenticate", "rotations" meets
  // "rotated" (not in short words: "station" is no "state").
  if (w.length >= 8 && w.endsWith('ation')) w = w.slice(0, -3);
  // A final silent e goes too, so that "store" meets "storing" and "live" meets "lives"; and, in a
  // longer word, the final vowel of Italian, Spanish and Portuguese forms ("costa" meets "costo",
  // "partida" meets "partidas").
  return (w.length > 3 && w.endsWith('e')) || (w.length > 4 && /[ao]$/.test(w)) ? w.slice(0, -1) : w;
}

/** The searchable words of a text (stop words dropped), stemmed, each once. */
export const stems = (text: string): string[] => [...new Set(queryTerms(text).map(stem))];

/**
 * The words of a text in order, as its length is counted: what spaces separate, and in Chinese or
 * Japanese, which separate none, the words Intl.Segmenter finds (words.ts).
 */
export const wordList = (text: string): string[] => (UNSPACED.test(text) ? wordsOf(text) : text.split(/\s+/));

/**
 * How many words each unit says itself: without Markdown images and links (a badge is an image in a
 * link), reference definitions, bare URLs and HTML tags. A unit of fewer than two is a pointer ("See
 * [the docs](...)"), a row of badges or a line of markup, not something to quote.
 */
function ownWords(units: string[]): number[] {
  const said = units.map((text) =>
    text
      .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
      .replace(/\[[^\]]*\]\([^)]*\)/g, ' ')
      .replace(/\[[^\]]+\]:\s*\S+/g, ' ')
      .replace(/<[^>]*>/g, ' ') // before URLs: a tag's own URL (src="...") must not take its `>`
      .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, ' '),
  );
  // Chinese and Japanese are split into words for all the units at once (words.ts).
  const unspaced = said.map((s) => UNSPACED.test(s));
  const split = wordsOfEach(said.filter((_, i) => unspaced[i]));
  let next = 0;
  return said.map((s, i) =>
    unspaced[i] ? split[next++].filter((w) => LETTER.test(w)).length : (s.match(OWN_WORD)?.length ?? 0),
  );
}
const LETTER = /\p{L}/u;
const OWN_WORD = /\p{L}[\p{L}\p{N}'’-]*/gu;

/**
 * A sentence end: a full stop, question or exclamation mark followed by a space and a capital (or a
 * Chinese or Japanese character); or a Chinese or Japanese one (。！？), closing quotes and
 * brackets after it, which need no space after them.
 */
const SENTENCE_END = new RegExp(
  String.raw`(?<=[.!?])\s+(?=[A-Z0-9"“(${HAN_KANA}])|(?<=[。！？][」』”’）)]*)(?![」』”’）)。！？])\s*`,
  'u',
);
/** A line break inside a sentence of Chinese or Japanese, hard-wrapped: it stands for no space. */
const UNSPACED_WRAP = new RegExp(String.raw`(?<=[${HAN_KANA}，、])[^\S\n]*\n\s*(?=[${HAN_KANA}])`, 'gu');

/**
 * The length of a sentence, with each character of Han or kana counted as three: one says about as
 * much as a short word of English with its space.
 */
const weightedLength = (s: string) => s.length + 2 * unspacedCount(s);

/**
 * Splits prose into sentences; list markers are dropped. Headings, lines of links and the entries
 * of a table of contents (a PDF's, with dot leaders) are not sentences.
 */
export function sentences(text: string): string[] {
  const prose = text.replace(/^#{1,6}\s+.*$/gm, ' ');
  // Text without Chinese or Japanese takes the plain path, as it did before they were read.
  const unspaced = UNSPACED.test(prose);
  const candidates = (unspaced ? prose.replace(UNSPACED_WRAP, '') : prose)
    .replace(/\s+/g, ' ')
    .split(unspaced ? SENTENCE_END : /(?<=[.!?])\s+(?=[A-Z0-9"“(])/)
    .map((s) => s.replace(/^[-*•]\s+/, '').trim())
    .filter((s) => (unspaced ? weightedLength(s) : s.length) >= 12 && s.length <= 600 && !DOT_LEADER.test(s));
  const words = ownWords(candidates);
  return candidates.filter((_, i) => words[i] >= 2);
}

/** The dots that lead a table of contents' entry to its page number ("Errors . . . . . 12"). */
const DOT_LEADER = /(\.\s?){5,}/;

/** A one-line command or expression from a code block, quoted as inline code (`npm i x`). */
export const isCode = (unit: string): boolean => /^`[^`]+`$/.test(unit);

/** A row of a Markdown table, and the rule under its header (`|---|:--:|`). */
const TABLE_ROW = /^\|.*\|$/;
const TABLE_RULE = /^\|(\s*:?-+:?\s*\|)+$/;
const cellsOf = (row: string) =>
  row
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim())
    .filter(Boolean);

export interface Paragraph {
  /** Heading lines and title-like lines above the prose: what the paragraph is about, never quoted. */
  heading: string;
  sentences: string[];
}

// Chinese and Japanese have no capitals: there a title is a short line without punctuation
// ("绿茶的冲泡方法"), over a line that starts a statement. A hard-wrapped line of prose is longer,
// or has its commas.
const UNSPACED_START = new RegExp(String.raw`^[${HAN_KANA}]`, 'u');
const isUnspacedTitle = (line: string, next: string | undefined): boolean =>
  line.length <= 20 && !/[。！？：；，、.!?:;,]/.test(line) && startsStatement(next);

/** Whether the line under a title-like one starts a statement: none, a capital, an item, Han or kana. */
const startsStatement = (next: string | undefined): boolean =>
  next === undefined || next === '' || /^([\p{Lu}\d#]|[-*•]\s)/u.test(next) || UNSPACED_START.test(next);

// A short line without closing punctuation standing on its own is a title ("Velvet Ember"), not a
// statement: it tells what the paragraph is about but answers nothing by itself. A line of
// hard-wrapped prose is not one: the next line goes on in lower case, or the line ends mid-phrase.
function isTitleLine(raw: string, next: string | undefined): boolean {
  if (MARKDOWN_HEADING.test(raw)) return true;
  const line = raw.trim();
  if (UNSPACED_START.test(line)) return isUnspacedTitle(line, next);
  if (!/^[\p{Lu}\d]/u.test(line) || !/^[^.!?:;。！？：；]{1,80}$/.test(line)) return false;
  const last = line.split(/\s+/).at(-1)!.toLowerCase();
  if (STOP_WORDS.has(last) || ['the', 'a', 'an', 'of', 'to', 'and'].includes(last)) return false;
  return startsStatement(next);
}

/**
 * A chunk's paragraphs, each with the title lines that head it (and the chunk's own heading). A
 * fenced code block of one line is a unit of its own, as inline code: a command answers "how do I"
 * (`npm i autocannon`); a longer one is code, not something the document says, and is left out.
 */
export function paragraphs(text: string, heading = ''): Paragraph[] {
  const out: Paragraph[] = [];
  let current = heading;
  const blocks = joinOpenFences(
    text.split(/\n\s*\n/),
    (b) => b,
    (a, b) => `${a}\n\n${b}`,
  );
  for (const block of blocks) {
    const raw = block.split('\n');
    const titles: string[] = [];
    while (raw.length && (raw[0].trim() === '' || isTitleLine(raw[0], raw[1]?.trim())))
      titles.push(
        raw
          .shift()!
          .trim()
          .replace(/^#{1,6}\s+/, ''),
      );
    const lines = raw.map((l) => l.trim());
    if (titles.length) current = `${heading} ${titles.join(' ')}`.trim();
    // Each item of a list is a statement of its own, even without a full stop; so is a code block.
    const units: string[] = [];
    // A table's header names what its rows' cells are ("Last departure"): part of their subject.
    const columns: string[] = [];
    const rows = new Set<string>();
    let code: string[] | undefined;
    let fresh = true; // the next line starts a unit
    const endCode = () => {
      const said = code!.filter(Boolean);
      if (said.length === 1 && said[0].length <= 200) units.push(`\`${said[0].replace(/`/g, "'")}\``);
      code = undefined;
      fresh = true;
    };
    for (const [i, line] of lines.entries()) {
      if (isFence(line)) {
        if (code) endCode();
        else code = [];
      } else if (code) code.push(line);
      else if (TABLE_ROW.test(line)) {
        // A table's row is a statement of its own, its cells joined; its header and rule are not.
        const header = TABLE_RULE.test(lines[i + 1] ?? '');
        if (header) columns.push(...cellsOf(line));
        else if (!TABLE_RULE.test(line)) rows.add(units[units.push(cellsOf(line).join(' — ')) - 1]);
        fresh = true;
      } else if (/^([-*•]|\d+[.)])\s/.test(line) || fresh) {
        units.push(line.replace(/^([-*•]|\d+[.)])\s+/, ''));
        fresh = false;
      } else units[units.length - 1] += `\n${line}`;
    }
    if (code) endCode(); // a block cut off inside its code (the chunk ended there)
    // A row says its cells: a word and its figures are a statement ("Sundays — 8:00 — 20:30").
    const body = units.flatMap((u) => {
      if (isCode(u)) return [u];
      const said = sentences(u);
      return said.length || !rows.has(u) ? said : rowSaid(u);
    });
    if (body.length) out.push({ heading: [current, ...columns].join(' ').trim(), sentences: body });
  }
  return out;
}

/** A table's row as a unit to quote: one that has a word and says two things or more. */
const rowSaid = (row: string): string[] =>
  LETTER.test(row) && (row.match(/[\p{L}\p{N}][\p{L}\p{N}'’:.,-]*/gu)?.length ?? 0) >= 2 && row.length <= 600
    ? [row]
    : [];

/**
 * The sentences a text says, read as a document is: without its headings, title lines, code,
 * tables' headers or lines of links (what a pasted README or page is summarised from).
 */
export const proseSentences = (text: string): string[] =>
  paragraphs(text)
    .flatMap((p) => p.sentences)
    .filter((s) => !isCode(s));
