// The console's overview (GET /v1/stats) sums the upstream tokens of every run in its window. It
// reads the tokens each run keeps per agent (runs.agent_usage), a few bytes, and not the run's
// whole trace (tens of KB each: 40 MB read and parsed per call for 2,000 runs); a run stored
// before those were kept is still counted, from its trace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import { migratedStore } from '../../src/store/create-store.ts';
import { SqliteDatabase } from '../../src/store/sql.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import { newConversationId, newRunId } from '../../src/run/run-ids.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-run-stats-'));
let db: SqliteDatabase;
let store: SqlStore;

beforeAll(async () => {
  db = new SqliteDatabase(join(dir, 'stats.db'));
  store = await migratedStore(db);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const usage = (agent: string, inputTokens: number, outputTokens: number): RunEvent => ({
  type: 'usage',
  usage: { agent, model: 'm', inputTokens, outputTokens },
  at: 1,
});

async function storeRun(events: RunEvent[]): Promise<string> {
  const conversationId = newConversationId();
  const id = newRunId();
  const now = new Date().toISOString();
  await store.appendTurn({
    conversationId,
    owner: 'k',
    title: 'q',
    messages: [
      { role: 'user', content: 'q', tokenCount: 1 },
      { role: 'assistant', content: 'a', tokenCount: 1 },
    ],
    run: {
      id,
      conversationId,
      owner: 'k',
      model: 'cortex-flow',
      status: 'completed',
      error: null,
      agentsUsed: ['researcher'],
      events,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      promptTokens: 1,
      completionTokens: 1,
      startedAt: now,
      finishedAt: now,
    },
  });
  return id;
}

it('sums the tokens kept per agent with each run, without reading the traces', async () => {
  await storeRun([usage('researcher', 10, 2), usage('writer', 3, 40)]);
  await storeRun([usage('researcher', 5, 1)]);
  // Were a trace read, this would not parse.
  await db.run("UPDATE runs SET events = 'not read'");
  const stats = await store.runStats('k', new Date(Date.now() - 60_000).toISOString());
  expect(stats.runs).toBe(2);
  expect(stats.tokensByAgent).toEqual({
    researcher: { inputTokens: 15, outputTokens: 3 },
    writer: { inputTokens: 3, outputTokens: 40 },
  });
});

it('counts a run stored before the tokens were kept per agent from its trace', async () => {
  const older = await storeRun([usage('analyst', 7, 7)]);
  await db.run('UPDATE runs SET agent_usage = NULL, events = ? WHERE id = ?', [
    JSON.stringify([usage('analyst', 7, 7)]),
    older,
  ]);
  const stats = await store.runStats('k', new Date(Date.now() - 60_000).toISOString());
  expect(stats.tokensByAgent.analyst).toEqual({ inputTokens: 7, outputTokens: 7 });
  expect(stats.runs).toBe(3);
});
