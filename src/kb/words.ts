// The words of a text, for the knowledge base's search and the offline engine alike. Most scripts
// write a space between words, so a run of letters and digits is one word. Chinese and Japanese
// write none: a sentence is one run ("绿茶应该用八十度的水冲泡"), and each such run is split into
// words by Intl.Segmenter (ICU's dictionary, shipped with Node). Text without Han or kana never
// reaches the segmenter, so Latin text costs one more regular expression test and is split as before.

/** The scripts written without spaces between words, for a character class: Han, hiragana, katakana. */
export const HAN_KANA = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}`;
/** A character of a script written without spaces between words. */
export const UNSPACED = new RegExp(`[${HAN_KANA}]`, 'u');
const UNSPACED_ALL = new RegExp(`[${HAN_KANA}]`, 'gu');

/** A run of letters and digits: a word of a spaced script, a phrase or sentence of an unspaced one. */
const RUN = /[\p{L}\p{N}]+/gu;

let segmenter: Intl.Segmenter | undefined;
/** The segmenter, made on first use. ICU splits Han and kana by its dictionary whatever the locale. */
const wordBreaker = () => (segmenter ??= new Intl.Segmenter('zh', { granularity: 'word' }));

/**
 * The most characters of Chinese and Japanese one call splits with the segmenter. ICU takes about
 * 0.3-1 us per character, and a request may bring megabytes of them (one message of 200,000 × "中"
 * held the event loop for half a second, three question analyses of 190 ms each): beyond this many,
 * runs are kept whole, as they were before the segmenter, so that a call costs at most a few
 * milliseconds. A knowledge-base chunk (about 1,000 characters) and any question a person writes
 * are far below it.
 */
export const SEGMENT_BUDGET = 16_384;

/**
 * The words of each run, in one pass of the segmenter over all of them: a call of its own for each
 * run cost more than the splitting (a text of short sentences is thousands of runs). The line break
 * that joins two runs is a segment of its own (a word boundary before and after it, whatever
 * follows): each run keeps its own words. Past SEGMENT_BUDGET characters a run is one word, and the
 * run the budget ends in is split up to there, its rest one word.
 */
function splitRuns(runs: string[]): string[][] {
  let budget = SEGMENT_BUDGET;
  let segmented = 0;
  const tails: (string | undefined)[] = [];
  for (; segmented < runs.length && budget > 0; segmented++) {
    const run = runs[segmented];
    tails.push(run.length > budget ? run.slice(budget) : undefined);
    budget -= run.length;
  }
  const heads = runs
    .slice(0, segmented)
    .map((run, i) => (tails[i] === undefined ? run : run.slice(0, -tails[i]!.length)));
  const words: string[] = [];
  const ends: number[] = [];
  for (const { segment } of wordBreaker().segment(heads.join('\n'))) {
    if (segment === '\n') ends.push(words.length);
    else words.push(segment);
  }
  ends.push(words.length);
  const split = ends.map((end, i) => words.slice(i ? ends[i - 1] : 0, end));
  for (const [i, tail] of tails.entries()) if (tail !== undefined) split[i].push(tail);
  return [...split.slice(0, segmented), ...runs.slice(segmented).map((run) => [run])];
}

/**
 * The words of a text in order, as written (not lower-cased): its runs of letters and digits, those
 * of Chinese and Japanese split into words.
 */
export const wordsOf = (text: string): string[] => wordsOfEach([text])[0];

/** The words of each of some texts (wordsOf), the segmenter run once for all of them. */
export function wordsOfEach(texts: string[]): string[][] {
  const runsOf = texts.map((text) => text.match(RUN) ?? []);
  if (!texts.some((text) => UNSPACED.test(text))) return runsOf;
  const split = splitRuns(runsOf.flat().filter((run) => UNSPACED.test(run)));
  let next = 0;
  return runsOf.map((runs) => runs.flatMap((run) => (UNSPACED.test(run) ? split[next++] : [run])));
}

/** How many characters of Han and kana a text has. */
export const unspacedCount = (text: string): number => text.match(UNSPACED_ALL)?.length ?? 0;

/**
 * The text with `separator` between the words of its Chinese and Japanese runs, for a full-text
 * index whose tokenizer reads such a run as one word (SQLite's unicode61, PostgreSQL's parser).
 * Text without Han or kana is returned as it is.
 */
export function separateWords(text: string, separator: string): string {
  if (!UNSPACED.test(text)) return text;
  const split = splitRuns((text.match(RUN) ?? []).filter((run) => UNSPACED.test(run)));
  let next = 0;
  return text.replace(RUN, (run) => (UNSPACED.test(run) ? split[next++].join(separator) : run));
}
