// Migration 7 indexes conversations by where they end and by their retryable last turn. Rows stored
// before it must be found the same way right after the upgrade: the migration back-fills both.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { historyHashes } from '../../src/store/history-chain.ts';
import { migrate, MIGRATIONS } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/sql.ts';
import { SqlStore } from '../../src/store/sql-store.ts';
import { migrationBackends } from '../support/migration-backends.ts';

const backends = migrationBackends('migration7');

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

/** A conversation as version 6 stored it: messages with their chain hashes, and its runs. */
async function storeV6(
  db: Database,
  id: string,
  messages: { m: ChatMessage; runId: string }[],
  runs: Record<string, string>,
) {
  const now = new Date().toISOString();
  const hashes = historyHashes(
    'k',
    messages.map((x) => x.m),
  );
  await db.run(
    'INSERT INTO conversations (id, owner, title, message_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    [id, 'k', 't', messages.length, now, now],
  );
  for (const [i, { m, runId }] of messages.entries())
    await db.run(
      'INSERT INTO messages (conversation_id, seq, role, content, token_count, run_id, created_at, chain_hash) VALUES (?, ?, ?, ?, 1, ?, ?, ?)',
      [id, i + 1, m.role, m.content, runId, now, hashes[i]],
    );
  for (const [runId, status] of Object.entries(runs))
    await db.run(
      "INSERT INTO runs (id, conversation_id, owner, model, status, agents_used, events, usage, prompt_tokens, completion_tokens, started_at, finished_at) VALUES (?, ?, 'k', 'm', ?, '[]', '[]', '{}', 0, 0, ?, ?)",
      [runId, id, status, now, now],
    );
}

describe.each(backends)('migration 7 on $name', (backend) => {
  it('back-fills where each stored conversation ends and which last turns can be retried', async () => {
    const db = await backend.open();
    try {
      await migrate(db, MIGRATIONS.slice(0, 6));
      await storeV6(
        db,
        'c-done',
        [
          { m: user('q1'), runId: 'r1' },
          { m: assistant('a1'), runId: 'r1' },
        ],
        { r1: 'completed' },
      );
      await storeV6(
        db,
        'c-failed',
        [
          { m: user('q1'), runId: 'r2' },
          { m: assistant('a1'), runId: 'r2' },
          { m: user('q2'), runId: 'r3' },
          { m: assistant('partial'), runId: 'r3' },
        ],
        { r2: 'completed', r3: 'failed' },
      );
      // Up to 9: version 10 takes conversations a client named (as these are) out of the owner's chain.
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 9),
        ),
      ).toContain(7);

      const store = new SqlStore(db);
      expect((await store.conversationsEndingWith('k', [user('q1'), assistant('a1')])).map((c) => c.id)).toEqual([
        'c-done',
      ]);
      expect(await store.retryableTurn('k', [user('q1'), assistant('a1'), user('q2')])).toMatchObject({
        conversationId: 'c-failed',
        runId: 'r3',
        depth: 2,
      });
      expect(await store.retryableTurn('k', [user('q1')])).toBeUndefined(); // c-done's turn completed
    } finally {
      await db.close();
    }
  });
});
