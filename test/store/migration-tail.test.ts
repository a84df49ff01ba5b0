// Migration 13 indexes conversations by their last two messages, so that a client whose window of
// the history slid finds its conversation. Rows stored before it must be found the same way right
// after the upgrade: the migration back-fills the hash, a page of conversations at a time.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { newConversationId } from '../../src/run/run-ids.ts';
import { migrate, MIGRATIONS } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/sql.ts';
import { SqlStore } from '../../src/store/sql-store.ts';
import { migrationBackends } from '../support/migration-backends.ts';

const backends = migrationBackends('migration13');

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

/** Conversations as version 12 stored them (the chain hashes play no part here), in two statements. */
async function storeV12(db: Database, conversations: { id: string; owner: string; messages: ChatMessage[] }[]) {
  const now = new Date().toISOString();
  await db.transaction(async (tx) => {
    await tx.run(
      'INSERT INTO conversations (id, owner, title, message_count, created_at, updated_at) VALUES ' +
        conversations.map(() => '(?, ?, ?, ?, ?, ?)').join(', '),
      conversations.flatMap((c) => [c.id, c.owner, 't', c.messages.length, now, now]),
    );
    const rows = conversations.flatMap((c) => c.messages.map((m, i) => [c.id, i + 1, m.role, m.content, now]));
    await tx.run(
      'INSERT INTO messages (conversation_id, seq, role, content, token_count, created_at) VALUES ' +
        rows.map(() => '(?, ?, ?, ?, 1, ?)').join(', '),
      rows.flat(),
    );
  });
}

describe.each(backends)('migration 13 on $name', (backend) => {
  it('back-fills the last two messages of every conversation an id-less request may find', async () => {
    const db = await backend.open();
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 12),
      );
      const chat = [user('q1'), assistant('a1'), user('q2'), assistant('a2')];
      // More than a page of conversations (500), each ending with its own pair.
      const many = Array.from({ length: 620 }, (_, i) => ({
        id: newConversationId(),
        owner: 'k',
        messages: [user(`many q${i}a`), assistant(`many a${i}a`), user(`many q${i}`), assistant(`many a${i}`)],
      }));
      const ended = { id: newConversationId(), owner: 'k', messages: chat };
      const asking = { id: newConversationId(), owner: 'k', messages: [...chat, user('q3')] };
      const named = { id: 'k/my-chat', owner: 'k', messages: [user('named q'), assistant('named a')] };
      const alone = { id: newConversationId(), owner: 'k', messages: [assistant('only an answer')] };
      // Two messages: a window of it is all of it, found by its head hash (migration 7).
      const pair = { id: newConversationId(), owner: 'k', messages: [user('pair q'), assistant('pair a')] };
      await storeV12(db, [...many, ended, asking, named, alone, pair]);
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 13),
        ),
      ).toEqual([13]);

      const store = new SqlStore(db);
      expect(await store.conversationEndingWithWindow('k', chat.slice(1))).toMatchObject({ id: ended.id });
      expect(await store.conversationEndingWithWindow('k', chat.slice(2))).toMatchObject({ id: ended.id });
      expect(await store.conversationEndingWithWindow('other', chat.slice(2))).toBeUndefined();
      for (const i of [0, 499, 500, 619])
        expect(
          await store.conversationEndingWithWindow('k', [user(`many q${i}`), assistant(`many a${i}`)]),
        ).toMatchObject({ id: many[i].id });
      // Not ending with an answer, named by a client, without a pair or only one: no hash.
      const rows = await db.all<{ id: string; tail_hash: string | null }>('SELECT id, tail_hash FROM conversations');
      const tails = new Map(rows.map((r) => [String(r.id), r.tail_hash]));
      expect([asking.id, named.id, alone.id, pair.id].map((id) => tails.get(id))).toEqual([null, null, null, null]);
      expect(new Set(many.map((c) => tails.get(c.id))).size).toBe(many.length);
    } finally {
      await db.close();
    }
  });
});
