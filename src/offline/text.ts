// Small, deterministic text tools of the offline engine: sentences, word stems, key terms and
// figures. No model: only counting, so the engine never says what its sources do not.
import { queryTerms, STOP_WORDS } from '../kb/types.ts';

/** A crude English stemmer: enough to match "panels" with "panel" or "charging" with "charge". */
export function stem(word: string): string {
  const w = word.toLowerCase();
  if (w.length <= 4) return w;
  if (w.endsWith('ency') || w.endsWith('ancy')) return `${w.slice(0, -2)}t`; // efficiency ~ efficient
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'es', 'ed', 'ly', 's']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3)
      return suffix === 'ies' || suffix === 'ied' ? `${w.slice(0, -3)}y` : w.slice(0, -suffix.length);
  }
  return w;
}

export const stems = (text: string): string[] => queryTerms(text).map(stem);

export function sentences(text: string): string[] {
  return text
    .replace(/^#{1,6}\s+.*$/gm, ' ') // headings are titles, not statements
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z0-9"“(])/)
    .map((s) => s.replace(/^[-*•]\s+/, '').trim())
    .filter((s) => s.length >= 20 && s.length <= 600);
}

/** The most frequent meaningful words of some sentences, for a "key terms" line. */
export function keyTerms(texts: string[], exclude: Set<string>, max = 6): string[] {
  const counts = new Map<string, { word: string; n: number }>();
  for (const t of texts) {
    for (const word of t.match(/[\p{L}][\p{L}\p{N}-]{3,}/gu) ?? []) {
      const lower = word.toLowerCase();
      const key = stem(lower);
      if (STOP_WORDS.has(lower) || exclude.has(key) || COMMON.has(lower)) continue;
      const c = counts.get(key) ?? { word: lower, n: 0 };
      c.n++;
      counts.set(key, c);
    }
  }
  return [...counts.values()]
    .filter((c) => c.n > 1)
    .sort((a, b) => b.n - a.n || a.word.localeCompare(b.word))
    .slice(0, max)
    .map((c) => c.word);
}

/** Numbers with what they measure ("25 years", "40%", "$1,200"), as written in the sources. */
export function figures(texts: string[], max = 6): string[] {
  const found: string[] = [];
  for (const t of texts) {
    for (const m of t.matchAll(UNIT_NUMBER)) {
      const f = m[0].replace(/[.,]$/, '').trim();
      if (/^\d{1,2}$/.test(f) || found.includes(f)) continue; // bare small numbers are usually list markers
      found.push(f);
      if (found.length >= max) return found;
    }
  }
  return found;
}

const UNITS =
  'percent|%|years?|months?|weeks?|days?|hours?|minutes?|seconds?|ms|°C|°F|degrees?|watts?|kilowatts?|kilowatt-hours?|kWh|kW|MW|GW|W|volts?|V|amps?|A|km|m|cm|mm|miles?|kg|g|tonnes?|tons?|litres?|liters?|L|MB|GB|TB|KB|tokens?|people|users?|times';
const UNIT_NUMBER = new RegExp(`(?:[$€£]\\s?)?\\d[\\d,.]*(?:\\s?(?:${UNITS})\\b)?`, 'g');

const COMMON = new Set([
  'that',
  'this',
  'with',
  'from',
  'they',
  'them',
  'their',
  'have',
  'more',
  'most',
  'than',
  'also',
  'such',
  'each',
  'other',
  'some',
  'only',
  'into',
  'over',
  'when',
  'which',
  'while',
  'about',
  'after',
  'before',
  'because',
  'between',
  'through',
  'during',
  'without',
  'within',
  'being',
  'been',
  'were',
  'does',
  'used',
  'using',
  'uses',
  'make',
  'makes',
  'made',
  'many',
  'much',
  'very',
  'well',
  'like',
  'what',
  'your',
  'will',
  'would',
  'should',
  'could',
  'there',
  'these',
  'those',
  'then',
  'than',
  'both',
  'either',
]);
