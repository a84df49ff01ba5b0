// The stored trace of a streamed answer stays small: the raw bytes in the database, on SQLite and
// PostgreSQL, for a 2,000-word answer streamed as a real engine streams it (a few characters per delta).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { StoredMemory } from '../../src/conversation/stored.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import { createStore } from '../../src/store/create-store.ts';
import { compactTrace, expandTrace } from '../../src/store/trace.ts';
import type { Store } from '../../src/store/types.ts';
import { TokenCounter } from '../../src/tokens.ts';
import { freshSchema, TEST_DATABASE_URL, type TestSchema } from '../support/postgres.ts';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const answer = Array.from({ length: 2000 }, (_, i) => WORDS[i % WORDS.length]).join(' ');

/** The events of a team run whose writer streams `answer` in 4-character deltas. */
function streamedRun(runId: string): RunEvent[] {
  let at = Date.now();
  const events: RunEvent[] = [
    { type: 'run_started', runId, model: 'cortex-flow', at: at++ },
    { type: 'agent_started', agent: 'supervisor', callId: 'supervisor_1', task: 'plan', at: at++ },
    {
      type: 'tool_call',
      agent: 'supervisor',
      toolCallId: 'c1',
      toolName: 'ask_writer',
      input: { task: 'w' },
      at: at++,
    },
    { type: 'agent_started', agent: 'writer', callId: 'writer_1', task: 'write', at: at++ },
  ];
  for (const piece of answer.match(/.{1,4}/gs)!) events.push({ type: 'text_delta', text: piece, at: at++ });
  events.push(
    { type: 'usage', usage: { agent: 'writer', model: 'm', inputTokens: 300, outputTokens: 2600 }, at: at++ },
    { type: 'agent_finished', agent: 'writer', callId: 'writer_1', ok: true, output: answer, at: at++ },
    {
      type: 'tool_result',
      agent: 'supervisor',
      toolCallId: 'c1',
      toolName: 'ask_writer',
      output: 'done',
      isError: false,
      at: at++,
    },
    { type: 'agent_finished', agent: 'supervisor', callId: 'supervisor_1', ok: true, output: 'delegated', at: at++ },
    {
      type: 'run_finished',
      finishReason: 'stop',
      text: answer,
      agentsUsed: ['supervisor', 'writer'],
      iterations: 1,
      sources: [],
      at: at++,
    },
  );
  return events;
}

async function recordStreamedTurn(store: Store, conversationId: string, runId: string): Promise<RunEvent[]> {
  const memory = new StoredMemory(store, new TokenCounter('gpt-4'), 100_000);
  const messages = [{ role: 'user' as const, content: 'Write me 2,000 words.' }];
  const lock = await memory.lock({ conversationId, messages });
  try {
    const turn = await memory.prepare({ lock, messages });
    const startedAt = new Date();
    await memory.begin({ turn, model: 'cortex-flow', runs: [{ runId, choiceIndex: 0 }], startedAt });
    const events = streamedRun(runId);
    await memory.record({
      conversationId,
      runId,
      model: 'cortex-flow',
      newMessages: turn.newMessages,
      answer: { role: 'assistant', content: answer },
      status: 'completed',
      events,
      agentsUsed: ['supervisor', 'writer'],
      usage: { inputTokens: 300, outputTokens: 2600, totalTokens: 2900 },
      promptTokens: 10,
      completionTokens: 2600,
      startedAt,
      finishedAt: new Date(),
    });
    return events;
  } finally {
    await lock.release();
  }
}

/** What the run replays as: every event but the deltas, and the deltas' text in order. */
function timeline(events: RunEvent[]) {
  return {
    text: events.map((e) => (e.type === 'text_delta' ? e.text : '')).join(''),
    others: events.filter((e) => e.type !== 'text_delta'),
  };
}

describe('compact run trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-trace-'));
  let schema: TestSchema | undefined;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  });

  it('folds a trace already folded into the same trace (memory folds before the store, the store again)', () => {
    const emitted = streamedRun('run_fold');
    const once = compactTrace(emitted);
    expect(compactTrace(once)).toEqual(once);
    expect(timeline(expandTrace(compactTrace(once)))).toEqual(timeline(emitted));
  });

  it('stores a 2,000-word streamed answer in under 3x its size on SQLite, and replays it whole', async () => {
    const store = await createStore({ dataDir: dir, databaseUrl: undefined });
    const emitted = await recordStreamedTurn(store, 'conv_trace', 'run_trace');
    const raw = new DatabaseSync(join(dir, 'cortex.db'), { readOnly: true });
    const { bytes } = raw
      .prepare("SELECT length(CAST(events AS BLOB)) AS bytes FROM runs WHERE id = 'run_trace'")
      .get() as {
      bytes: number;
    };
    raw.close();
    expect(bytes).toBeLessThan(3 * Buffer.byteLength(answer));
    const stored = (await store.getRun('run_trace', ''))!.events;
    expect(stored.filter((e) => e.type === 'text_delta')).toHaveLength(1);
    expect(timeline(stored)).toEqual(timeline(emitted));
    await store.close();
  });

  it('stores it in under 3x its size on PostgreSQL too', async () => {
    schema = await freshSchema('trace');
    const store = await createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
    const emitted = await recordStreamedTurn(store, 'conv_trace', 'run_trace');
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(
      `SELECT octet_length(events) AS bytes FROM "${schema.schema}".runs WHERE id = 'run_trace'`,
    );
    await client.end();
    expect(Number(rows[0].bytes)).toBeLessThan(3 * Buffer.byteLength(answer));
    expect(timeline((await store.getRun('run_trace', ''))!.events)).toEqual(timeline(emitted));
    await store.close();
  });
});
