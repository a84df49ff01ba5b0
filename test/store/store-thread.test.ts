// The embedded store runs on a thread of its own: what crosses between the threads (calls made
// together, values that cannot be cloned, errors) and what happens around close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.ts';
import type { RunRecord } from '../../src/store/types.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const open = () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'store-thread-'));
  dirs.push(dataDir);
  return createStore({ dataDir, databaseUrl: undefined });
};

const runOf = (id: string, conversationId: string, events: RunRecord['events'] = []): RunRecord => ({
  id,
  conversationId,
  owner: 'key_a',
  model: 'cortex-flow',
  status: 'completed',
  error: null,
  agentsUsed: ['writer'],
  events,
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  promptTokens: 1,
  completionTokens: 1,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
});

const turnOf = (n: number, events?: RunRecord['events']) => ({
  conversationId: `conv_${n}`,
  owner: 'key_a',
  title: `turn ${n}`,
  messages: [
    { role: 'user' as const, content: `question ${n}`, tokenCount: 3 },
    { role: 'assistant' as const, content: `answer ${n}`, tokenCount: 3 },
  ],
  run: runOf(`run_${n}`, `conv_${n}`, events),
});

describe('the SQLite store on its own thread', () => {
  it('stores every one of many turns written in the same tick, each call answered with its own result', async () => {
    const store = await open();
    await Promise.all(Array.from({ length: 40 }, (_, n) => store.appendTurn(turnOf(n))));
    const counts = await Promise.all(Array.from({ length: 40 }, (_, n) => store.getConversation(`conv_${n}`, 'key_a')));
    expect(counts.map((c) => [c?.id, c?.messageCount])).toEqual(Array.from({ length: 40 }, (_, n) => [`conv_${n}`, 2]));
    await store.close();
  });

  it('stores a value that cannot be cloned as JSON would, without failing the calls sent with it', async () => {
    const store = await open();
    const odd = [{ type: 'tool_result', output: { text: 'ok', render: () => 'not data' } }] as never;
    const [first, second] = await Promise.allSettled([store.appendTurn(turnOf(1, odd)), store.appendTurn(turnOf(2))]);
    expect([first.status, second.status]).toEqual(['fulfilled', 'fulfilled']);
    const stored = await store.getRun('run_1', 'key_a');
    expect(stored?.events).toEqual([{ type: 'tool_result', output: { text: 'ok' } }]);
    await store.close();
  });

  it('answers the calls made before close() and refuses those made after it', async () => {
    const store = await open();
    const before = store.appendTurn(turnOf(7));
    const closed = store.close();
    await expect(before).resolves.toBeUndefined();
    await closed;
    await expect(store.getConversation('conv_7', 'key_a')).rejects.toThrow(/closed/);
    const reopened = await createStore({ dataDir: dirs.at(-1)!, databaseUrl: undefined });
    expect((await reopened.getConversation('conv_7', 'key_a'))?.messageCount).toBe(2);
    await reopened.close();
  });
});
