// Token counts equal to OpenAI's own tiktoken, for both encodings, on text and on chat messages.
import { encoding_for_model, type TiktokenModel } from 'tiktoken';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { EXACT_COUNT_MAX_CHARS, TokenCounter } from '../../src/tokens.ts';

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

// Text a client or an upstream chose: long stretches without a space made byte-pair encoding
// quadratic (200,000 × "中" in one message took minutes of CPU on the event loop).
describe.each([
  ['gpt-4', 'cl100k_base'],
  ['gpt-4o', 'o200k_base'],
] as const)('pathological text for %s (%s)', { timeout: 90_000 }, (model, _encoding) => {
  const counter = new TokenCounter(model);
  const reference = encoding_for_model(model as TiktokenModel);
  const exact = (text: string) => reference.encode(text, [], []).length;
  afterAll(() => reference.free());
  // Each case starts on a fresh turn of the event loop, with the whole counting budget (as a request does).
  beforeEach(nextTurn);
  const expectWithin = (actual: number, expected: number, ratio: number) =>
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.ceil(expected * ratio));

  it('counts 200,000 × "中" in one message (one token each)', () => {
    expect(counter.count('中'.repeat(200_000))).toBe(200_000);
  });

  it('counts 20 MB of "x" from an upstream as a run of x is counted', () => {
    const perChar = exact('x'.repeat(4096)) / 4096;
    expectWithin(counter.count('x'.repeat(20_000_000)), 20_000_000 * perChar, 0.01);
  });

  it('counts a long run of random CJK close to tiktoken', () => {
    const text = randomText(8_000, () => String.fromCharCode(0x4e00 + random.int(20_000)));
    expectWithin(counter.count(text), exact(text), 0.005);
  });

  it('counts long blank runs close to tiktoken', () => {
    for (const text of [' '.repeat(10_000) + 'end', '\n'.repeat(10_000), 'a\n\n' + '\t '.repeat(5_000)]) {
      expectWithin(counter.count(text), exact(text), 0.02);
    }
  });

  it('keeps ordinary prose and code exact up to the sampling size', async () => {
    const text = randomText(EXACT_COUNT_MAX_CHARS, () => random.pick(TEXTS));
    expect(counter.count(text.slice(0, EXACT_COUNT_MAX_CHARS))).toBe(exact(text.slice(0, EXACT_COUNT_MAX_CHARS)));
  });

  it('estimates megabytes of varied text from samples, within 2 %', () => {
    const words = randomText(1_000_000, () => random.word() + random.pick([' ', ' ', ' ', '\n', ', ', '. ']));
    expectWithin(counter.count(words), exact(words), 0.02);
  });

  it('counts 500 messages of 8,000 random characters one by one within 1.5 % (a 4 MB request)', async () => {
    const messages = Array.from({ length: 500 }, () => ({
      role: 'user',
      content: randomText(8_000, () => random.word() + random.pick([' ', ' ', '\n', ', '])),
    }));
    // As the memory does: message by message, in one synchronous stretch.
    const counted = messages.reduce((n, m) => n + counter.countMessage(m), 0);
    const expected = messages.reduce((n, m) => n + 3 + exact(m.role) + exact(m.content), 0);
    expectWithin(counted, expected, 0.015);
    // The budget belongs to one turn of the event loop: the next turn counts exactly again.
    await nextTurn();
    expect(counter.countMessage(messages[0]!)).toBe(3 + exact('user') + exact(messages[0]!.content));
  });

  it('estimates a chat of many mid-sized messages as a whole, within 2 %', () => {
    const messages = Array.from({ length: 100 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: randomText(10_000, () => random.word() + ' '),
    }));
    const expected = messages.reduce((n, m) => n + 3 + exact(m.role) + exact(m.content), 0) + 3;
    expectWithin(counter.countChat(messages), expected, 0.02);
  });
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

// A seeded generator, so that a failure can be reproduced.
const random = (() => {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    pick: <T>(items: readonly T[]) => items[int(items.length)]!,
    word: () => Array.from({ length: 1 + int(9) }, () => 'abcdefghijklmnopqrstuvwxyzéü0123456789'[int(38)]).join(''),
  };
})();

function randomText(chars: number, piece: () => string): string {
  let text = '';
  while (text.length < chars) text += piece();
  return text;
}
