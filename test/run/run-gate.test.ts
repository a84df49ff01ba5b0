// The run gate with n-choice requests: n slots are taken at once, first come first served (a big
// request at the head of the line is not overtaken for ever by small ones), and a request larger
// than the gate is refused at once instead of waiting for what can never free up.
import { describe, expect, it } from 'vitest';
import { RunGate } from '../../src/http/run-gate.ts';

describe('RunGate with several slots per request', () => {
  it('takes n slots at once and gives them back together', async () => {
    const gate = new RunGate(4, 1_000);
    const release = (await gate.acquire(undefined, 3))!;
    expect(gate.running).toBe(3);
    expect(await new RunGate(4, 10).acquire(undefined, 5)).toBeUndefined();
    const one = (await gate.acquire())!;
    expect(gate.running).toBe(4);
    release();
    release(); // idempotent
    one();
    expect(gate.running).toBe(0);
  });

  it('serves waiters in order: a small request does not overtake a big one at the head', async () => {
    const gate = new RunGate(3, 5_000);
    const first = (await gate.acquire(undefined, 2))!;
    const order: string[] = [];
    const big = gate.acquire(undefined, 3).then((r) => (order.push('big'), r));
    const small = gate.acquire(undefined, 1).then((r) => (order.push('small'), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]); // one slot is free, but the big request waits first
    first();
    (await big)!();
    (await small)!();
    expect(order).toEqual(['big', 'small']);
  });

  it("holds a key to its share; its waiting request does not hold the line up for another key's", async () => {
    const gate = new RunGate(4, 5_000, 2);
    const a1 = (await gate.acquire(undefined, 1, 'a'))!;
    const a2 = (await gate.acquire(undefined, 1, 'a'))!;
    expect(gate.atShare('a')).toBe(true);
    const order: string[] = [];
    const a3 = gate.acquire(undefined, 1, 'a').then((r) => (order.push('a3'), r));
    const b1 = gate.acquire(undefined, 1, 'b').then((r) => (order.push('b1'), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['b1']); // slots were free: only a's share held a3 back
    expect(gate.running).toBe(3);
    a1();
    (await a3)!();
    expect(order).toEqual(['b1', 'a3']);
    a2();
    (await b1)!();
    expect(gate.running).toBe(0);
    expect(gate.atShare('a')).toBe(false);
    // More choices than a key's share can never run: refused at once. Without a key, the gate is whole.
    expect(await gate.acquire(undefined, 3, 'a')).toBeUndefined();
    (await gate.acquire(undefined, 4))!();
  });

  it('lets the line move on when the request at its head gives up', async () => {
    const gate = new RunGate(2, 5_000);
    const held = (await gate.acquire())!;
    const leaving = new AbortController();
    const big = gate.acquire(leaving.signal, 2);
    const small = gate.acquire(undefined, 1);
    leaving.abort();
    expect(await big).toBeUndefined();
    expect(await small).toBeTypeOf('function');
    held();
  });
});
