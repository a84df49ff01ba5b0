// Versioned schema changes, applied in order at start-up inside one transaction each. The same
// SQL serves SQLite and PostgreSQL (text timestamps in ISO 8601 UTC sort correctly in both).
// Append new versions; never edit a released one. docs/SCHEMA.md describes the result.
import { isMintedConversationId } from '../run/run-ids.ts';
import { conversationKey } from '../conversation/conversation-keys.ts';
import { backfillRetryable } from './retry-index.ts';
import { CHAIN_COLUMNS, tailOf, toChainMessage } from './sql-rows.ts';
import { PostgresDatabase, type Database, type Sql } from './sql.ts';

/** A response stored before version 8: its id is not derived from its run's. */
export const V6_RESPONSE = "(id <> 'resp_' || replace(substr(run_id, 5), '-', ''))";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Data the SQL cannot derive on its own, filled in the same transaction after it. */
  backfill?: (tx: Sql) => Promise<void>;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'conversations, messages, runs',
    sql: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        system_prompt TEXT,
        message_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX conversations_by_owner ON conversations (owner, created_at, id);
      CREATE TABLE messages (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        name TEXT,
        tool_calls TEXT,
        tool_call_id TEXT,
        images TEXT,
        token_count INTEGER NOT NULL,
        run_id TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      );
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        agents_used TEXT NOT NULL,
        events TEXT NOT NULL,
        usage TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL
      );
      CREATE INDEX runs_by_conversation ON runs (conversation_id);
    `,
  },
  {
    version: 2,
    name: 'api keys and rate-limit windows',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE rate_limit_windows (
        bucket TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        PRIMARY KEY (bucket, window_start)
      );
    `,
  },
  {
    version: 3,
    name: 'history hash chain, run leases, checkpoints',
    sql: `
      ALTER TABLE messages ADD COLUMN chain_hash TEXT;
      CREATE INDEX messages_by_chain ON messages (chain_hash);
      CREATE INDEX runs_by_conversation_time ON runs (conversation_id, started_at, id);
      CREATE INDEX runs_running ON runs (conversation_id) WHERE status = 'running';
      CREATE TABLE conversation_leases (
        conversation_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE TABLE run_checkpoints (
        owner TEXT NOT NULL,
        tool_call_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, tool_call_id)
      );
      CREATE INDEX run_checkpoints_by_run ON run_checkpoints (run_id);
      CREATE INDEX run_checkpoints_by_conversation ON run_checkpoints (conversation_id);
    `,
  },
  {
    version: 4,
    name: 'runs by owner and start (the console overview)',
    sql: `
      CREATE INDEX runs_by_owner_time ON runs (owner, started_at);
    `,
  },
  {
    version: 5,
    name: 'history chain look-up, newest holders first',
    // A prefix many conversations share (the same first message under one key) has thousands of
    // holders: the look-up reads the newest few from the index instead of all of them.
    sql: `
      CREATE INDEX messages_by_chain_time ON messages (chain_hash, created_at);
      DROP INDEX messages_by_chain;
    `,
  },
  {
    version: 6,
    name: 'responses of the Responses API',
    sql: `
      CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL,
        input_items TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX responses_by_conversation ON responses (conversation_id);
    `,
  },
  {
    version: 7,
    name: 'conversations by their last message, retryable last turns',
    // An id-less client continuing a linear chat sends a history that ends exactly where a stored
    // conversation ends: the chain hash of that conversation's last message (head_hash) finds it in
    // one look-up. Retryable last turns get a narrow index of their own (retry-index.ts), empty
    // while nothing fails. Both replace reading the newest holders of a hash and their tails.
    sql: `
      ALTER TABLE conversations ADD COLUMN head_hash TEXT;
      ALTER TABLE conversations ADD COLUMN retry_hash TEXT;
      ALTER TABLE conversations ADD COLUMN retry_run_id TEXT;
      ALTER TABLE conversations ADD COLUMN retry_depth INTEGER;
      UPDATE conversations SET head_hash = (
        SELECT m.chain_hash FROM messages m WHERE m.conversation_id = conversations.id ORDER BY m.seq DESC LIMIT 1
      );
      CREATE INDEX conversations_by_head ON conversations (head_hash, updated_at);
      CREATE INDEX conversations_retryable ON conversations (retry_hash) WHERE retry_hash IS NOT NULL;
    `,
    backfill: backfillRetryable,
  },
  {
    version: 8,
    name: 'responses found through their runs',
    // A response's id is now its run's (resp_<uuid of the run>): a conversation's responses are found
    // through its runs, and a new response adds no row to an index keyed by a random conversation id.
    // The responses stored before keep an index, partial: it holds them and no new one.
    sql: `
      DROP INDEX responses_by_conversation;
      CREATE INDEX responses_v6_by_conversation ON responses (conversation_id) WHERE ${V6_RESPONSE};
    `,
  },
  {
    version: 9,
    name: 'runs by conversation: one index',
    // (conversation_id) is a prefix of (conversation_id, started_at, id): every look-up of a
    // conversation's runs uses that one, and a new run updates one index fewer.
    sql: `
      DROP INDEX runs_by_conversation;
    `,
  },
  {
    version: 10,
    name: 'conversations a client named leave the owner chain',
    // A named conversation's chain is now seeded by its id (history-chain.ts): its messages' hashes
    // are forgotten (recomputed when it next grows) and so is what an id-less request finds it by.
    sql: '',
    backfill: forgetNamedChains,
  },
  {
    version: 11,
    name: 'conversation ids a client chose are per API key',
    // Such a conversation is now stored under `<owner>/<id>` (src/conversation/conversation-keys.ts),
    // so that another key may use the same id. Its chain is seeded by that key: forgotten, as in v10.
    sql: '',
    backfill: keyNamedConversations,
  },
  {
    version: 12,
    name: 'server secrets',
    // Random keys of the deployment, made at first use (SqlStore.serverSecret): every replica
    // sharing the store seals and opens what clients carry (a paused run's checkpoint) with one key.
    sql: `
      CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 13,
    name: 'conversations by their last two messages',
    // A client that drops its oldest messages to fit its own context window sends a history that
    // starts later than the stored transcript but ends where it ends: the hash of the last two
    // messages, a question and its answer (tail_hash, sql-rows.ts), finds the conversation, whose
    // tail is then compared with the history. Null while a transcript does not end with an answer,
    // and for conversations a client named: the index holds only what id-less requests may find.
    sql: `
      ALTER TABLE conversations ADD COLUMN tail_hash TEXT;
      CREATE INDEX conversations_by_tail ON conversations (tail_hash, updated_at) WHERE tail_hash IS NOT NULL;
    `,
    backfill: backfillTails,
  },
  {
    version: 14,
    name: "runs' upstream tokens per agent",
    // The console's overview (/v1/stats) summed the tokens of every run in its window by reading and
    // parsing each run's whole trace (tens of KB, 40 MB for 2,000 runs). A run now keeps its tokens
    // per agent beside it; older runs have none, and their traces are read until they leave the window.
    sql: `
      ALTER TABLE runs ADD COLUMN agent_usage TEXT;
    `,
  },
];

/** Fills `tail_hash` for the conversations stored before version 13, a page of them at a time. */
async function backfillTails(tx: Sql): Promise<void> {
  for (let after = ''; ;) {
    const page = await tx.all<{ id: string; owner: string; message_count: number }>(
      'SELECT id, owner, message_count FROM conversations WHERE id > ? AND message_count > 2 ORDER BY id LIMIT 500',
      [after],
    );
    if (!page.length) return;
    after = String(page.at(-1)!.id);
    const minted = page.filter((c) => isMintedConversationId(String(c.id)));
    if (!minted.length) continue;
    const rows = await tx.all<Record<string, unknown>>(
      `SELECT m.conversation_id, ${CHAIN_COLUMNS} FROM conversations c JOIN messages m ON m.conversation_id = c.id ` +
        `AND m.seq >= c.message_count - 1 WHERE c.id IN (${minted.map(() => '?').join(', ')}) ORDER BY m.conversation_id, m.seq`,
      minted.map((c) => String(c.id)),
    );
    const ends = Map.groupBy(rows, (r) => String(r.conversation_id));
    for (const c of minted) {
      const [previous, last] = (ends.get(String(c.id)) ?? []).map(toChainMessage);
      const tail = last ? tailOf(String(c.id), String(c.owner), Number(c.message_count), previous, last) : null;
      if (tail) await tx.run('UPDATE conversations SET tail_hash = ? WHERE id = ?', [tail, String(c.id)]);
    }
  }
}

/** Clears the chain of every conversation whose id a client chose (migration 10). */
async function forgetNamedChains(tx: Sql): Promise<void> {
  const ids = await tx.all<{ id: string }>('SELECT id FROM conversations');
  for (const { id } of ids) {
    if (isMintedConversationId(id)) continue;
    await tx.run('UPDATE messages SET chain_hash = NULL WHERE conversation_id = ?', [id]);
    await tx.run(
      'UPDATE conversations SET head_hash = NULL, retry_hash = NULL, retry_run_id = NULL, retry_depth = NULL WHERE id = ?',
      [id],
    );
  }
}

/** Moves every conversation a key's client named under its key (migration 11). */
async function keyNamedConversations(tx: Sql): Promise<void> {
  const rows = await tx.all<{ id: string; owner: string }>("SELECT id, owner FROM conversations WHERE owner <> ''");
  for (const { id, owner } of rows) {
    const key = conversationKey(owner, id);
    if (key === id || id.includes('/')) continue;
    // The new row first, so that the rows referring to the conversation can move to it.
    await tx.run(
      `INSERT INTO conversations (id, owner, title, system_prompt, message_count, created_at, updated_at)
       SELECT ?, owner, title, system_prompt, message_count, created_at, updated_at FROM conversations WHERE id = ?`,
      [key, id],
    );
    for (const table of ['messages', 'runs', 'run_checkpoints', 'responses', 'conversation_leases'])
      await tx.run(`UPDATE ${table} SET conversation_id = ? WHERE conversation_id = ?`, [key, id]);
    await tx.run('UPDATE messages SET chain_hash = NULL WHERE conversation_id = ?', [key]);
    await tx.run('DELETE FROM conversations WHERE id = ?', [id]);
  }
}

const MIGRATION_LOCK = 0x43_46_4d_47; // "CFMG": one replica migrates, the others wait

/**
 * Applies the versions of `migrations` not yet recorded in `table`. Which versions are missing is
 * read under the same lock that applying them takes, so processes starting together never apply a
 * version twice ("table conversations already exists"): on PostgreSQL an advisory lock around
 * one transaction per version, on SQLite one `BEGIN IMMEDIATE` transaction (the file's write lock)
 * around the check and all the versions.
 */
export async function migrate(
  db: Database,
  migrations: Migration[] = MIGRATIONS,
  table = 'schema_migrations',
): Promise<number[]> {
  const pending = async (sql: Sql) => {
    await sql.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
    );
    const done = new Set(
      (await sql.all<{ version: number }>(`SELECT version FROM ${table}`)).map((r) => Number(r.version)),
    );
    return migrations.filter((m) => !done.has(m.version));
  };
  const apply = async (tx: Sql, m: Migration) => {
    if (m.sql) await tx.exec(m.sql);
    await m.backfill?.(tx);
    await tx.run(`INSERT INTO ${table} (version, name, applied_at) VALUES (?, ?, ?)`, [
      m.version,
      m.name,
      new Date().toISOString(),
    ]);
    return m.version;
  };
  if (db instanceof PostgresDatabase)
    return db.withAdvisoryLock(MIGRATION_LOCK, async (sql) => {
      const applied: number[] = [];
      for (const m of await pending(sql)) applied.push(await db.transaction((tx) => apply(tx, m), { unbounded: true }));
      return applied;
    });
  return db.transaction(async (tx) => {
    const applied: number[] = [];
    for (const m of await pending(tx)) applied.push(await apply(tx, m));
    return applied;
  });
}
