// The store under a realistic history: 10,000 conversations of 50 messages each (generated in
// bulk by the database itself), then p50/p99 of appending a turn and of loading a conversation,
// and the time to assemble a context window for a 10-message versus a 1,000-message conversation
// (near 1 means assembly cost follows the window, not the history). Then a 200-turn chat whose
// client never sends a conversation id and resends the whole history each turn: storage bytes per
// turn and the time to place the request and assemble its context, turn 10 against turn 200 (near 1
// means flat in the number of turns). SQLite and PostgreSQL.
// Run: npm run bench -- store     (PostgreSQL from CORTEX_BENCH_DATABASE_URL, default the local test db)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { StoredMemory } from '../src/conversation/stored.ts';
import { historyHashes } from '../src/store/history-chain.ts';
import type { ChatMessage } from '../src/orchestrator/types.ts';
import { migrate } from '../src/store/migrations.ts';
import { PostgresDatabase, SqliteDatabase, type Database } from '../src/store/sql.ts';
import { SqlStore } from '../src/store/sql-store.ts';
import { TokenCounter } from '../src/tokens.ts';
import { percentile } from './lib-load.ts';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 10_000);
const PER_CONVERSATION = 50;
const SAMPLES = 500;
const PG_URL =
  process.env.CORTEX_BENCH_DATABASE_URL ??
  process.env.CORTEX_TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const TEXT =
  'This is a stored message of a long conversation, about forty tokens long, so that the window holds a dozen of them at once.';

/** Bulk rows from a recursive CTE (SQLite) or generate_series (PostgreSQL): seconds, not minutes. */
async function seed(db: Database): Promise<void> {
  const now = new Date().toISOString();
  const series = (n: number) =>
    db.dialect === 'sqlite'
      ? `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n}) SELECT i FROM s`
      : `SELECT generate_series(1, ${n}) AS i`;
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO conversations (id, owner, title, system_prompt, message_count, created_at, updated_at) SELECT 'conv_' || i, '', 'Conversation ' || i, NULL, ${PER_CONVERSATION}, ?, ? FROM (${series(CONVERSATIONS)}) AS c`,
      [now, now],
    );
    await tx.run(
      `INSERT INTO messages (conversation_id, seq, role, content, token_count, created_at)
       SELECT 'conv_' || c.i, m.i, CASE WHEN m.i % 2 = 1 THEN 'user' ELSE 'assistant' END, ? || ' #' || m.i, 40, ?
       FROM (${series(CONVERSATIONS)}) AS c, (${series(PER_CONVERSATION)}) AS m`,
      [TEXT, now],
    );
    for (const [id, n] of [
      ['conv_short', 10],
      ['conv_long', 1000],
    ] as const) {
      await tx.run(
        `INSERT INTO conversations (id, owner, title, system_prompt, message_count, created_at, updated_at) VALUES (?, '', ?, NULL, ?, ?, ?)`,
        [id, id, n, now, now],
      );
      await tx.run(
        `INSERT INTO messages (conversation_id, seq, role, content, token_count, created_at) SELECT ?, i, CASE WHEN i % 2 = 1 THEN 'user' ELSE 'assistant' END, ? || ' #' || i, 40, ? FROM (${series(n)}) AS s`,
        [id, TEXT, now],
      );
    }
  });
}

async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms`;
const median = (xs: number[]) => percentile(xs, 50);

async function measure(name: string, db: Database): Promise<void> {
  await migrate(db);
  const t0 = performance.now();
  await seed(db);
  console.log(
    `${name}: seeded ${CONVERSATIONS} conversations x ${PER_CONVERSATION} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const store = new SqlStore(db);
  const tokens = new TokenCounter('gpt-4');
  const pick = (i: number) => `conv_${1 + ((i * 7919) % CONVERSATIONS)}`;
  const load = await timeEach(SAMPLES, (i) => store.getMessages(pick(i)));
  // The first turn appended to a conversation stored before the hash chain existed hashes its
  // history once (50 messages here): measured apart from the steady state.
  const appendTo = (i: number) =>
    store.appendTurn({
      conversationId: pick(i + 1),
      owner: '',
      title: 'x',
      messages: [
        { role: 'user', content: 'One more question', tokenCount: 6 },
        { role: 'assistant', content: 'One more answer', tokenCount: 6 },
      ],
      run: {
        id: `run_bench_${name}_${i}_${Math.random().toString(36).slice(2)}`,
        conversationId: pick(i + 1),
        owner: '',
        model: 'cortex-flow',
        status: 'completed',
        error: null,
        agentsUsed: ['writer'],
        events: [],
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        promptTokens: 1,
        completionTokens: 1,
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
      },
    });
  const firstAppend = await timeEach(SAMPLES, (i) => appendTo(i));
  const append = await timeEach(SAMPLES, (i) => appendTo(i));
  // A window of ~450 tokens holds about 10 of these messages: the same window for both conversations.
  const memory = new StoredMemory(store, tokens, 450);
  const assemble = (id: string) => async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'And now?' }];
    const lock = await memory.lock({ conversationId: id, messages });
    await memory.prepare({ lock, messages });
    await lock.release();
  };
  for (let i = 0; i < 20; i++) {
    await assemble('conv_short')();
    await assemble('conv_long')();
  }
  const short = await timeEach(SAMPLES, assemble('conv_short'));
  const long = await timeEach(SAMPLES, assemble('conv_long'));
  console.log(`  load a 50-message conversation: ${fmt(load)}`);
  console.log(`  first append to a conversation stored before the hash chain: ${fmt(firstAppend)}`);
  console.log(`  append a turn (2 messages + run): ${fmt(append)}`);
  console.log(`  context assembly, 10 messages: ${fmt(short)}; 1,000 messages: ${fmt(long)}`);
  console.log(`  ratio 1,000-message / 10-message assembly (median): ${(median(long) / median(short)).toFixed(3)}`);
  await idlessChat(db, store, tokens);
}

const CHAT_TURNS = 200;
/** Turns averaged around each end of the chat, to smooth one-off pauses. */
const AROUND = 5;

/** What a conversation holds in the store: its messages (text and chain hashes) and its runs' traces, in bytes. */
async function storedBytes(db: Database, conversationId: string): Promise<number> {
  const len = (col: string) => (db.dialect === 'sqlite' ? `length(CAST(${col} AS BLOB))` : `octet_length(${col})`);
  const m = await db.get<{ n: number }>(
    `SELECT COALESCE(SUM(${len('content')} + ${len('chain_hash')}), 0) AS n FROM messages WHERE conversation_id = ?`,
    [conversationId],
  );
  const r = await db.get<{ n: number }>(
    `SELECT COALESCE(SUM(${len('events')} + ${len('usage')} + ${len('agents_used')}), 0) AS n FROM runs WHERE conversation_id = ?`,
    [conversationId],
  );
  return Number(m?.n ?? 0) + Number(r?.n ?? 0);
}

async function idlessChat(db: Database, store: SqlStore, tokens: TokenCounter): Promise<void> {
  const memory = new StoredMemory(store, tokens, 450);
  const history: ChatMessage[] = [];
  const bytes: number[] = [];
  const placeAndAssemble: number[] = [];
  const hashing: number[] = [];
  const conversations = new Set<string>();
  let before = 0;
  for (let i = 1; i <= CHAT_TURNS; i++) {
    history.push({ role: 'user', content: `${TEXT} Question ${i}.` });
    // Fresh objects each turn, as parsed from a request body (nothing cached from the turn before).
    const messages = history.map((m) => ({ ...m }));
    // The part that must grow with the request: hashing the history it resends (as parsing it does).
    const h = performance.now();
    historyHashes(
      '',
      history.map((m) => ({ ...m })),
    );
    hashing.push(performance.now() - h);
    const t = performance.now();
    const lock = await memory.lock({ messages });
    const turn = await memory.prepare({ lock, messages });
    placeAndAssemble.push(performance.now() - t);
    conversations.add(turn.conversationId);
    const runId = `run_chat_${db.dialect}_${i}`;
    const startedAt = new Date();
    const answer = `${TEXT} Answer ${i}.`;
    await memory.begin({ turn, model: 'cortex-flow', runs: [{ runId, choiceIndex: 0 }], startedAt });
    await memory.record({
      conversationId: turn.conversationId,
      runId,
      model: 'cortex-flow',
      newMessages: turn.newMessages,
      answer: { role: 'assistant', content: answer },
      status: 'completed',
      events: [
        { type: 'run_started', runId, model: 'cortex-flow', at: 1 },
        ...(answer.match(/.{1,4}/gs) ?? []).map((text) => ({ type: 'text_delta' as const, text, at: 2 })),
        {
          type: 'run_finished',
          finishReason: 'stop',
          text: answer,
          agentsUsed: ['writer'],
          iterations: 1,
          sources: [],
          at: 3,
        },
      ],
      agentsUsed: ['writer'],
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      promptTokens: 1,
      completionTokens: 1,
      startedAt,
      finishedAt: new Date(),
    });
    await lock.release();
    history.push({ role: 'assistant', content: answer });
    const after = await storedBytes(db, turn.conversationId);
    bytes.push(after - before);
    before = after;
  }
  const around = (xs: number[], turn: number) =>
    median(xs.slice(turn - AROUND, turn + AROUND - 1).sort((a, b) => a - b));
  const [early, late] = [10, CHAT_TURNS - AROUND + 1];
  console.log(
    `  ${CHAT_TURNS}-turn chat without ids: ${conversations.size} conversation(s), ${(await store.getMessages([...conversations][0])).length} messages`,
  );
  console.log(
    `  stored bytes per turn (messages + run): turn ${early} ${around(bytes, early)}, turn ${CHAT_TURNS} ${around(bytes, late)}; ratio ${(around(bytes, late) / around(bytes, early)).toFixed(3)}`,
  );
  console.log(
    `  place the request + assemble its context: turn ${early} ${around(placeAndAssemble, early).toFixed(2)} ms, turn ${CHAT_TURNS} ${around(placeAndAssemble, late).toFixed(2)} ms; ratio ${(around(placeAndAssemble, late) / around(placeAndAssemble, early)).toFixed(3)}`,
  );
  const database = placeAndAssemble.map((ms, i) => ms - hashing[i]);
  console.log(
    `    of which hashing the resent history: turn ${early} ${around(hashing, early).toFixed(2)} ms, turn ${CHAT_TURNS} ${around(hashing, late).toFixed(2)} ms; the rest (database, lock): ratio ${(around(database, late) / around(database, early)).toFixed(3)}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
try {
  const sqlite = new SqliteDatabase(join(dir, 'cortex.db'));
  await measure('SQLite', sqlite);
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const schema = `bench_store_${process.pid}`;
const admin = new pg.Client({ connectionString: PG_URL });
try {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = new PostgresDatabase(PG_URL, { schema });
  try {
    await measure('PostgreSQL', db);
  } finally {
    await db.close();
  }
} catch (err) {
  console.log(`PostgreSQL: skipped (${(err as Error).message})`);
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin.end().catch(() => {});
}
