// Migration 10: a conversation a client named gets a hash chain of its own, so that a request
// without a conversation id is never placed in it. Rows stored before keep working: the named
// conversation's chain is forgotten (and recomputed when it grows), a minted one's is kept.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { historyHashes } from '../../src/store/history-chain.ts';
import { migrate, MIGRATIONS } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/sql.ts';
import { SqlStore } from '../../src/store/sql-store.ts';
import { newConversationId } from '../../src/run/run-ids.ts';
import { conversationKey } from '../../src/conversation/conversation-keys.ts';
import { migrationBackends } from '../support/migration-backends.ts';

const backends = migrationBackends('migration10');

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const history = [user('hello'), assistant('Hi! How can I help?')];

/** A conversation as version 9 stored it: every one in its owner's chain, named or not. */
async function storeV9(db: Database, id: string) {
  const now = new Date().toISOString();
  const hashes = historyHashes('k', history);
  await db.run(
    'INSERT INTO conversations (id, owner, title, message_count, created_at, updated_at, head_hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [id, 'k', 't', history.length, now, now, hashes.at(-1)!],
  );
  for (const [i, m] of history.entries())
    await db.run(
      'INSERT INTO messages (conversation_id, seq, role, content, token_count, created_at, chain_hash) VALUES (?, ?, ?, ?, 1, ?, ?)',
      [id, i + 1, m.role, m.content, now, hashes[i]],
    );
}

describe.each(backends)('migration 10 on $name', (backend) => {
  it('takes the conversations a client named out of the chain id-less requests are placed by', async () => {
    const db = await backend.open();
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 9),
      );
      const minted = newConversationId();
      await storeV9(db, 'tenant-alice-1');
      await storeV9(db, minted);
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 10),
        ),
      ).toEqual([10]);

      const store = new SqlStore(db);
      expect((await store.conversationsEndingWith('k', history)).map((c) => c.id)).toEqual([minted]);
      expect((await store.matchHistory('k', history)).conversations.map((c) => c.id)).toEqual([minted]);
      // The named conversation grows on its own chain: still not where an id-less request goes. (The
      // store writes the columns of the latest version: the later ones first, 11 moving it under its key.)
      await migrate(db);
      const named = conversationKey('k', 'tenant-alice-1');
      const now = new Date().toISOString();
      await store.appendTurn({
        conversationId: named,
        owner: 'k',
        title: 't',
        messages: [{ ...user('And tomorrow?'), tokenCount: 3 }],
        run: {
          id: 'run_1',
          conversationId: named,
          owner: 'k',
          model: 'cortex-flow',
          status: 'completed',
          error: null,
          agentsUsed: [],
          events: [],
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          promptTokens: 1,
          completionTokens: 1,
          startedAt: now,
          finishedAt: now,
        },
      });
      const longer = [...history, user('And tomorrow?')];
      expect(await store.conversationsEndingWith('k', longer)).toEqual([]);
      expect((await store.getMessages(named)).map((m) => m.content)).toEqual([
        'hello',
        'Hi! How can I help?',
        'And tomorrow?',
      ]);
    } finally {
      await db.close();
    }
  });
});
