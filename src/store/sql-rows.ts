// The statements a turn is written with and the rows it reads back as, shared by SqlStore's
// methods: one place for the hash chain, the NUL rule and the compact trace on the way in and out.
import type { ChatMessage } from '../orchestrator/types.ts';
import { isMintedConversationId } from '../run/run-ids.ts';
import { chainHash, chainRoot, tailHash } from './history-chain.ts';
import type { Param, Row, Sql } from './sql.ts';
import { storedText } from './text.ts';
import { agentUsage } from './run-stats.ts';
import { compactTrace, expandTrace } from './trace.ts';
import {
  ForeignConversationError,
  type Conversation,
  type NewMessage,
  type RunRecord,
  type StoredMessage,
} from './types.ts';

/**
 * Leases need not survive a database crash (their holders' connections do not either), so on
 * PostgreSQL their writes skip the wait for the WAL flush: taking and releasing the lock costs no disk
 * sync. SQLite (WAL, synchronous=NORMAL) does not sync at commit anyway.
 */
export async function relaxDurability(tx: Sql): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run('SET LOCAL synchronous_commit = off');
}

/**
 * Creates the conversation if new, or else locks it and checks it is the writer's own. Whether this
 * call created it.
 */
export async function claimConversation(
  tx: Sql,
  t: { conversationId: string; owner: string; title: string; systemPrompt?: string },
  now: string,
): Promise<boolean> {
  // A row the INSERT returns is new and the writer's own: no second look-up. Nobody else can lock
  // it before this transaction ends (on PostgreSQL, another insert of the id waits for it).
  const created = await tx.get(
    'INSERT INTO conversations (id, owner, title, system_prompt, message_count, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING owner',
    [t.conversationId, t.owner, storedText(t.title), storedText(t.systemPrompt ?? null), now, now],
  );
  if (created) return true;
  await lockConversation(tx, t.conversationId, t.owner);
  return false;
}

/** Locks a stored conversation for this transaction's writes and checks it is the writer's own. */
export async function lockConversation(tx: Sql, conversationId: string, owner: string): Promise<void> {
  // The row lock serialises writes to one conversation across replicas (SQLite's write lock
  // already does, from BEGIN IMMEDIATE).
  const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const conv = await tx.get<{ owner: string }>(`SELECT owner FROM conversations WHERE id = ?${lock}`, [conversationId]);
  if (!conv || conv.owner !== owner) throw new ForeignConversationError(conversationId);
}

/** Where a transcript ends: its last message's seq (the message count), chain hash and tail hash. */
export interface TranscriptEnd {
  seq: number;
  hash: string;
  /** See tailOf(). */
  tail: string | null;
}

/** The columns a message's place in the chain is computed from (see toChainMessage). */
export const CHAIN_COLUMNS = 'role, content, tool_call_id, tool_calls, images';

/** A stored message as far as the chain tells messages apart (read with CHAIN_COLUMNS). */
export function toChainMessage(row: Row): ChatMessage {
  const m: ChatMessage = { role: row.role as ChatMessage['role'], content: String(row.content) };
  if (row.tool_call_id) m.toolCallId = String(row.tool_call_id);
  if (row.tool_calls) m.toolCalls = JSON.parse(String(row.tool_calls));
  if (row.images) m.images = JSON.parse(String(row.images));
  return m;
}

/**
 * The conversation's `tail_hash`: the hash of its last two messages when the last is an answer, in
 * the chain of the owner's conversations that id-less requests find (only those the server minted);
 * null otherwise. A client whose window of the history slid finds the conversation by it. Null too
 * for a transcript of two messages (`length`): their tail hash is their head hash, and a window of
 * such a conversation is all of it, found by `head_hash` (a first turn writes no index entry more).
 */
export function tailOf(
  conversationId: string,
  owner: string,
  length: number,
  previous: ChatMessage | undefined,
  last: ChatMessage,
) {
  return length > 2 && previous && last.role === 'assistant' && isMintedConversationId(conversationId)
    ? tailHash(chainRoot(owner), previous, last)
    : null;
}

/**
 * Appends after the last stored message, each with its place in the owner's hash chain; where the
 * transcript then ends. `empty`: the conversation is known to hold no message (no need to look).
 */
export async function appendMessages(
  tx: Sql,
  conversationId: string,
  owner: string,
  messages: NewMessage[],
  now: string,
  empty = false,
): Promise<TranscriptEnd | undefined> {
  if (!messages.length) return undefined;
  const answer = messages.at(-1)!;
  // The stored message before a lone answer is read whole, for the tail hash (same statement).
  const withPrevious = messages.length === 1 && answer.role === 'assistant' && isMintedConversationId(conversationId);
  const last = empty ? undefined : await lastMessage(tx, conversationId, withPrevious);
  let seq = Number(last?.seq ?? 0);
  let hash = !last
    ? chainRoot(owner, conversationId)
    : (last.chain_hash ?? (await backfillChain(tx, conversationId, owner)));
  for (const m of messages) {
    hash = chainHash(hash, m);
    await tx.run(
      'INSERT INTO messages (conversation_id, seq, role, content, name, tool_calls, tool_call_id, images, token_count, run_id, created_at, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        conversationId,
        ++seq,
        m.role,
        storedText(m.content),
        storedText(m.name ?? null),
        m.toolCalls?.length ? JSON.stringify(m.toolCalls) : null,
        storedText(m.toolCallId ?? null),
        m.images?.length ? JSON.stringify(m.images) : null,
        m.tokenCount,
        m.runId ?? null,
        now,
        hash,
      ],
    );
  }
  const previous = messages.length > 1 ? messages.at(-2) : withPrevious && last ? toChainMessage(last) : undefined;
  return { seq, hash, tail: tailOf(conversationId, owner, seq, previous, answer) };
}

function lastMessage(tx: Sql, conversationId: string, whole: boolean) {
  return tx.get<Row & { seq: number; chain_hash: string | null }>(
    `SELECT seq, chain_hash${whole ? `, ${CHAIN_COLUMNS}` : ''} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1`,
    [conversationId],
  );
}

/**
 * Messages stored before the hash chain existed (or before named conversations had chains of their
 * own, migration 10) get theirs when their conversation next grows.
 */
async function backfillChain(tx: Sql, conversationId: string, owner: string): Promise<string> {
  const rows = await tx.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq', [conversationId]);
  let hash = chainRoot(owner, conversationId);
  for (const row of rows) {
    hash = chainHash(hash, toMessage(row));
    await tx.run('UPDATE messages SET chain_hash = ? WHERE conversation_id = ? AND seq = ?', [
      hash,
      conversationId,
      Number(row.seq),
    ]);
  }
  return hash;
}

/** A branch starts as a copy of its source's first `depth` messages (same chain: same owner). */
export async function copyPrefix(
  tx: Sql,
  conversationId: string,
  owner: string,
  from: { conversationId: string; depth: number },
): Promise<void> {
  const source = await tx.get<{ owner: string }>('SELECT owner FROM conversations WHERE id = ?', [from.conversationId]);
  if (!source || source.owner !== owner) throw new ForeignConversationError(from.conversationId);
  const columns = 'role, content, name, tool_calls, tool_call_id, images, token_count, run_id, created_at, chain_hash';
  const copied = await tx.run(
    `INSERT INTO messages (conversation_id, seq, ${columns}) SELECT ?, seq, ${columns} FROM messages WHERE conversation_id = ? AND seq <= ?`,
    [conversationId, from.conversationId, from.depth],
  );
  if (copied !== from.depth) throw new Error(`branch of ${from.conversationId}: ${copied} of ${from.depth} messages`);
}

/** A retried turn: the failed run's partial answer (the last message) goes, its user messages stay. */
export async function supersede(tx: Sql, conversationId: string, oldRunId: string, newRunId: string): Promise<void> {
  await tx.run(
    "DELETE FROM messages WHERE conversation_id = ? AND run_id = ? AND role = 'assistant' AND seq = (SELECT MAX(seq) FROM messages WHERE conversation_id = ?)",
    [conversationId, oldRunId, conversationId],
  );
  await tx.run('UPDATE messages SET run_id = ? WHERE conversation_id = ? AND run_id = ?', [
    newRunId,
    conversationId,
    oldRunId,
  ]);
}

/**
 * After the transcript changed: its length, the chain hash of its last message (how an id-less
 * client continuing it finds it), the hash of its last two messages (how one whose window of the
 * history slid finds it) and the time, in one statement. A turn that begins, or an answer that ends
 * the transcript (`endsRetry`), also ends the retryability of the turn before. `end`: where the
 * transcript ends, when this transaction's last change to it was an append (which knows); `unchanged`
 * when this transaction changed no message (the end stays as it was); otherwise it is read back.
 */
export async function touchConversation(
  tx: Sql,
  conversationId: string,
  owner: string,
  now: string,
  end: TranscriptEnd | 'unchanged' | undefined,
  systemPrompt?: string,
  endsRetry = false,
): Promise<void> {
  const retry = endsRetry ? ', retry_hash = NULL, retry_run_id = NULL, retry_depth = NULL' : '';
  if (end === 'unchanged') {
    await tx.run(
      `UPDATE conversations SET updated_at = ?, system_prompt = COALESCE(?, system_prompt)${retry} WHERE id = ?`,
      [now, storedText(systemPrompt ?? null), conversationId],
    );
    return;
  }
  // Messages deleted (a retry's partial answer), copied (a branch) or none stored at all: read back.
  const at = end ?? (await readEnd(tx, conversationId, owner));
  await tx.run(
    'UPDATE conversations SET message_count = ?, head_hash = ?, tail_hash = ?, updated_at = ?, ' +
      `system_prompt = COALESCE(?, system_prompt)${retry} WHERE id = ?`,
    [at.seq, at.hash, at.tail, now, storedText(systemPrompt ?? null), conversationId],
  );
}

async function readEnd(tx: Sql, conversationId: string, owner: string) {
  const [last, previous] = await tx.all<Row & { seq: number; chain_hash: string | null }>(
    `SELECT seq, chain_hash, ${CHAIN_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 2`,
    [conversationId],
  );
  return {
    seq: Number(last?.seq ?? 0),
    hash: last?.chain_hash ?? null,
    tail: last
      ? tailOf(conversationId, owner, Number(last.seq), previous && toChainMessage(previous), toChainMessage(last))
      : null,
  };
}

/**
 * What a run ended with, as its columns: status, error, agents_used, events, usage, agent_usage,
 * prompt and completion tokens.
 */
function outcomeColumns(r: RunRecord): Param[] {
  return [
    r.status,
    storedText(r.error),
    JSON.stringify(r.agentsUsed),
    JSON.stringify(compactTrace(r.events)),
    JSON.stringify(r.usage),
    JSON.stringify(agentUsage(r.events)),
    r.promptTokens,
    r.completionTokens,
  ];
}

export async function insertRun(tx: Sql, r: RunRecord): Promise<void> {
  await tx.run(
    'INSERT INTO runs (id, conversation_id, owner, model, status, error, agents_used, events, usage, agent_usage, prompt_tokens, completion_tokens, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      r.id,
      r.conversationId,
      r.owner,
      r.model,
      ...outcomeColumns(r),
      r.startedAt,
      r.finishedAt ?? '', // the column predates running runs: '' stands for "not yet"
    ],
  );
}

/** A run begun as `running` gets its end: status, trace, usage. */
export async function finishRun(tx: Sql, r: RunRecord, now: string): Promise<void> {
  await tx.run(
    'UPDATE runs SET status = ?, error = ?, agents_used = ?, events = ?, usage = ?, agent_usage = ?, prompt_tokens = ?, completion_tokens = ?, finished_at = ? WHERE id = ?',
    [...outcomeColumns(r), r.finishedAt ?? now, r.id],
  );
}

export function toRun(row: Row): RunRecord {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    owner: String(row.owner),
    model: String(row.model),
    status: row.status as RunRecord['status'],
    error: (row.error as string | null) ?? null,
    agentsUsed: JSON.parse(String(row.agents_used)),
    events: expandTrace(JSON.parse(String(row.events))),
    usage: JSON.parse(String(row.usage)),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    startedAt: String(row.started_at),
    finishedAt: row.finished_at ? String(row.finished_at) : null,
  };
}

export function toConversation(row: Row): Conversation {
  return {
    id: String(row.id),
    owner: String(row.owner),
    title: String(row.title),
    systemPrompt: (row.system_prompt as string | null) ?? null,
    messageCount: Number(row.message_count),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

export function toMessage(row: Row): StoredMessage {
  const m: StoredMessage = {
    seq: Number(row.seq),
    role: row.role as StoredMessage['role'],
    content: String(row.content),
    tokenCount: Number(row.token_count),
    runId: (row.run_id as string | null) ?? null,
    createdAt: String(row.created_at),
  };
  if (row.name) m.name = String(row.name);
  if (row.tool_calls) m.toolCalls = JSON.parse(String(row.tool_calls));
  if (row.tool_call_id) m.toolCallId = String(row.tool_call_id);
  if (row.images) m.images = JSON.parse(String(row.images));
  return m;
}
