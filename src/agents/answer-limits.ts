// The client's `stop` and `max_tokens`, applied to an answer the server streams from a model turn
// that is also a planning turn (the supervisor or a solo agent answering directly). That turn may
// instead call tools, whose arguments must not be cut by the client's limits, so the upstream call
// gets a planning budget of its own and the limits are enforced here, on the text as it streams:
// the answer ends before a stop sequence (which is never sent) or after `max_tokens` tokens.
import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';

export class AnswerLimiter {
  private readonly stops: string[];
  private readonly maxTokens: number | undefined;
  private readonly holdBack: number;
  private pending = '';
  /** The answer sent so far, and the tokens of its part up to `stableEnd`. */
  private emitted = '';
  private stableEnd = 0;
  private stableTokens = 0;
  /** Set once a limit ended the answer: what the run's finish_reason is. */
  reached: 'stop' | 'length' | undefined;

  constructor(limits: { stop?: string[]; maxTokens?: number }) {
    this.stops = (limits.stop ?? []).filter(Boolean);
    this.maxTokens = limits.maxTokens;
    // A stop sequence may arrive split over chunks: keep back what could be its beginning.
    this.holdBack = Math.max(0, ...this.stops.map((s) => s.length - 1));
  }

  /** The part of `text` that may be sent now; nothing once a limit was reached. */
  push(text: string): string {
    if (this.reached) return '';
    this.pending += text;
    const at = this.firstStop();
    if (at >= 0) {
      this.reached = 'stop';
      return this.count(this.pending.slice(0, at));
    }
    let end = Math.max(0, this.pending.length - this.holdBack);
    // Never between the two halves of a surrogate pair (an emoji): each delta the client gets must
    // be well-formed text, which a client that decodes every chunk on its own (Python, Go) needs.
    if (end > 0 && end < this.pending.length && isHighSurrogate(this.pending.charCodeAt(end - 1))) end--;
    const ready = this.pending.slice(0, end);
    this.pending = this.pending.slice(ready.length);
    return this.count(ready);
  }

  /** What was held back, once the model's text is complete. */
  flush(): string {
    if (this.reached) return '';
    const rest = this.pending;
    this.pending = '';
    return this.count(rest);
  }

  private firstStop(): number {
    let first = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    return first;
  }

  /**
   * Counts the answer's tokens as one text (a chunk boundary is not a token boundary). The text up
   * to its last whitespace is counted once and kept; only the word in progress is counted again.
   */
  private count(text: string): string {
    if (!text || this.maxTokens === undefined) return text;
    const candidate = this.emitted + text;
    let { stableEnd, stableTokens } = this;
    const boundary = Math.max(candidate.lastIndexOf(' '), candidate.lastIndexOf('\n'));
    if (boundary > stableEnd) {
      stableTokens += encode(candidate.slice(stableEnd, boundary)).length;
      stableEnd = boundary;
    }
    if (stableTokens + encode(candidate.slice(stableEnd)).length <= this.maxTokens) {
      Object.assign(this, { emitted: candidate, stableEnd, stableTokens });
      return text;
    }
    this.reached = 'length';
    const allowed = decode(encode(candidate).slice(0, this.maxTokens));
    const out = allowed.startsWith(this.emitted) ? allowed.slice(this.emitted.length) : '';
    this.emitted = allowed;
    return out;
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
