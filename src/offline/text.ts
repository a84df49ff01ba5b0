// Small, deterministic text tools of the offline engine: word stems, sentences and paragraphs.
// No model: only counting, so the engine never says what its sources do not.
import { queryTerms, STOP_WORDS } from '../kb/types.ts';

/** A crude English stemmer: enough to match "panels" with "panel" or "charging" with "charge". */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length > 4 && (w.endsWith('ency') || w.endsWith('ancy'))) return `${w.slice(0, -2)}t`; // efficiency ~ efficient
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'es', 'ed', 'ly', 's']) {
    if (!w.endsWith(suffix) || w.length - suffix.length < 3) continue;
    // Short words lose only a plural s ("bees", "cats"), not "-us" or "-ss" ("bus", "less").
    if (w.length <= 4 && (suffix !== 's' || /(ss|us|is)$/.test(w))) continue;
    // "-es" is a suffix only after a hissing sound ("boxes", "wishes"); "lives" is "live" + "s".
    if (suffix === 'es' && !/(s|x|z|ch|sh)es$/.test(w)) continue;
    w = suffix === 'ies' || suffix === 'ied' ? `${w.slice(0, -3)}y` : w.slice(0, -suffix.length);
    break;
  }
  // A final silent e goes too, so that "store" meets "storing" and "live" meets "lives".
  return w.length > 3 && w.endsWith('e') ? w.slice(0, -1) : w;
}

/** The searchable words of a text (stop words dropped), stemmed, each once. */
export const stems = (text: string): string[] => [...new Set(queryTerms(text).map(stem))];

/**
 * A link and nothing else (a bare URL, or one Markdown link): where to read more, not something
 * the text says. A list of them is a document's navigation.
 */
const ONLY_A_LINK = /^(<?[a-z][a-z0-9+.-]*:\/\/\S+?>?|\[[^\]]*\]\([^)\s]*\))[.,;:]?$/i;

/** Splits prose into sentences; list markers are dropped, headings and bare links are not sentences. */
export function sentences(text: string): string[] {
  return text
    .replace(/^#{1,6}\s+.*$/gm, ' ')
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"“(])/)
    .map((s) => s.replace(/^[-*•]\s+/, '').trim())
    .filter((s) => s.length >= 12 && s.length <= 600 && !ONLY_A_LINK.test(s));
}

export interface Paragraph {
  /** Heading lines and title-like lines above the prose: what the paragraph is about, never quoted. */
  heading: string;
  sentences: string[];
}

// A short line without closing punctuation standing on its own is a title ("Velvet Ember"), not a
// statement: it tells what the paragraph is about but answers nothing by itself. A line of
// hard-wrapped prose is not one: the next line goes on in lower case, or the line ends mid-phrase.
function isTitleLine(line: string, next: string | undefined): boolean {
  if (/^#{1,6}\s/.test(line)) return true;
  if (!/^[\p{Lu}\d]/u.test(line) || !/^[^.!?:;]{1,80}$/.test(line)) return false;
  const last = line.split(/\s+/).at(-1)!.toLowerCase();
  if (STOP_WORDS.has(last) || ['the', 'a', 'an', 'of', 'to', 'and'].includes(last)) return false;
  return next === undefined || next === '' || /^([\p{Lu}\d#]|[-*•]\s)/u.test(next);
}

/** A chunk's paragraphs, each with the title lines that head it (and the chunk's own heading). */
export function paragraphs(text: string, heading = ''): Paragraph[] {
  const out: Paragraph[] = [];
  let current = heading;
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').map((l) => l.trim());
    const titles: string[] = [];
    while (lines.length && (lines[0] === '' || isTitleLine(lines[0], lines[1])))
      titles.push(lines.shift()!.replace(/^#{1,6}\s+/, ''));
    if (titles.length) current = `${heading} ${titles.join(' ')}`.trim();
    // Each item of a list is a statement of its own, even without a full stop.
    const units: string[] = [];
    for (const line of lines) {
      if (/^([-*•]|\d+[.)])\s/.test(line) || !units.length) units.push(line.replace(/^([-*•]|\d+[.)])\s+/, ''));
      else units[units.length - 1] += `\n${line}`;
    }
    const body = units.flatMap(sentences);
    if (body.length) out.push({ heading: current, sentences: body });
  }
  return out;
}
