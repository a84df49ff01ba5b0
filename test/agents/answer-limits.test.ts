import { describe, expect, it } from 'vitest';
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
});
