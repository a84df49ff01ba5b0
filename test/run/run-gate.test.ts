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
