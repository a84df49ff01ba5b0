// The client's `stop` and `max_tokens`, applied to an answer the server streams from a model turn
// that is also a planning turn (the supervisor or a solo agent answering directly). That turn may
// instead call tools, whose arguments must not be cut by the client's limits, so the upstream call
// gets a planning budget of its own and the limits are enforced here, on the text as it streams:
// the answer ends before a stop sequence (which is never sent) or after `max_tokens` tokens.
import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';
import { boundedSegments } from '../tokens.ts';
import { StopMatcher } from './stop-matcher.ts';

export class AnswerLimiter {
  private readonly stops: StopMatcher;
  private readonly maxTokens: number | undefined;
  /**
   * The text received and not sent yet (what could begin a stop sequence), as the chunks it came
   * in from `heldHead` on: joining it again on every chunk would copy a long held-back prefix of a
   * stop sequence each time.
   */
  private held: string[] = [];
  private heldHead = 0;
  private heldLength = 0;
  /** Characters of the model's text sent on (or cut by a limit) so far. */
  private taken = 0;
  /** The tokens of the answer sent so far up to its last word boundary, and the word after it. */
  private stableTokens = 0;
  private tail = '';
  /** Set once a limit ended the answer: what the run's finish_reason is. */
  reached: 'stop' | 'length' | undefined;

  constructor(limits: { stop?: string[]; maxTokens?: number }) {
    this.stops = new StopMatcher(limits.stop ?? []);
    this.maxTokens = limits.maxTokens;
  }

  /** The part of `text` that may be sent now; nothing once a limit was reached. */
  push(text: string): string {
    if (this.reached) return '';
    const at = this.stops.feed(text);
    if (text) {
      this.held.push(text);
      this.heldLength += text.length;
    }
    if (at >= 0) {
      this.reached = 'stop';
      return this.count(this.take(at - this.taken));
    }
    // A stop sequence may arrive split over chunks: keep back what could be its beginning.
    let end = this.heldLength - this.stops.pending();
    // Never between the two halves of a surrogate pair (an emoji): each delta the client gets must
    // be well-formed text, which a client that decodes every chunk on its own (Python, Go) needs.
    if (end > 0 && end < this.heldLength && isHighSurrogate(this.heldCharCodeAt(end - 1))) end--;
    return this.count(this.take(end));
  }

  /** What was held back, once the model's text is complete. */
  flush(): string {
    if (this.reached) return '';
    return this.count(this.take(this.heldLength));
  }

  private heldCharCodeAt(index: number): number {
    for (let i = this.heldHead; i < this.held.length; i++) {
      if (index < this.held[i].length) return this.held[i].charCodeAt(index);
      index -= this.held[i].length;
    }
    return 0;
  }

  /** The first `n` characters held back, no longer held. */
  private take(n: number): string {
    if (n <= 0) return '';
    const parts: string[] = [];
    for (let left = n; left > 0;) {
      const head = this.held[this.heldHead];
      if (head.length <= left) {
        parts.push(head);
        this.heldHead++;
        left -= head.length;
      } else {
        parts.push(head.slice(0, left));
        this.held[this.heldHead] = head.slice(left);
        left = 0;
      }
    }
    // Drop the chunks already sent once they are most of the list (amortised, unlike shift()).
    if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    this.heldLength -= n;
    this.taken += n;
    return parts.join('');
  }

  /**
   * Counts the answer's tokens as one text (a chunk boundary is not a token boundary). The text up
   * to its last whitespace is counted once and kept; only the word in progress is counted again.
   * A word in progress longer than the tokenizer's bounded pieces (a run of "xxxx…" or of CJK) is cut
   * as `boundedSegments` cuts it: counting it whole on every chunk was quadratic twice over (the
   * run, and byte-pair encoding of one long piece), minutes of event loop for 300 KB of "x".
   */
  private count(text: string): string {
    if (!text || this.maxTokens === undefined) return text;
    const work = this.tail + text;
    const space = Math.max(text.lastIndexOf(' '), text.lastIndexOf('\n'));
    let cut = space >= 0 ? this.tail.length + space : 0;
    const rest = boundedSegments(work.slice(cut));
    for (const piece of rest.slice(0, -1)) cut += piece.length;
    const stable = work.slice(0, cut);
    const tail = work.slice(cut);
    const stableTokens = this.stableTokens + tokensOf(stable);
    if (stableTokens + encode(tail).length <= this.maxTokens) {
      Object.assign(this, { stableTokens, tail });
      return text;
    }
    this.reached = 'length';
    let allowed = '';
    let budget = this.maxTokens - this.stableTokens;
    for (const piece of boundedSegments(work)) {
      const tokens = encode(piece);
      if (tokens.length > budget) {
        allowed += decode(tokens.slice(0, budget));
        break;
      }
      allowed += piece;
      budget -= tokens.length;
    }
    return allowed.startsWith(this.tail) ? allowed.slice(this.tail.length) : '';
  }
}

const tokensOf = (text: string) => boundedSegments(text).reduce((n, piece) => n + encode(piece).length, 0);
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
