// Arithmetic and unit conversions as people type them ("17% of 2,340", "12 times 7", "sqrt(144)",
// "5 km to miles", "100 F in C"), rewritten into an expression the calculator (mathjs) evaluates.
// Only text made of numbers, operators, known functions and units counts: anything else is a
// question for the other intents, so "What is 2024?" or "How do I bake bread?" never get here.
import { isUnitName } from '../tools/calculator.ts';
import { pattern } from './pattern.ts';

export interface Calculation {
  /** What the user asked, as they wrote it (without "what is" and the question mark). */
  asked: string;
  /** The same in the calculator's syntax. */
  expression: string;
}

const LEAD = pattern(
  'i',
  String.raw`^\s*(?:(?:hey|hi|ok|okay|so|please)[,\s]+)*(?:(?:can|could) you\s+)?(?:please\s+)?`,
  String.raw`(?:what(?:'s| is| are)|calculate|compute|evaluate|work out|convert|how much is|solve|tell me)?\s*`,
);
/** Longest calculation read, and longest message it is looked for in (lead words, "???" and all). */
const MAX_ASKED_CHARS = 200;
const MAX_MESSAGE_CHARS = 2_000;
const FUNCTIONS = new Set(
  'sqrt cbrt abs round floor ceil exp log log10 log2 sin cos tan asin acos atan factorial mod pi e to'.split(' '),
);
const TEMPERATURES: Record<string, string> = { f: 'degF', fahrenheit: 'degF', c: 'degC', celsius: 'degC' };
const TEMPERATURE =
  /^(-?\d+(?:\.\d+)?)\s*°?\s*(f|fahrenheit|c|celsius)\s+(?:to|in|into)\s+°?\s*(f|fahrenheit|c|celsius)$/i;

const WORDS: [RegExp, string][] = [
  [/[×✕]/g, '*'],
  [/÷/g, '/'],
  [/−/g, '-'],
  [/\bmultiplied by\b|\btimes\b/gi, '*'],
  [/\bdivided by\b|\bover\b/gi, '/'],
  [/\bplus\b/gi, '+'],
  [/\bminus\b/gi, '-'],
  [/\bto the power of\b|\*\*/gi, '^'],
  [/\bsquared\b/gi, '^2'],
  [/\bcubed\b/gi, '^3'],
  [/\bsquare root of\s*(\d[\d.]*)/gi, 'sqrt($1)'],
  [/\bcube root of\s*(\d[\d.]*)/gi, 'cbrt($1)'],
  [/\bln\s*\(/gi, 'log('],
  [/\bthe\b/gi, ' '],
  [/\bpercent\b/gi, '%'],
  [/(\d)\s*x\s*(?=\d)/gi, '$1 * '],
  [/\bmph\b/gi, 'mi/h'],
  [/\b(?:kph|kmh|km\/h)\b/gi, 'km/h'],
  [/\b(?:into|in)\b/gi, 'to'],
];

/** `bare` accepts a lone number or quantity too (one side of a comparison). */
export function calculationOf(text: string, opts: { bare?: boolean } = {}): Calculation | undefined {
  // What is asked is at most MAX_ASKED_CHARS once its lead and trailing punctuation are gone; a far
  // longer message is no calculation, and the end-anchored pattern below is quadratic in a long
  // run of spaces (a minute for a message of 200,000 of them).
  if (text.length > MAX_MESSAGE_CHARS) return undefined;
  const asked = text
    .replace(LEAD, '')
    .replace(/(?<!\d)\s*[?.!=]+\s*$|\s*[?.=]+\s*$/, '')
    .trim();
  if (asked.length > MAX_ASKED_CHARS) return undefined;
  let e = asked.replace(/(\d),(?=\d{3}(?!\d))/g, '$1'); // thousands separators: 2,340
  const t = TEMPERATURE.exec(e);
  if (t)
    return { asked, expression: `${t[1]} ${TEMPERATURES[t[2].toLowerCase()]} to ${TEMPERATURES[t[3].toLowerCase()]}` };
  e = e.replace(/^how many (\w+) (?:are )?in (?:an? |one )?(.+)$/i, (_, unit, rest) =>
    /^\d/.test(rest) ? `${rest} to ${unit}` : `1 ${rest} to ${unit}`,
  );
  if (!/\d/.test(e)) return undefined;
  for (const [re, to] of WORDS) e = e.replace(re, to);
  // "17% of 2340": a percentage of something is that fraction of it.
  e = e
    .replace(/(\d+(?:\.\d+)?)\s*%\s*of\s+/gi, '$1 / 100 * ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!isExpression(e, opts.bare ?? false)) return undefined;
  return { asked, expression: e };
}

/** Numbers, operators, brackets and only the words the calculator knows; at least one operation. */
function isExpression(e: string, bare: boolean): boolean {
  if (!/^[\d\s.+\-*/^%(),!a-zA-Z]+$/.test(e)) return false;
  const words = e.match(/[a-zA-Z]+/g) ?? [];
  if (!words.every((w) => FUNCTIONS.has(w) || isUnitName(w))) return false;
  if (bare) return /\d/.test(e);
  // A bare number ("2024") or quantity ("25 years") is not a calculation.
  return /\d\s*[-+*/^%!]|[-+*/^]\s*[\d(a-z]|\b[a-z]+\d*\s*\(|\bto\b/i.test(e.replace(/^-/, ''));
}
