// The word splitter shared by the knowledge base's search and the offline engine: Chinese and
// Japanese split into words by the segmenter, within a bounded amount of text per call, so that a
// request of megabytes of them cannot hold the event loop (one message of 200,000 × "中" held it
// for half a second before the bound, test/security/event-loop.test.ts).
import { describe, expect, it } from 'vitest';
import { SEGMENT_BUDGET, separateWords, wordsOf, wordsOfEach } from '../../src/kb/words.ts';

describe('wordsOf', () => {
  it('splits Chinese and Japanese runs into words and leaves spaced scripts as runs', () => {
    const words = wordsOf('Redis 默认监听 6379 端口');
    expect(words.slice(0, 4)).toEqual(['Redis', '默认', '监听', '6379']);
    expect(words.slice(4).join('')).toBe('端口');
    expect(wordsOf('Tea, green: brewed at 80°C.')).toEqual(['Tea', 'green', 'brewed', 'at', '80', 'C']);
    expect(wordsOf('绿茶应该用八十度左右的水冲泡')).toContain('绿茶');
  });

  it('keeps each text its own words when several are split in one pass', () => {
    const [tea, bike, latin] = wordsOfEach(['绿茶的水温', '自転車の空気圧', 'no spaces needed here']);
    expect(tea.join('')).toBe('绿茶的水温');
    expect(bike.join('')).toBe('自転車の空気圧');
    expect(latin).toEqual(['no', 'spaces', 'needed', 'here']);
  });

  it('segments at most SEGMENT_BUDGET characters per call, keeping the rest whole and in order', () => {
    const huge = '中'.repeat(200_000);
    const words = wordsOf(huge);
    expect(words).toHaveLength(SEGMENT_BUDGET + 1);
    expect(words.at(-1)).toBe('中'.repeat(200_000 - SEGMENT_BUDGET));
    expect(words.join('')).toBe(huge);

    // Runs past the budget are one word each; those before it are split.
    const sentence = '绿茶应该用八十度左右的水冲泡';
    const many = Array.from({ length: 3 * Math.ceil(SEGMENT_BUDGET / sentence.length) }, () => sentence);
    const split = wordsOfEach(many);
    expect(split[0].length).toBeGreaterThan(1);
    expect(split.at(-1)).toEqual([sentence]);
    expect(split.map((w) => w.join(''))).toEqual(many);
  });

  it('separates the words of an index text without changing its letters', () => {
    const separated = separateWords('Redis 默认监听 6379 端口。', '\u200b');
    expect(separated.startsWith('Redis 默认\u200b监听 6379 ')).toBe(true);
    expect(separated.replaceAll('\u200b', '')).toBe('Redis 默认监听 6379 端口。');
    expect(separateWords('plain text', '\u200b')).toBe('plain text');
  });
});
