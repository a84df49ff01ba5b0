// The Store over SQL that SQLite and PostgreSQL both understand; the Database decides how
// statements run and how transactions lock.
import { randomBytes } from 'node:crypto';
import type { StoredApiKey } from '../auth/api-keys.ts';
import type { WindowCounts } from '../auth/rate-limit.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import { chainRoot, historyHashes, sameInChain, tailHash } from './history-chain.ts';
import { V6_RESPONSE } from './migrations.ts';
import { codePointOrder, type Database, type Param, type Sql } from './sql.ts';
import {
  appendMessages,
  CHAIN_COLUMNS,
  claimConversation,
  copyPrefix,
  finishRun,
  insertRun,
  lockConversation,
  relaxDurability,
  supersede,
  toChainMessage,
  toConversation,
  toMessage,
  toRun,
  touchConversation,
} from './sql-rows.ts';
import { deleteExpiredLeases, liveLeases, noLiveLease, renewLease, takeLease } from './lease-sql.ts';
import { markRetryable, RETRYABLE_STATUSES, supersedeRetries } from './retry-index.ts';
import { agentUsage, runStats, type RunStats, type RunStatsRow } from './run-stats.ts';
import { storedText } from './text.ts';
import { compactTrace } from './trace.ts';
import {
  ForeignConversationError,
  TurnTakenOverError,
  type Conversation,
  type ConversationHead,
  type HistoryMatch,
  type ListOptions,
  type NewTurn,
  type Page,
  type RetryableTurn,
  type RunProgress,
  type RunRecord,
  type Store,
  type StoredCheckpoint,
  type StoredMessage,
  type StoredResponse,
  type TurnFinish,
  type TurnStart,
} from './types.ts';

/**
 * Keeps a response of the Responses API (written once, with its run's end). Its body and input items
 * arrive as the JSON text already rendered for the client: nothing is serialised twice.
 */
async function insertResponse(sql: Pick<Sql, 'run'>, r: StoredResponse): Promise<void> {
  await sql.run(
    'INSERT INTO responses (id, owner, conversation_id, run_id, status, body, input_items, created_at) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [r.id, r.owner, r.conversationId, r.runId, r.status, r.body, r.inputItems, r.createdAt],
  );
}

/** The SQL of responseIdOfRun: a response's id from its run's (`run_<uuid>` -> `resp_<hex>`). */
const RESPONSE_ID_OF_RUN = "'resp_' || replace(substr(id, 5), '-', '')";

const INTERRUPTED = 'the server stopped before the run finished (interrupted)';

const PAGE = 64;
/** Conversations holding one history prefix that a look-up considers, newest first. */
const HOLDERS = 32;
/** Conversations ending with one pair of messages whose tails a look-up reads, newest first. */
const WINDOW_HOLDERS = 4;

/** A conversation row as a look-up by where it ends answers it. */
const toHead = (r: { id: string; message_count: number; updated_at: string }): ConversationHead => ({
  id: String(r.id),
  messageCount: Number(r.message_count),
  updatedAt: String(r.updated_at),
});

const compareDesc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);
const RETRYABLE: ReadonlySet<string> = new Set(RETRYABLE_STATUSES);

async function lastChainHash(tx: Sql, conversationId: string): Promise<string | undefined> {
  const row = await tx.get<{ chain_hash: string | null }>(
    'SELECT chain_hash FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1',
    [conversationId],
  );
  return row?.chain_hash ?? undefined;
}

/** A lease row written in a turn's own transaction (a conversation nobody else can know yet). */
async function takeTurnLease(tx: Sql, conversationId: string, lease: { holder: string; ttlMs: number }): Promise<void> {
  if (!(await takeLease(tx, conversationId, lease.holder, lease.ttlMs)))
    throw new Error(`conversation ${conversationId} is leased by another turn`);
}

export class SqlStore implements Store {
  private readonly db: Database;
  private windowWrites = 0;

  constructor(db: Database) {
    this.db = db;
  }

  get dialect() {
    return this.db.dialect;
  }

  async getConversation(id: string, owner: string): Promise<Conversation | undefined> {
    const row = await this.db.get('SELECT * FROM conversations WHERE id = ? AND owner = ?', [id, owner]);
    return row && toConversation(row);
  }

  async getConversationOwner(id: string): Promise<string | undefined> {
    return (await this.db.get<{ owner: string }>('SELECT owner FROM conversations WHERE id = ?', [id]))?.owner;
  }

  async listConversations(owner: string, o: ListOptions): Promise<Page<Conversation>> {
    const dir = o.order === 'asc' ? 'ASC' : 'DESC';
    const id = codePointOrder(this.db.dialect, 'id'); // ids a client chose break ties of time
    const cmp = o.order === 'asc' ? '>' : '<';
    const params: (string | number)[] = [owner];
    let cursor = '';
    if (o.after) {
      const at = await this.db.get<{ created_at: string }>(
        'SELECT created_at FROM conversations WHERE id = ? AND owner = ?',
        [o.after, owner],
      );
      if (!at) return { data: [], hasMore: false };
      cursor = ` AND (created_at ${cmp} ? OR (created_at = ? AND ${id} ${cmp} ?))`;
      params.push(at.created_at, at.created_at, o.after);
    }
    const rows = await this.db.all(
      `SELECT * FROM conversations WHERE owner = ?${cursor} ORDER BY created_at ${dir}, ${id} ${dir} LIMIT ${o.limit + 1}`,
      params,
    );
    return { data: rows.slice(0, o.limit).map(toConversation), hasMore: rows.length > o.limit };
  }

  async deleteConversation(id: string, owner: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Explicit deletes: correct even where foreign keys are not enforced.
      if (!(await tx.get('SELECT id FROM conversations WHERE id = ? AND owner = ?', [id, owner]))) return false;
      // A response's id is its run's (no index of its own): found through the runs, before they go.
      // Responses stored before version 8, with ids of their own, have a (partial) index.
      await tx.run(
        `DELETE FROM responses WHERE id IN (SELECT ${RESPONSE_ID_OF_RUN} FROM runs WHERE conversation_id = ?)`,
        [id],
      );
      await tx.run(`DELETE FROM responses WHERE conversation_id = ? AND ${V6_RESPONSE}`, [id]);
      await tx.run('DELETE FROM messages WHERE conversation_id = ?', [id]);
      await tx.run('DELETE FROM runs WHERE conversation_id = ?', [id]);
      await tx.run('DELETE FROM run_checkpoints WHERE conversation_id = ?', [id]);
      await tx.run('DELETE FROM conversations WHERE id = ?', [id]);
      return true;
    });
  }

  async getMessages(id: string): Promise<StoredMessage[]> {
    return (await this.db.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq', [id])).map(toMessage);
  }

  async tailMessages(id: string, count: number): Promise<StoredMessage[]> {
    if (count <= 0) return [];
    // The count is a parameter: in the text, each history length made a statement of its own.
    const rows = await this.db.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?', [
      id,
      Math.floor(count),
    ]);
    return rows.map(toMessage).reverse();
  }

  async turnEndOf(id: string, runId: string): Promise<number | undefined> {
    const row = await this.db.get<{ seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM messages WHERE conversation_id = ? AND run_id = ?',
      [id, runId],
    );
    return row?.seq == null ? undefined : Number(row.seq);
  }

  async recentMessages(id: string, tokenBudget: number, throughSeq?: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let tokens = 0;
    let before = throughSeq !== undefined ? throughSeq + 1 : 2 ** 31 - 1; // past any seq; fits PostgreSQL INTEGER
    // The first page is sized to the budget (as if messages were ~25 tokens), later ones are larger.
    let page = Math.max(8, Math.min(PAGE, Math.ceil(tokenBudget / 25) + 1));
    while (tokens < tokenBudget) {
      const rows = await this.db.all(
        `SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ${page}`,
        [id, before],
      );
      for (const row of rows) {
        const m = toMessage(row);
        out.push(m);
        tokens += m.tokenCount;
        if (tokens >= tokenBudget) break;
      }
      if (rows.length < page) break;
      before = out[out.length - 1].seq;
      page = PAGE;
    }
    return out.reverse();
  }

  async appendTurn(turn: NewTurn): Promise<void> {
    await this.db.transaction(async (tx) => {
      const now = new Date().toISOString();
      const created = await claimConversation(tx, turn, now);
      const end = await appendMessages(tx, turn.conversationId, turn.owner, turn.messages, now, created);
      await touchConversation(tx, turn.conversationId, turn.owner, now, end, turn.systemPrompt, true);
      await insertRun(tx, turn.run);
      if (RETRYABLE.has(turn.run.status)) await markRetryable(tx, turn.conversationId, turn.run.id);
    });
  }

  async matchHistory(owner: string, history: ChatMessage[]): Promise<HistoryMatch> {
    if (!history.length) return { depth: 0, conversations: [] };
    const hashes = historyHashes(owner, history);
    // Two indexed look-ups (the chain hash, then the conversations by primary key): as one join,
    // PostgreSQL may hash all of the owner's conversations first.
    // The newest holders come from the index (chain_hash, created_at) without reading the others; the
    // conversations are then read by primary key, the owner checked here: with `owner = ?` in the
    // WHERE, SQLite prefers the owner's index and scans every conversation of the owner.
    const at = async (depth: number) => {
      const holders = await this.db.all<{ conversation_id: string }>(
        `SELECT conversation_id FROM messages WHERE chain_hash = ? ORDER BY created_at DESC LIMIT ${HOLDERS}`,
        [hashes[depth - 1]],
      );
      if (!holders.length) return [];
      const ids = [...new Set(holders.map((h) => String(h.conversation_id)))];
      const rows = await this.db.all<{ id: string; owner: string; message_count: number; updated_at: string }>(
        `SELECT id, owner, message_count, updated_at FROM conversations WHERE id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      return rows
        .filter((r) => r.owner === owner)
        .sort(
          (a, b) => compareDesc(String(a.updated_at), String(b.updated_at)) || compareDesc(String(a.id), String(b.id)),
        )
        .slice(0, 16);
    };
    // A linear chat hits at once; an edited history costs a binary search (stored prefixes are
    // prefix-closed: a conversation holding depth d holds every depth below it). Its first probe, the
    // first message, is asked with the whole history: a history whose start is not stored at all (a
    // client's window of it slid) is known at once, without a search.
    const [whole, first] = await Promise.all([at(history.length), history.length > 1 ? at(1) : undefined]);
    let rows = whole;
    let depth = history.length;
    if (!rows.length) {
      let lo = 0; // known stored (0: trivially)
      let hi = history.length; // known not stored
      let best: typeof rows = [];
      if (first?.length) [lo, best] = [1, first];
      else if (first) hi = 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        const found = await at(mid);
        if (found.length) [lo, best] = [mid, found];
        else hi = mid;
      }
      [depth, rows] = [lo, best];
    }
    return {
      depth,
      conversations: rows.map(toHead),
    };
  }

  async conversationsEndingWith(owner: string, history: ChatMessage[]): Promise<ConversationHead[]> {
    if (!history.length) return [];
    const rows = await this.db.all<{ id: string; owner: string; message_count: number; updated_at: string }>(
      'SELECT id, owner, message_count, updated_at FROM conversations WHERE head_hash = ? ORDER BY updated_at DESC LIMIT 4',
      [historyHashes(owner, history).at(-1)!],
    );
    // The hash is seeded with the owner; checked anyway, as every read of a conversation is.
    return rows.filter((r) => r.owner === owner).map(toHead);
  }

  async conversationEndingWithWindow(owner: string, history: ChatMessage[]): Promise<ConversationHead | undefined> {
    if (history.length < 2 || history.at(-1)!.role !== 'assistant') return undefined;
    const rows = await this.db.all<{ id: string; owner: string; message_count: number; updated_at: string }>(
      `SELECT id, owner, message_count, updated_at FROM conversations WHERE tail_hash = ? ORDER BY updated_at DESC LIMIT ${WINDOW_HOLDERS}`,
      [tailHash(chainRoot(owner), history.at(-2)!, history.at(-1)!)],
    );
    for (const r of rows) {
      // The hash is seeded with the owner; checked anyway, as every read of a conversation is.
      if (r.owner !== owner || Number(r.message_count) < history.length) continue;
      // The last two messages matched by their hash; the whole window must be the transcript's end.
      const tail = await this.db.all(
        `SELECT ${CHAIN_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?`,
        [r.id, history.length],
      );
      if (tail.length === history.length && tail.every((m, i) => sameInChain(toChainMessage(m), history.at(-1 - i)!)))
        return toHead(r);
    }
    return undefined;
  }

  async retryableTurn(owner: string, history: ChatMessage[]): Promise<RetryableTurn | undefined> {
    if (!history.length) return undefined;
    const rows = await this.db.all<{
      id: string;
      owner: string;
      message_count: number;
      updated_at: string;
      retry_run_id: string;
      retry_depth: number;
    }>(
      'SELECT id, owner, message_count, updated_at, retry_run_id, retry_depth FROM conversations WHERE retry_hash = ?',
      [historyHashes(owner, history).at(-1)!],
    );
    const hit = rows
      .filter((r) => r.owner === owner)
      .sort((a, b) => compareDesc(String(a.updated_at), String(b.updated_at)))[0];
    if (!hit) return undefined;
    // The index is written with the run's status; the run is read once more on the rare hit.
    const run = await this.db.get<{ status: string }>('SELECT status FROM runs WHERE id = ? AND owner = ?', [
      hit.retry_run_id,
      owner,
    ]);
    // A run still going is in the index only once its client left (abandonRun).
    if (!run || !(RETRYABLE.has(String(run.status)) || run.status === 'running')) return undefined;
    return {
      conversationId: String(hit.id),
      runId: String(hit.retry_run_id),
      depth: Number(hit.retry_depth),
      messageCount: Number(hit.message_count),
      updatedAt: String(hit.updated_at),
    };
  }

  async abandonRun(conversationId: string, runId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await relaxDurability(tx);
      const run = await tx.get<{ status: string }>('SELECT status FROM runs WHERE id = ? AND conversation_id = ?', [
        runId,
        conversationId,
      ]);
      if (run?.status === 'running') await markRetryable(tx, conversationId, runId);
    });
  }

  async beginTurn(start: TurnStart): Promise<void> {
    await this.db.transaction(async (tx) => {
      const now = new Date().toISOString();
      const created = await claimConversation(tx, start, now);
      if (start.lease) await takeTurnLease(tx, start.conversationId, start.lease);
      if (start.branchFrom) await copyPrefix(tx, start.conversationId, start.owner, start.branchFrom);
      const runId = start.runs[0]?.id;
      if (start.supersedes && runId) await supersede(tx, start.conversationId, start.supersedes, runId);
      const end = await appendMessages(
        tx,
        start.conversationId,
        start.owner,
        start.messages.map((m) => ({ ...m, runId: m.runId ?? runId })),
        now,
        created && !start.branchFrom, // created now: no message, unless a branch copied some
      );
      // A retry stores no message, but the turn it retries is this conversation's from now on.
      const stored = end?.hash ?? (start.supersedes ? await lastChainHash(tx, start.conversationId) : undefined);
      if (stored) await supersedeRetries(tx, stored);
      await touchConversation(tx, start.conversationId, start.owner, now, end, start.systemPrompt, true);
      for (const r of start.runs) {
        await insertRun(tx, {
          id: r.id,
          conversationId: start.conversationId,
          owner: start.owner,
          model: r.model,
          status: 'running',
          error: null,
          agentsUsed: [],
          events: [],
          usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
          promptTokens: 0,
          completionTokens: 0,
          startedAt: r.startedAt,
          finishedAt: null,
        });
      }
    });
  }

  async finishTurn(finish: TurnFinish): Promise<void> {
    await this.db.transaction(async (tx) => {
      const now = new Date().toISOString();
      // Locked on PostgreSQL: another process taking the conversation's lease marks this run
      // interrupted in its own transaction, which this one then waits for and reads.
      const begun = await tx.get<{ owner: string; conversation_id: string; status: string }>(
        `SELECT owner, conversation_id, status FROM runs WHERE id = ?${tx.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
        [finish.run.id],
      );
      if (begun && begun.owner !== finish.owner) throw new ForeignConversationError(finish.conversationId);
      // Only another turn, having taken the lease this run's turn let run out, marks a live run
      // interrupted: the conversation went on without it, and its answer would land after that turn.
      if (begun?.status === 'interrupted')
        throw new TurnTakenOverError(`run ${finish.run.id} lost its conversation's lease to another turn`);
      // A run begun in this conversation by the same owner vouches for it: it exists and is the
      // owner's (a conversation's runs go with it). PostgreSQL still locks its row.
      const vouched = begun?.conversation_id === finish.conversationId;
      if (vouched && tx.dialect === 'postgres') await lockConversation(tx, finish.conversationId, finish.owner);
      const created = !vouched && (await claimConversation(tx, finish, now));
      const messages = begun ? [] : finish.messages;
      const answer = finish.answer ? [{ ...finish.answer, runId: finish.run.id }] : [];
      const end = await appendMessages(tx, finish.conversationId, finish.owner, [...messages, ...answer], now, created);
      // An answer now ends the transcript: the turn is answered, no longer one to retry (with n > 1,
      // choice 0 may have failed and marked it before the choice the transcript keeps completed).
      await touchConversation(
        tx,
        finish.conversationId,
        finish.owner,
        now,
        end ?? (begun ? 'unchanged' : undefined), // a begun run's turn stored its messages already
        begun ? undefined : finish.systemPrompt,
        !begun || answer.length > 0,
      );
      if (finish.response) await insertResponse(tx, finish.response);
      // The turn's last write also ends its lease: no transaction of its own for the release.
      if (finish.releaseLease)
        await tx.run('DELETE FROM conversation_leases WHERE conversation_id = ? AND holder = ?', [
          finish.conversationId,
          finish.releaseLease,
        ]);
      await (begun ? finishRun(tx, finish.run, now) : insertRun(tx, finish.run));
      // (The turn cleared the index when it began; a run that did not complete marks it again.)
      if (RETRYABLE.has(finish.run.status)) await markRetryable(tx, finish.conversationId, finish.run.id);
    });
  }

  async getRun(id: string, owner: string): Promise<RunRecord | undefined> {
    const row = await this.db.get('SELECT * FROM runs WHERE id = ? AND owner = ?', [id, owner]);
    return row && toRun(row);
  }

  async runStats(owner: string, since: string): Promise<RunStats> {
    const rows = await this.db.all<RunStatsRow>(
      // A run's trace is read only when it predates its per-agent tokens (migration 14).
      'SELECT status, started_at, finished_at, agent_usage, CASE WHEN agent_usage IS NULL THEN events END AS events FROM runs WHERE owner = ? AND started_at >= ?',
      [owner, since],
    );
    return runStats(since, rows);
  }

  async listRuns(
    conversationId: string,
    owner: string,
    o: { limit: number; after?: string; order?: 'asc' | 'desc' },
  ): Promise<Page<RunRecord>> {
    const dir = o.order === 'asc' ? 'ASC' : 'DESC';
    const cmp = o.order === 'asc' ? '>' : '<';
    const id = codePointOrder(this.db.dialect, 'id');
    const params: Param[] = [conversationId, owner];
    let cursor = '';
    if (o.after) {
      const at = await this.db.get<{ started_at: string }>(
        'SELECT started_at FROM runs WHERE id = ? AND conversation_id = ? AND owner = ?',
        [o.after, conversationId, owner],
      );
      if (!at) return { data: [], hasMore: false };
      cursor = ` AND (started_at ${cmp} ? OR (started_at = ? AND ${id} ${cmp} ?))`;
      params.push(at.started_at, at.started_at, o.after);
    }
    const rows = await this.db.all(
      `SELECT * FROM runs WHERE conversation_id = ? AND owner = ?${cursor} ORDER BY started_at ${dir}, ${id} ${dir} LIMIT ${Math.floor(o.limit) + 1}`,
      params,
    );
    return { data: rows.slice(0, o.limit).map(toRun), hasMore: rows.length > o.limit };
  }

  // Leases: who serves a turn of a conversation now, across processes and replicas.
  async acquireLease(conversationId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await relaxDurability(tx);
      if (!(await takeLease(tx, conversationId, holder, ttlMs))) return false;
      // A live run always holds its conversation's lease: one still `running` now was left by a
      // process that died.
      const interrupted = await tx.all<{ id: string }>(
        "UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE conversation_id = ? AND status = 'running' RETURNING id",
        [INTERRUPTED, new Date().toISOString(), conversationId],
      );
      for (const r of interrupted) await markRetryable(tx, conversationId, String(r.id));
      return true;
    });
  }

  async renewLease(conversationId: string, holder: string, ttlMs: number): Promise<boolean> {
    return renewLease(this.db, conversationId, holder, ttlMs);
  }

  async releaseLease(conversationId: string, holder: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await relaxDurability(tx);
      await tx.run('DELETE FROM conversation_leases WHERE conversation_id = ? AND holder = ?', [
        conversationId,
        holder,
      ]);
    });
  }

  async liveLeases(): Promise<{ conversationId: string; holder: string }[]> {
    return liveLeases(this.db);
  }

  async saveRunProgress(p: RunProgress): Promise<void> {
    await this.db.run(
      "UPDATE runs SET events = ?, agents_used = ?, usage = ?, agent_usage = ? WHERE id = ? AND owner = ? AND status = 'running'",
      [
        JSON.stringify(compactTrace(p.events)),
        JSON.stringify(p.agentsUsed),
        JSON.stringify(p.usage),
        JSON.stringify(agentUsage(p.events)),
        p.runId,
        p.owner,
      ],
    );
  }

  async interruptOrphanedRuns(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const marked = await tx.all<{ id: string; conversation_id: string }>(
        `UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE status = 'running' AND ${noLiveLease(tx.dialect, 'runs.conversation_id')} RETURNING id, conversation_id`,
        [INTERRUPTED, new Date().toISOString()],
      );
      for (const r of marked) await markRetryable(tx, String(r.conversation_id), String(r.id));
      await deleteExpiredLeases(tx);
      return marked.length;
    });
  }

  // Checkpoints of runs paused for client tools.
  async saveCheckpoint(owner: string, conversationId: string, checkpoint: RunCheckpoint): Promise<void> {
    const json = JSON.stringify(checkpoint);
    const now = new Date().toISOString();
    await this.db.transaction(async (tx) => {
      for (const id of checkpoint.pendingToolCallIds)
        await tx.run(
          'INSERT INTO run_checkpoints (owner, tool_call_id, conversation_id, run_id, checkpoint, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner, tool_call_id) DO UPDATE SET conversation_id = excluded.conversation_id, run_id = excluded.run_id, checkpoint = excluded.checkpoint, created_at = excluded.created_at',
          [owner, storedText(id), conversationId, checkpoint.runId, json, now],
        );
    });
  }

  async findCheckpoint(owner: string, toolCallIds: string[]): Promise<StoredCheckpoint | undefined> {
    if (!toolCallIds.length) return undefined;
    const row = await this.db.get<{ conversation_id: string; checkpoint: string; created_at: string }>(
      `SELECT conversation_id, checkpoint, created_at FROM run_checkpoints WHERE owner = ? AND tool_call_id IN (${toolCallIds.map(() => '?').join(', ')}) ORDER BY created_at DESC LIMIT 1`,
      [owner, ...toolCallIds.map((id) => storedText(id))],
    );
    return (
      row && {
        conversationId: String(row.conversation_id),
        checkpoint: JSON.parse(String(row.checkpoint)),
        createdAt: String(row.created_at),
      }
    );
  }

  async deleteCheckpoint(owner: string, runId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM run_checkpoints WHERE owner = ? AND run_id = ?', [owner, runId])) > 0;
  }

  // Responses of the Responses API.
  async getResponse(id: string, owner: string): Promise<StoredResponse | undefined> {
    const row = await this.db.get<Record<string, string>>('SELECT * FROM responses WHERE id = ? AND owner = ?', [
      id,
      owner,
    ]);
    return (
      row && {
        id: String(row.id),
        owner: String(row.owner),
        conversationId: String(row.conversation_id),
        runId: String(row.run_id),
        status: String(row.status),
        body: String(row.body),
        inputItems: String(row.input_items),
        createdAt: String(row.created_at),
      }
    );
  }

  async deleteResponse(id: string, owner: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM responses WHERE id = ? AND owner = ?', [id, owner])) > 0;
  }

  // API keys.
  async createApiKey(key: { id: string; name: string; hash: string }): Promise<StoredApiKey> {
    const createdAt = new Date().toISOString();
    await this.db.run('INSERT INTO api_keys (id, name, hash, created_at) VALUES (?, ?, ?, ?)', [
      key.id,
      key.name,
      key.hash,
      createdAt,
    ]);
    return { id: key.id, name: key.name, createdAt, revokedAt: null };
  }

  async listApiKeys(): Promise<StoredApiKey[]> {
    const rows = await this.db.all<{ id: string; name: string; created_at: string; revoked_at: string | null }>(
      `SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, ${codePointOrder(this.db.dialect, 'id')}`,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at ?? null }));
  }

  async revokeApiKey(idOrName: string): Promise<boolean> {
    // One statement, so that a key created meanwhile cannot slip in between a check and the update.
    // An id names that key alone (also when another key is named like it, and when it is already
    // revoked); a name revokes only the one active key that has it, never several.
    const sql = `UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR (
      name = ? AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = ?)
      AND (SELECT COUNT(*) FROM api_keys k WHERE k.name = ? AND k.revoked_at IS NULL) = 1))`;
    const at = new Date().toISOString();
    return (await this.db.run(sql, [at, idOrName, idOrName, idOrName, idOrName])) > 0;
  }

  async findApiKey(hash: string): Promise<string | undefined> {
    return (await this.db.get<{ id: string }>('SELECT id FROM api_keys WHERE hash = ? AND revoked_at IS NULL', [hash]))
      ?.id;
  }

  async countActiveApiKeys(): Promise<number> {
    return Number(
      (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL'))?.n ?? 0,
    );
  }

  // Rate-limit windows, shared by every replica using this database.
  async addToWindow(bucket: string, windowStart: number, add: WindowCounts): Promise<WindowCounts> {
    const minute = Math.floor(windowStart / 60_000);
    const row = await this.db.get<{ requests: number; tokens: number }>(
      'INSERT INTO rate_limit_windows (bucket, window_start, requests, tokens) VALUES (?, ?, ?, ?) ON CONFLICT (bucket, window_start) DO UPDATE SET requests = rate_limit_windows.requests + excluded.requests, tokens = rate_limit_windows.tokens + excluded.tokens RETURNING requests, tokens',
      [bucket, minute, add.requests, add.tokens],
    );
    if (++this.windowWrites % 500 === 0)
      await this.db.run('DELETE FROM rate_limit_windows WHERE window_start < ?', [minute - 1]);
    return { requests: Number(row!.requests), tokens: Number(row!.tokens) };
  }

  async serverSecret(name: string): Promise<string> {
    // Made by whichever process asks first; the others (and later starts) read that one.
    await this.db.run(
      'INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      [name, randomBytes(32).toString('base64'), new Date().toISOString()],
    );
    const row = await this.db.get<{ value: string }>('SELECT value FROM server_secrets WHERE name = ?', [name]);
    return String(row!.value);
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
