import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/conversation/keyed-mutex.ts';

describe('KeyedMutex', () => {
  it('hands the key on in order, skipping a waiter that gave up', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const first = mutex.tryLock('k')!;
    expect(mutex.tryLock('k')).toBeUndefined();
    const quitter = new AbortController();
    const gaveUp = mutex.lock('k', quitter.signal);
    const third = mutex.lock('k', new AbortController().signal).then((release) => (order.push('third'), release));
    quitter.abort(new Error('client left'));
    await expect(gaveUp).rejects.toThrow('client left');
    order.push('first releases');
    first();
    (await third)();
    expect(order).toEqual(['first releases', 'third']);
    // Nobody holds or waits: the key is free again, at once.
    const again = mutex.tryLock('k');
    expect(again).toBeTypeOf('function');
    again!();
  });

  it('keeps other keys free while one is held', async () => {
    const mutex = new KeyedMutex();
    const a = await mutex.lock('a');
    const b = mutex.tryLock('b');
    expect(b).toBeTypeOf('function');
    a();
    b!();
  });
});
