// The rule-based supervisor: what a message asks for, before any search.
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/offline/intents.ts';
import type { ChatMessage } from '../../src/orchestrator/types.ts';

const answered: ChatMessage[] = [
  { role: 'user', content: 'How long do solar panels last?' },
  {
    role: 'assistant',
    content:
      'From the knowledge base:\n\n- Most manufacturers guarantee their panels for 25 years. [1]\n\n' +
      '**Sources:**\n[1] Solar (kb://doc_1#1)',
  },
];
const kind = (q: string, history: ChatMessage[] = []) => classify(q, history).kind;

describe('intents', () => {
  it('greetings and thanks', () => {
    for (const q of ['Hello', 'hi there!', 'Good morning', 'How are you?']) expect(kind(q), q).toBe('greeting');
    expect(classify('Thanks!', [])).toEqual({ kind: 'greeting', thanks: true });
  });

  it('answers the question behind a greeting', () => {
    expect(classify('Hi, what is 2+2?', [])).toMatchObject({ kind: 'calculate', calculation: { expression: '2+2' } });
    expect(kind('Hello, how long do solar panels last?')).toBe('research');
    expect(kind('hey, write me a poem')).toBe('needs-model');
    expect(kind('Hi there, Cortex Flow!')).toBe('greeting');
  });

  it('introductions, with the name and the facts stated', () => {
    expect(classify('My name is Alice', [])).toEqual({ kind: 'introduction', name: 'Alice', facts: [] });
    expect(classify("I'm Bob and I like green", [])).toEqual({
      kind: 'introduction',
      name: 'Bob',
      facts: ['I like green'],
    });
    expect(classify('Hi, I am Carol Smith.', [])).toMatchObject({ kind: 'introduction', name: 'Carol Smith' });
    expect(classify('my name is dave', [])).toMatchObject({ name: 'Dave' });
  });

  it('questions about the user and the conversation', () => {
    expect(kind('What is my name?')).toBe('ask-name');
    expect(kind('What did I ask you first?', answered)).toBe('conversation');
    expect(classify('What was my last question?', answered)).toEqual({ kind: 'conversation', which: 'previous' });
    const bob: ChatMessage[] = [{ role: 'user', content: "I'm Bob and I like green" }];
    expect(classify('What do I like?', bob)).toEqual({ kind: 'about-user', statements: ['I like green'] });
  });

  it('follow-ups over earlier answers', () => {
    for (const q of ['Summarize the key findings', 'recap', 'What are the key points?', 'tl;dr'])
      expect(kind(q, answered), q).toBe('key-findings');
    for (const q of [
      'Tell me more',
      'go on',
      'more details please?'.replace(' please', ''),
      'and tell me more about that',
    ])
      expect(kind(q, answered), q).toBe('more');
    expect(classify('and the second point?', answered)).toEqual({ kind: 'point', n: 2 });
    expect(classify('the last one', answered)).toEqual({ kind: 'point', n: -1 });
    expect(kind('More solar facts', answered)).toBe('research');
  });

  it('a pasted text to summarise, before or after the request', () => {
    const text = 'Bees make honey from nectar. They evaporate it until it is thick. Then they seal it with wax.';
    expect(classify(`Summarise this text: ${text}`, [])).toEqual({ kind: 'summarize-text', text, style: 'points' });
    expect(classify(`List the key points of: ${text}`, [])).toMatchObject({ kind: 'summarize-text', text });
    expect(classify(`shorten this:\n${text}`, [])).toEqual({ kind: 'summarize-text', text, style: 'shorter' });
    expect(classify(`${text}\nCan you summarize this?`, [])).toMatchObject({ kind: 'summarize-text', text });
  });

  it('calculations and comparisons', () => {
    expect(classify('What is 17% of 2,340?', [])).toMatchObject({
      kind: 'calculate',
      calculation: { asked: '17% of 2,340', expression: '17 / 100 * 2340' },
    });
    expect(classify('Which is larger, 2^10 or 1000?', [])).toMatchObject({ kind: 'compare', asks: 'larger' });
  });

  it('requests only a language model could serve', () => {
    for (const q of [
      'Write a haiku about the sea',
      'Translate "good morning" into French',
      'Write code that reverses a string',
      'Create a report on AI trends',
      'Can you write me a poem?',
      'Rewrite this paragraph in a formal tone',
    ])
      expect(kind(q), q).toBe('needs-model');
  });

  it('everything else is research', () => {
    for (const q of [
      'How long do solar panels last?',
      'How do I bake bread?',
      'What is 2024?',
      'Can I put milk in Velvet Ember?',
      'Summarize solar energy',
      'Who wrote the code of Hammurabi?',
    ])
      expect(kind(q), q).toBe('research');
  });
});
