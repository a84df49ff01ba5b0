import { describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { AnswerLimiter } from '../../src/agents/answer-limits.ts';

const feed = (limiter: AnswerLimiter, chunks: string[]) =>
  chunks.map((c) => limiter.push(c)).join('') + limiter.flush();

describe('the client limits on a streamed answer', () => {
  it('ends before a stop sequence split over chunks, and never sends it', () => {
    const limiter = new AnswerLimiter({ stop: ['END'] });
    expect(feed(limiter, ['Hello E', 'N', 'D and more'])).toBe('Hello ');
    expect(limiter.reached).toBe('stop');
  });

  it('never splits an emoji between two deltas while it holds back a possible stop sequence', () => {
    const limiter = new AnswerLimiter({ stop: ['END'] });
    const deltas = ['ab😀x', 'y漢😀z', ' e\u0301 E', 'ND more'].map((c) => limiter.push(c));
    deltas.push(limiter.flush());
    expect(deltas.every((d) => d.isWellFormed())).toBe(true);
    expect(deltas.join('')).toBe('ab😀xy漢😀z e\u0301 ');
  });

  it('passes everything on when no limit is reached', () => {
    const limiter = new AnswerLimiter({ stop: ['END'], maxTokens: 100 });
    expect(feed(limiter, ['Hel', 'lo E', 'N', 'ough'])).toBe('Hello ENough');
    expect(limiter.reached).toBeUndefined();
  });

  it('counts the tokens of the whole answer, whatever the chunking', () => {
    for (const size of [1, 3, 4, 7]) {
      const text = 'One two three four five six seven eight nine ten.';
      const chunks = text.match(new RegExp(`.{1,${size}}`, 'gs'))!;
      const limiter = new AnswerLimiter({ maxTokens: 4 });
      expect(feed(limiter, chunks)).toBe('One two three four');
      expect(limiter.reached).toBe('length');
    }
  });

  it('ends at the stop sequence that begins first, whatever the chunking, and holds back only a possible beginning', () => {
    for (const size of [1, 2, 5, 100]) {
      const text = 'abab abac xx abcd tail';
      const chunks = text.match(new RegExp(`.{1,${size}}`, 'gs'))!;
      const limiter = new AnswerLimiter({ stop: ['bcd t', 'abac x', 'zz'] });
      expect(feed(limiter, chunks)).toBe('abab ');
      expect(limiter.reached).toBe('stop');
    }
    // "aab" then "aaab": a partial match that fails gives back what can no longer begin a sequence.
    const limiter = new AnswerLimiter({ stop: ['aaab'] });
    expect(limiter.push('xaa')).toBe('x');
    expect(limiter.push('a')).toBe('');
    expect(limiter.push('a')).toBe('a');
    expect(limiter.push('c')).toBe('aaac');
    expect(limiter.flush()).toBe('');
  });

  it('cuts a long run without spaces at max_tokens, as counted whole', () => {
    const run = 'x'.repeat(5_000);
    const limiter = new AnswerLimiter({ maxTokens: 50 });
    const out = feed(limiter, run.match(/.{1,7}/gs)!);
    expect(limiter.reached).toBe('length');
    expect(run.startsWith(out)).toBe(true);
    expect(encode(out).length).toBe(50);
  });
});
