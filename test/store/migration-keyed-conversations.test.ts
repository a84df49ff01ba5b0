// Migration 11: a conversation id a client chose names that API key's own conversation, stored
// under `<owner>/<id>`. What was stored before moves there whole (messages, runs, the checkpoint of
// a paused run, its responses) and keeps working under the same id for its owner; conversations of
// the keyless namespace and minted ids stay where they are.
import { describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/sql.ts';
import { SqlStore } from '../../src/store/sql-store.ts';
import { newConversationId, newRunId } from '../../src/run/run-ids.ts';
import { conversationKey } from '../../src/conversation/conversation-keys.ts';
import { migrationBackends } from '../support/migration-backends.ts';

const backends = migrationBackends('migration11');

/** A conversation as version 10 stored it: under the id its client sent, whoever the owner. */
async function storeV10(db: Database, id: string, owner: string, runId: string) {
  const now = new Date().toISOString();
  await db.run(
    'INSERT INTO conversations (id, owner, title, message_count, created_at, updated_at) VALUES (?, ?, ?, 2, ?, ?)',
    [id, owner, `title of ${owner || 'nobody'}`, now, now],
  );
  for (const [seq, role, content] of [
    [1, 'user', `question of ${owner || 'nobody'}`],
    [2, 'assistant', 'answer'],
  ] as const)
    await db.run(
      'INSERT INTO messages (conversation_id, seq, role, content, token_count, run_id, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
      [id, seq, role, content, runId, now],
    );
  await db.run(
    `INSERT INTO runs (id, conversation_id, owner, model, status, agents_used, events, usage, prompt_tokens,
       completion_tokens, started_at, finished_at) VALUES (?, ?, ?, 'cortex-flow', 'tool_calls', '[]', '[]', '{}', 1, 1, ?, ?)`,
    [runId, id, owner, now, now],
  );
  await db.run(
    'INSERT INTO run_checkpoints (owner, tool_call_id, conversation_id, run_id, checkpoint, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [owner, `call_${runId}`, id, runId, JSON.stringify({ model: 'cortex-flow' }), now],
  );
  const responseId = `resp_${runId.slice(4).replaceAll('-', '')}`;
  await db.run(
    "INSERT INTO responses (id, owner, conversation_id, run_id, status, body, input_items, created_at) VALUES (?, ?, ?, ?, 'completed', '{}', '[]', ?)",
    [responseId, owner, id, runId, now],
  );
  return responseId;
}

describe.each(backends)('migration 11 on $name', (backend) => {
  it("moves each key's named conversations under that key, whole, and leaves the others", async () => {
    const db = await backend.open();
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 10),
      );
      const minted = newConversationId();
      const [keyedRun, keylessRun, mintedRun] = [newRunId(), newRunId(), newRunId()];
      const keyedResponse = await storeV10(db, 'tenant-1', 'key_a', keyedRun);
      await storeV10(db, 'tenant-2', '', keylessRun);
      await storeV10(db, minted, 'key_a', mintedRun);
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 11),
        ),
      ).toEqual([11]);

      const store = new SqlStore(db);
      const key = conversationKey('key_a', 'tenant-1');
      expect(key).toBe('key_a/tenant-1');
      expect(await store.getConversation('tenant-1', 'key_a')).toBeUndefined();
      const moved = await store.getConversation(key, 'key_a');
      expect(moved).toMatchObject({ id: key, title: 'title of key_a', messageCount: 2 });
      expect((await store.getMessages(key)).map((m) => m.content)).toEqual(['question of key_a', 'answer']);
      expect((await store.listRuns(key, 'key_a', { limit: 10 })).data.map((r) => r.id)).toEqual([keyedRun]);
      expect((await store.getRun(keyedRun, 'key_a'))?.conversationId).toBe(key);
      expect((await store.findCheckpoint('key_a', [`call_${keyedRun}`]))?.conversationId).toBe(key);
      expect((await store.getResponse(keyedResponse, 'key_a'))?.conversationId).toBe(key);

      // Unmoved: the keyless namespace, and an id the server minted.
      expect(await store.getConversation('tenant-2', '')).toMatchObject({ messageCount: 2 });
      expect((await store.getMessages(minted)).map((m) => m.content)).toEqual(['question of key_a', 'answer']);
      expect(
        (await store.listConversations('key_a', { limit: 10, order: 'asc' })).data.map((c) => c.id).sort(),
      ).toEqual([key, minted].sort());

      // Deleting the moved conversation takes everything that moved with it.
      expect(await store.deleteConversation(key, 'key_a')).toBe(true);
      expect(await store.getRun(keyedRun, 'key_a')).toBeUndefined();
      expect(await store.getResponse(keyedResponse, 'key_a')).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});
