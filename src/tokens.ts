// Token counting as OpenAI bills it: the tokenizer of the configured model (o200k or cl100k) and the
// chat-format overhead per message from OpenAI's cookbook (3 per message, 1 per name, 3 to prime
// the reply). Only for a model whose encoding is unknown do we fall back to ~4 characters a token.
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

export function encodingForModel(model: string): EncodingName {
  const m = model.toLowerCase();
  if (m === 'o200k_base' || m === 'cl100k_base') return m;
  return PREFIXES.find(([prefix]) => m.startsWith(prefix))?.[1] ?? 'approximate';
}

export interface CountableMessage {
  role: string;
  content: string;
  name?: string;
}

export class TokenCounter {
  readonly encoding: EncodingName;
  constructor(model: string) {
    this.encoding = encodingForModel(model);
  }

  count(text: string): number {
    if (!text) return 0;
    if (this.encoding === 'approximate') return Math.ceil(text.length / 4);
    return ENCODERS[this.encoding].countTokens(text, PLAIN_TEXT);
  }

  /** Tokens of one message inside a chat prompt, overhead included. */
  countMessage(message: CountableMessage): number {
    return (
      3 + this.count(message.role) + this.count(message.content) + (message.name ? this.count(message.name) + 1 : 0)
    );
  }

  /** Prompt tokens of a whole chat, as OpenAI reports them in `usage.prompt_tokens`. */
  countChat(messages: readonly CountableMessage[]): number {
    let total = 3; // every reply is primed with <|start|>assistant<|message|>
    for (const m of messages) total += this.countMessage(m);
    return total;
  }
}
