// Token counts equal to OpenAI's own tiktoken, for both encodings, on text and on chat messages.
import { encoding_for_model, type TiktokenModel } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { TokenCounter } from '../../src/tokens.ts';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n',
  '東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.',
  'Emoji 🎉🚀👩‍👩‍👧‍👦 and flags 🇫🇷🇯🇵 mixed with ümlauts and naïve café.',
  "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
  '<|endoftext|> is just text here',
  '',
];

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: TEXTS[2], name: 'kenji' },
  { role: 'assistant', content: TEXTS[1] },
  { role: 'user', content: TEXTS[3] },
];

describe.each([
  ['gpt-4', 'cl100k_base'],
  ['gpt-4o', 'o200k_base'],
] as const)('token counts for %s (%s)', (model, _encoding) => {
  const counter = new TokenCounter(model);
  const reference = encoding_for_model(model as TiktokenModel);
  // Special-token text in a message is billed as ordinary text, so it is encoded as text here too.
  const count = (text: string) => reference.encode(text, [], []).length;
  afterAll(() => reference.free());

  it.each(TEXTS.map((t) => [t.slice(0, 30), t]))('counts "%s" as tiktoken does', (_label, text) => {
    expect(counter.count(text)).toBe(count(text));
  });

  it('counts a chat the way OpenAI bills it (3 per message, 1 per name, 3 to prime the reply)', () => {
    const expected =
      MESSAGES.reduce((n, m) => n + 3 + count(m.role) + count(m.content) + (m.name ? 1 + count(m.name) : 0), 0) + 3;
    expect(counter.countChat(MESSAGES)).toBe(expected);
  });
});

describe('unknown models', () => {
  it('fall back to about 4 characters per token', () => {
    const counter = new TokenCounter('my-local-llama');
    expect(counter.count('x'.repeat(400))).toBe(100);
  });
});
