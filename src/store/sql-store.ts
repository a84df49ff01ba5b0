// The Store over SQL that SQLite and PostgreSQL both understand; the Database decides how
// statements run and how transactions lock.
import type { StoredApiKey } from '../auth/api-keys.ts';
import type { WindowCounts } from '../auth/rate-limit.ts';
import type { Database, Row } from './sql.ts';
import {
  ForeignConversationError,
  type Conversation,
  type ListOptions,
  type NewTurn,
  type Page,
  type RunRecord,
  type Store,
  type StoredMessage,
} from './types.ts';

const PAGE = 64;

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
    const cmp = o.order === 'asc' ? '>' : '<';
    const params: (string | number)[] = [owner];
    let cursor = '';
    if (o.after) {
      const at = await this.db.get<{ created_at: string }>(
        'SELECT created_at FROM conversations WHERE id = ? AND owner = ?',
        [o.after, owner],
      );
      if (!at) return { data: [], hasMore: false };
      cursor = ` AND (created_at ${cmp} ? OR (created_at = ? AND id ${cmp} ?))`;
      params.push(at.created_at, at.created_at, o.after);
    }
    const rows = await this.db.all(
      `SELECT * FROM conversations WHERE owner = ?${cursor} ORDER BY created_at ${dir}, id ${dir} LIMIT ${o.limit + 1}`,
      params,
    );
    return { data: rows.slice(0, o.limit).map(toConversation), hasMore: rows.length > o.limit };
  }

  async deleteConversation(id: string, owner: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Explicit deletes: correct even where foreign keys are not enforced.
      if (!(await tx.get('SELECT id FROM conversations WHERE id = ? AND owner = ?', [id, owner]))) return false;
      await tx.run('DELETE FROM messages WHERE conversation_id = ?', [id]);
      await tx.run('DELETE FROM runs WHERE conversation_id = ?', [id]);
      await tx.run('DELETE FROM conversations WHERE id = ?', [id]);
      return true;
    });
  }

  async getMessages(id: string): Promise<StoredMessage[]> {
    return (await this.db.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq', [id])).map(toMessage);
  }

  async tailMessages(id: string, count: number): Promise<StoredMessage[]> {
    if (count <= 0) return [];
    const rows = await this.db.all(
      `SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ${Math.floor(count)}`,
      [id],
    );
    return rows.map(toMessage).reverse();
  }

  async recentMessages(id: string, tokenBudget: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let tokens = 0;
    let before = 2 ** 31 - 1; // past any seq; fits PostgreSQL INTEGER
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
    const now = new Date().toISOString();
    await this.db.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO conversations (id, owner, title, system_prompt, message_count, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING',
        [turn.conversationId, turn.owner, turn.title, turn.systemPrompt ?? null, now, now],
      );
      // The row lock serialises turns of one conversation across replicas (SQLite's write lock
      // already does, from BEGIN IMMEDIATE).
      const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const conv = await tx.get<{ owner: string }>(`SELECT owner FROM conversations WHERE id = ?${lock}`, [
        turn.conversationId,
      ]);
      if (!conv || conv.owner !== turn.owner) throw new ForeignConversationError(turn.conversationId);
      const last = await tx.get<{ seq: number | null }>(
        'SELECT MAX(seq) AS seq FROM messages WHERE conversation_id = ?',
        [turn.conversationId],
      );
      let seq = Number(last?.seq ?? 0);
      for (const m of turn.messages) {
        await tx.run(
          'INSERT INTO messages (conversation_id, seq, role, content, name, tool_calls, tool_call_id, images, token_count, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            turn.conversationId,
            ++seq,
            m.role,
            m.content,
            m.name ?? null,
            m.toolCalls?.length ? JSON.stringify(m.toolCalls) : null,
            m.toolCallId ?? null,
            m.images?.length ? JSON.stringify(m.images) : null,
            m.tokenCount,
            m.runId ?? null,
            now,
          ],
        );
      }
      await tx.run(
        'UPDATE conversations SET message_count = ?, updated_at = ?, system_prompt = COALESCE(?, system_prompt) WHERE id = ?',
        [seq, now, turn.systemPrompt ?? null, turn.conversationId],
      );
      const r = turn.run;
      await tx.run(
        'INSERT INTO runs (id, conversation_id, owner, model, status, error, agents_used, events, usage, prompt_tokens, completion_tokens, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          r.id,
          r.conversationId,
          r.owner,
          r.model,
          r.status,
          r.error,
          JSON.stringify(r.agentsUsed),
          JSON.stringify(r.events),
          JSON.stringify(r.usage),
          r.promptTokens,
          r.completionTokens,
          r.startedAt,
          r.finishedAt,
        ],
      );
    });
  }

  async getRun(id: string, owner: string): Promise<RunRecord | undefined> {
    const row = await this.db.get('SELECT * FROM runs WHERE id = ? AND owner = ?', [id, owner]);
    if (!row) return undefined;
    return {
      id: String(row.id),
      conversationId: String(row.conversation_id),
      owner: String(row.owner),
      model: String(row.model),
      status: row.status as RunRecord['status'],
      error: (row.error as string | null) ?? null,
      agentsUsed: JSON.parse(String(row.agents_used)),
      events: JSON.parse(String(row.events)),
      usage: JSON.parse(String(row.usage)),
      promptTokens: Number(row.prompt_tokens),
      completionTokens: Number(row.completion_tokens),
      startedAt: String(row.started_at),
      finishedAt: String(row.finished_at),
    };
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
      'SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id',
    );
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at ?? null }));
  }

  async revokeApiKey(idOrName: string): Promise<boolean> {
    return (
      (await this.db.run('UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL', [
        new Date().toISOString(),
        idOrName,
        idOrName,
      ])) > 0
    );
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

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

function toConversation(row: Row): Conversation {
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

function toMessage(row: Row): StoredMessage {
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
