// Token counting as OpenAI bills it: the tokenizer of the configured model (o200k or cl100k) and the
// chat-format overhead per message from OpenAI's cookbook (3 per message, 1 per name, 3 to prime
// the reply). Only for a model whose encoding is unknown do we fall back to ~4 characters a token.
//
// Counting runs on the event loop, on text a client or an upstream chose, so its work is bounded:
// - byte-pair encoding is quadratic in the length of one pre-tokenised piece (200,000 × "中" is one
//   piece: minutes of CPU), so long stretches that the tokenizer could never split are cut into
//   bounded pieces first (see boundedSegments); ordinary prose and code are never cut, so their
//   counts stay exactly tiktoken's;
// - beyond EXACT_COUNT_MAX_CHARS a text is counted from evenly spaced samples and extrapolated, so
//   one call costs at most a few tens of milliseconds whatever its size;
// - callers count message by message (a 4 MB request can hold 500 messages of 8,000 characters, each
//   small enough to count exactly), so exact counting also has a budget per turn of the event loop
//   (TURN_BUDGET_CHARS): once it is spent, further texts in the same turn are estimated at the
//   tokens-per-character rate measured on what this turn did count. An ordinary request never
//   comes near the budget and keeps exact counts.
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';

export type EncodingName = 'o200k_base' | 'cl100k_base' | 'approximate';

const ENCODERS = { o200k_base: o200k, cl100k_base: cl100k } as const;
// Order matters: the more specific prefixes come first (gpt-4o before gpt-4).
const PREFIXES: [string, EncodingName][] = [
  ['gpt-4o', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-5', 'o200k_base'],
  ['chatgpt-4o', 'o200k_base'],
  ['gpt-oss', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5', 'cl100k_base'],
  ['text-embedding-3', 'cl100k_base'],
  ['text-embedding-ada', 'cl100k_base'],
];
// Treat text that looks like a special token (`<|endoftext|>`) as ordinary text, as tiktoken's
// encode(..., disallowed_special=()) does: a user may paste anything.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Longest stretch without a word boundary that is encoded in one go; longer ones are cut. */
export const MAX_UNBROKEN_CHARS = 256;
/** Texts up to this length are counted exactly; longer ones from samples. */
export const EXACT_COUNT_MAX_CHARS = 32_768;
/** Characters counted exactly (or sampled) in one synchronous stretch of the event loop. */
export const TURN_BUDGET_CHARS = EXACT_COUNT_MAX_CHARS;
// A text this short costs next to nothing (500 of them, the most messages a request holds, make one
// budget's worth): always counted exactly.
const ALWAYS_EXACT_CHARS = 64;
const SAMPLE_CHARS = EXACT_COUNT_MAX_CHARS / 4;
const MIN_SAMPLE_CHARS = 256;
const SAMPLE_WINDOW_MIN_CHARS = 128;

export function encodingForModel(model: string): EncodingName {
  const m = model.toLowerCase();
  if (m === 'o200k_base' || m === 'cl100k_base') return m;
  return PREFIXES.find(([prefix]) => m.startsWith(prefix))?.[1] ?? 'approximate';
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
const isWhitespace = (char: string) => /\s/u.test(char);

/**
 * Splits text so that no piece the tokenizer sees is longer than `maxRun` characters.
 *
 * A space between two non-space characters is a word boundary: in both encodings' pre-tokenizer
 * regex no piece spans it (the space starts the next word), so a stretch between two such spaces
 * bounds every piece inside it. Only a stretch longer than `maxRun` (a run of CJK, base64, "xxxx…",
 * blank lines) is cut, at a fixed length: that changes its count by at most a token or two per cut.
 */
export function boundedSegments(text: string, maxRun = MAX_UNBROKEN_CHARS): string[] {
  const segments: string[] = [];
  let segmentStart = 0;
  let stretchStart = 0;
  for (let i = 1; i < text.length; i++) {
    if (
      text.charCodeAt(i) === 32 &&
      i + 1 < text.length &&
      !isWhitespace(text[i - 1]!) &&
      !isWhitespace(text[i + 1]!)
    ) {
      stretchStart = i;
    } else if (i - stretchStart >= maxRun && !isLowSurrogate(text.charCodeAt(i))) {
      segments.push(text.slice(segmentStart, i));
      segmentStart = stretchStart = i;
    }
  }
  segments.push(text.slice(segmentStart));
  return segments;
}

export interface CountableMessage {
  role: string;
  content: string;
  name?: string;
  /** An assistant's calls: the model reads their names and arguments as part of the prompt. */
  toolCalls?: readonly { name: string; arguments: string }[];
  /** Images (and files, which carry a `mediaType`) of a user message. */
  images?: readonly { detail?: string; mediaType?: string }[];
}

/**
 * An image's prompt tokens as OpenAI bills them: 85 at `low` detail; at `high` (and `auto`) 85 plus
 * 170 per 512-pixel tile of the image scaled to 768 pixels on its short side. Images are passed on,
 * never fetched or decoded, so their size is unknown: a square image's four tiles are assumed
 * (765 tokens, what any square photo or screenshot of 768 pixels or more costs), so that images
 * count towards the budget rather than overflow it unseen.
 */
export const IMAGE_TOKENS_LOW = 85;
export const IMAGE_TOKENS_HIGH = 85 + 4 * 170;

export class TokenCounter {
  readonly encoding: EncodingName;
  private budgetLeft = TURN_BUDGET_CHARS;
  private budgetResetPending = false;
  // What this turn counted, for the rate of the texts beyond its budget.
  private turnChars = 0;
  private turnTokens = 0;
  private readonly roleTokens = new Map<string, number>();

  constructor(model: string) {
    this.encoding = encodingForModel(model);
  }

  count(text: string): number {
    if (!text) return 0;
    if (this.encoding === 'approximate') return Math.ceil(text.length / 4);
    const wanted = text.length <= EXACT_COUNT_MAX_CHARS ? text.length : SAMPLE_CHARS;
    const granted = this.takeBudget(wanted);
    if (text.length <= ALWAYS_EXACT_CHARS) return this.exact(text);
    if (granted === text.length) return this.measure(text);
    if (granted >= MIN_SAMPLE_CHARS) return this.estimateFromSamples(text, granted);
    return this.estimateFromTurnRate(text);
  }

  /** Tokens of one message inside a chat prompt, overhead included. */
  countMessage(message: CountableMessage): number {
    let total =
      3 +
      this.countRole(message.role) +
      this.count(message.content) +
      (message.name ? this.count(message.name) + 1 : 0);
    // A call's text as the completion counts it (ChatRun.completionTokens): its name and arguments.
    for (const call of message.toolCalls ?? []) total += this.count(call.name) + this.count(call.arguments);
    for (const image of message.images ?? [])
      if (!image.mediaType) total += image.detail === 'low' ? IMAGE_TOKENS_LOW : IMAGE_TOKENS_HIGH;
    return total;
  }

  /** A role's tokens, remembered: every message has one, and there are five of them. */
  private countRole(role: string): number {
    let tokens = this.roleTokens.get(role);
    if (tokens === undefined) {
      tokens = this.count(role);
      if (this.roleTokens.size < 16) this.roleTokens.set(role, tokens);
    }
    return tokens;
  }

  /** Prompt tokens of a whole chat, as OpenAI reports them in `usage.prompt_tokens`. */
  countChat(messages: readonly CountableMessage[]): number {
    let total = 3; // every reply is primed with <|start|>assistant<|message|>
    const contentChars = messages.reduce((n, m) => n + m.content.length, 0);
    if (contentChars <= EXACT_COUNT_MAX_CHARS) {
      for (const m of messages) total += this.countMessage(m);
      return total;
    }
    // Many messages, each short enough to be counted exactly, can still add up to megabytes: the
    // whole chat's content then shares one sampling budget.
    for (const m of messages) total += this.countMessage({ ...m, content: '' });
    return total + this.count(messages.map((m) => m.content).join('\n'));
  }

  /** Exact count (long unbroken stretches aside). */
  private exact(text: string): number {
    const encoder = ENCODERS[this.encoding as keyof typeof ENCODERS];
    let total = 0;
    for (const segment of boundedSegments(text)) total += encoder.countTokens(segment, PLAIN_TEXT);
    return total;
  }

  /**
   * Exact count, remembered for this turn's rate. Only texts longer than ALWAYS_EXACT_CHARS count
   * towards the rate: names and roles ("user": 4 characters, 1 token) would drag it down.
   */
  private measure(text: string): number {
    const total = this.exact(text);
    this.turnChars += text.length;
    this.turnTokens += total;
    return total;
  }

  private estimateFromTurnRate(text: string): number {
    // A budget spent on short texts leaves no rate to go by: measure a small sample first.
    if (this.turnChars < MIN_SAMPLE_CHARS) return this.estimateFromSamples(text, MIN_SAMPLE_CHARS);
    return Math.max(1, Math.round((text.length * this.turnTokens) / this.turnChars));
  }

  /** Up to `wanted` characters of this turn's budget; the budget refills on the next turn. */
  private takeBudget(wanted: number): number {
    if (!this.budgetResetPending) {
      this.budgetResetPending = true;
      setImmediate(() => {
        this.budgetLeft = TURN_BUDGET_CHARS;
        this.budgetResetPending = false;
        this.turnChars = this.turnTokens = 0;
      }).unref();
    }
    const granted = Math.min(wanted, this.budgetLeft);
    this.budgetLeft -= granted;
    return granted;
  }

  /** Tokens per character measured on evenly spaced windows (`sampleChars` in all), times the length. */
  private estimateFromSamples(text: string, sampleChars: number): number {
    const windows = Math.max(1, Math.min(16, Math.floor(sampleChars / SAMPLE_WINDOW_MIN_CHARS)));
    const windowChars = Math.floor(sampleChars / windows);
    const stride = windows > 1 ? (text.length - windowChars) / (windows - 1) : 0;
    let sampledChars = 0;
    let sampledTokens = 0;
    for (let k = 0; k < windows; k++) {
      let start = Math.floor(k * stride);
      if (isLowSurrogate(text.charCodeAt(start))) start++;
      let end = start + windowChars;
      if (isLowSurrogate(text.charCodeAt(end))) end++;
      const window = text.slice(start, end);
      sampledChars += window.length;
      sampledTokens += this.measure(window);
    }
    return Math.max(1, Math.round((sampledTokens * text.length) / sampledChars));
  }
}
