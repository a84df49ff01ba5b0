// Small, deterministic text tools of the offline engine: word stems, sentences and paragraphs.
// No model: only counting, so the engine never says what its sources do not.
import { queryTerms } from '../kb/types.ts';

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

/** Splits prose into sentences; list markers are dropped, headings are not sentences. */
export function sentences(text: string): string[] {
  return text
    .replace(/^#{1,6}\s+.*$/gm, ' ')
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"“(])/)
    .map((s) => s.replace(/^[-*•]\s+/, '').trim())
    .filter((s) => s.length >= 12 && s.length <= 600);
}

export interface Paragraph {
  /** Heading lines and title-like lines above the prose: what the paragraph is about, never quoted. */
  heading: string;
  sentences: string[];
}

// A short line without closing punctuation standing on its own is a title ("Velvet Ember"), not a
// statement: it tells what the paragraph is about but answers nothing by itself.
const TITLE_LINE = /^(#{1,6}\s+.*|[^.!?:;]{1,80})$/;

/** A chunk's paragraphs, each with the title lines that head it (and the chunk's own heading). */
export function paragraphs(text: string, heading = ''): Paragraph[] {
  const out: Paragraph[] = [];
  let current = heading;
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').map((l) => l.trim());
    const titles: string[] = [];
    while (lines.length && (lines[0] === '' || (TITLE_LINE.test(lines[0]) && !/^[-*•]\s/.test(lines[0]))))
      titles.push(lines.shift()!.replace(/^#{1,6}\s+/, ''));
    if (titles.length) current = `${heading} ${titles.join(' ')}`.trim();
    const body = sentences(lines.join('\n'));
    if (body.length) out.push({ heading: current, sentences: body });
  }
  return out;
}
