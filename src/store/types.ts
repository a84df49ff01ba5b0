// What Cortex Flow keeps: conversations with their messages, the runs that answered them, API keys
// and rate-limit windows. One interface, two implementations (embedded SQLite, PostgreSQL).
import type { ApiKeyStore } from '../auth/api-keys.ts';
import type { RateLimitStore } from '../auth/rate-limit.ts';
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage } from '../orchestrator/types.ts';
import type { UsageTotals } from '../orchestrator/run-summary.ts';
import type { TurnStatus } from '../conversation/types.ts';

export interface StoredMessage extends ChatMessage {
  seq: number;
  tokenCount: number;
  runId: string | null;
  createdAt: string;
}

export interface Conversation {
  id: string;
  owner: string;
  title: string;
  systemPrompt: string | null;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface RunRecord {
  id: string;
  conversationId: string;
  owner: string;
  model: string;
  status: TurnStatus;
  error: string | null;
  agentsUsed: string[];
  events: RunEvent[];
  usage: UsageTotals;
  promptTokens: number;
  completionTokens: number;
  startedAt: string;
  finishedAt: string;
}

export interface NewTurn {
  conversationId: string;
  owner: string;
  /** Title of a conversation this turn creates. */
  title: string;
  /** Replaces the stored system prompt when set. */
  systemPrompt?: string;
  messages: (ChatMessage & { tokenCount: number; runId?: string })[];
  run: RunRecord;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

export interface ListOptions {
  limit: number;
  after?: string;
  order: 'asc' | 'desc';
}

/** The owner is '' when auth is off: everything is then in one shared namespace. */
export interface Store extends ApiKeyStore, RateLimitStore {
  readonly dialect: 'sqlite' | 'postgres';
  getConversation(id: string, owner: string): Promise<Conversation | undefined>;
  /** Who owns a conversation, whoever asks (to tell "yours to create" from "someone else's"). */
  getConversationOwner(id: string): Promise<string | undefined>;
  listConversations(owner: string, options: ListOptions): Promise<Page<Conversation>>;
  deleteConversation(id: string, owner: string): Promise<boolean>;
  /** Every message, oldest first. */
  getMessages(id: string): Promise<StoredMessage[]>;
  /** The last `count` messages, oldest first. */
  tailMessages(id: string, count: number): Promise<StoredMessage[]>;
  /**
   * The newest messages whose token counts add up to at least `tokenBudget` (or all of them),
   * oldest first: read page by page from the end, so the cost follows the window, not the history.
   */
  recentMessages(id: string, tokenBudget: number): Promise<StoredMessage[]>;
  /** Appends one turn (its messages and its run) atomically, after any turn already stored. */
  appendTurn(turn: NewTurn): Promise<void>;
  getRun(id: string, owner: string): Promise<RunRecord | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The conversation exists but belongs to another API key. */
export class ForeignConversationError extends Error {}
