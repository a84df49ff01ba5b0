// A request body nested thousands of levels deep costs V8's JSON.parse far more than its size
// suggests (a 4 MB body of nested arrays: close to a second of the event loop, whatever field holds
// it, before any check of the request could refuse it). Such a body is refused before it is parsed:
// no request of the API nests anywhere near this deep (tool schemas are refused past 64 levels).
export const MAX_JSON_DEPTH = 512;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/**
 * Whether `text` (JSON, or not) opens more than `max` arrays and objects inside one another. Strings
 * are skipped with indexOf from quote to quote, so a body of base64 images is scanned in about a
 * millisecond per 20 MB.
 */
export function nestedDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false; // an unterminated string: JSON.parse says what is wrong
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

/** The index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at; // (an odd count escapes the quote)
  }
  return -1;
}
