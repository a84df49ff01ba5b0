// Finds the client's stop sequences in an answer as it streams, in time linear in the answer. A stop
// sequence may be as long as a message; searching the held-back text again on every chunk
// (`indexOf`, which also prepares a table as long as the sequence on each call) cost time
// quadratic in its length: four sequences of 200,000 characters held the event loop for 30 s over
// a 500 KB answer streamed in small chunks. Each sequence here is a Knuth-Morris-Pratt automaton,
// built once and fed each character once.

class SequenceMatcher {
  readonly sequence: string;
  private readonly fail: Int32Array;
  /** Characters of the sequence matched by the end of the text seen so far. */
  matched = 0;

  constructor(sequence: string) {
    this.sequence = sequence;
    const fail = new Int32Array(sequence.length);
    for (let i = 1, k = 0; i < sequence.length; i++) {
      while (k > 0 && sequence.charCodeAt(i) !== sequence.charCodeAt(k)) k = fail[k - 1];
      if (sequence.charCodeAt(i) === sequence.charCodeAt(k)) k++;
      fail[i] = k;
    }
    this.fail = fail;
  }

  /** Feeds one character; true when the sequence ends with it. */
  step(code: number): boolean {
    const { sequence, fail } = this;
    let k = this.matched;
    if (k === sequence.length) k = fail[k - 1];
    while (k > 0 && code !== sequence.charCodeAt(k)) k = fail[k - 1];
    if (code === sequence.charCodeAt(k)) k++;
    this.matched = k;
    return k === sequence.length;
  }
}

export class StopMatcher {
  private readonly matchers: SequenceMatcher[];
  /** Characters fed so far. */
  private seen = 0;

  constructor(stops: readonly string[]) {
    this.matchers = stops.filter(Boolean).map((s) => new SequenceMatcher(s));
  }

  /**
   * Feeds `text`; the position (counted from the start of the answer) where the earliest stop
   * sequence completed in it begins, or -1. After a match, the matcher is not to be fed again.
   */
  feed(text: string): number {
    const from = this.seen;
    this.seen += text.length;
    if (!this.matchers.length) return -1;
    let first = -1;
    for (const m of this.matchers) {
      for (let i = 0; i < text.length; i++) {
        if (!m.step(text.charCodeAt(i))) continue;
        const start = from + i + 1 - m.sequence.length;
        if (first < 0 || start < first) first = start;
        break;
      }
    }
    return first;
  }

  /** How many of the last characters fed may still begin a stop sequence: what to hold back. */
  pending(): number {
    let most = 0;
    for (const m of this.matchers) most = Math.max(most, m.matched);
    return most;
  }
}
