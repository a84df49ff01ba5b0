// The n choices of one request (`n` > 1) are merged into one stream of events. Merged with
// Promise.race, a choice still waiting on its upstream gathered one reaction per event of the other
// choices, held until it went on: about 700 MB for the 1,400,000 small chunks below (seven answers
// of 350 KB, at the four characters per chunk a model streams), enough for a few requests to run
// the server out of memory, and 8.5 times the CPU.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import { mergeRuns } from '../../src/run/run-events.ts';

const event = (text: string): RunEvent => ({ type: 'text_delta', text, at: 0 });

describe('merging the choices of one request', () => {
  it('holds no memory per event of the others while one choice waits on its upstream', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    let heldWhileWaiting = 0;
    let busy = 7;
    let lateGo!: () => void;
    const lateGoes = new Promise<void>((r) => (lateGo = r));
    // A choice streaming its answer, a few hundred chunks per read from its upstream.
    const streaming = (): AsyncIterator<RunEvent> => {
      let sent = 0;
      return {
        async next() {
          if (sent === 200_000) {
            if (--busy === 0) {
              heldWhileWaiting = process.memoryUsage().heapUsed - heapBefore;
              lateGo();
            }
            return { done: true, value: undefined };
          }
          if (++sent % 400 === 0) await new Promise((r) => setImmediate(r));
          return { done: false, value: event('w') };
        },
      };
    };
    let lateSent = false;
    const late: AsyncIterator<RunEvent> = {
      async next() {
        if (lateSent) return { done: true, value: undefined };
        await lateGoes;
        lateSent = true;
        return { done: false, value: event('late') };
      },
    };
    const merged = mergeRuns([late, ...Array.from({ length: 7 }, streaming)]);
    const perChoice = new Array<number>(8).fill(0);
    const order: number[] = [];
    for (let r = await merged.next(); !r.done; r = await merged.next()) {
      perChoice[r.value[0]]++;
      if (r.value[1].type === 'text_delta' && r.value[1].text === 'late') order.push(r.value[0]);
    }
    // Every event of every choice, tagged with its choice's index; the late one's too.
    expect(perChoice).toEqual([1, ...new Array(7).fill(200_000)]);
    expect(order).toEqual([0]);
    expect(heldWhileWaiting).toBeLessThan(100 * 1024 * 1024);
  });

  it('ends with an error when a choice throws, after handing on what came before it', async () => {
    const ok: AsyncIterator<RunEvent> = {
      next: async () => ({ done: false, value: event('a') }),
    };
    let calls = 0;
    const failing: AsyncIterator<RunEvent> = {
      next: async () => {
        if (calls++) throw new Error('boom');
        return { done: false, value: event('b') };
      },
    };
    const merged = mergeRuns([failing, ok]);
    const seen: number[] = [];
    await expect(
      (async () => {
        for (;;) seen.push((await merged.next()).value[0]);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toContain(0);
  });
});
