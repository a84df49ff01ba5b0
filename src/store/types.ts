// What Cortex Flow keeps: conversations with their messages, the runs that answered them, API keys
// and rate-limit windows. One interface, two implementations (embedded SQLite, PostgreSQL).
import type { ApiKeyStore } from '../auth/api-keys.ts';
import type { RateLimitStore } from '../auth/rate-limit.ts';
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import type { UsageTotals } from '../orchestrator/run-summary.ts';
import type { RunStatus } from '../conversation/types.ts';
import type { RunStats } from './run-stats.ts';

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

/** What a running run has done so far: the trace (compact), the agents that worked, the usage. */
export interface RunProgress {
  runId: string;
  owner: string;
  events: RunEvent[];
  agentsUsed: string[];
  usage: UsageTotals;
}

export interface RunRecord {
  id: string;
  conversationId: string;
  owner: string;
  model: string;
  status: RunStatus;
  error: string | null;
  agentsUsed: string[];
  events: RunEvent[];
  usage: UsageTotals;
  promptTokens: number;
  completionTokens: number;
  startedAt: string;
  /** null while `running`. */
  finishedAt: string | null;
}

/** A message to store, with its token count (so that a context is assembled without re-counting). */
export type NewMessage = ChatMessage & { tokenCount: number; runId?: string };

export interface NewTurn {
  conversationId: string;
  owner: string;
  /** Title of a conversation this turn creates. */
  title: string;
  /** Replaces the stored system prompt when set. */
  systemPrompt?: string;
  messages: NewMessage[];
  run: RunRecord;
}

/** Where a turn's messages go when it starts. */
export interface TurnStart {
  conversationId: string;
  owner: string;
  /** Title of a conversation this turn creates. */
  title: string;
  /** Replaces the stored system prompt when set. */
  systemPrompt?: string;
  /** A new conversation that first copies the first `depth` messages of another one of this owner (a branch). */
  branchFrom?: { conversationId: string; depth: number };
  /**
   * A retry of the conversation's last turn, which failed or was cancelled: that run's assistant
   * messages (its partial answer) leave the transcript and its user messages are taken over by the
   * new run (not written again). The superseded run itself stays, with its trace.
   */
  supersedes?: string;
  /** The user's new messages (tagged with the first run's id). */
  messages: NewMessage[];
  /** Written with status `running`. */
  runs: { id: string; model: string; startedAt: string }[];
  /**
   * The conversation's lease, taken in this same write: for a conversation nobody else can know yet
   * (a freshly minted id), so that a running run never exists without its lease. Fails the write if
   * another holder's lease is live.
   */
  lease?: { holder: string; ttlMs: number };
}

/** The end of one run begun by beginTurn (or, if it was not, written whole). */
export interface TurnFinish {
  conversationId: string;
  owner: string;
  /** Used when the run was not begun: the conversation is created as for appendTurn. */
  title: string;
  systemPrompt?: string;
  /** The request's new messages, written only when the run was not begun. */
  messages: NewMessage[];
  /** Appended to the transcript (with `runId` = the run), or null. */
  answer: NewMessage | null;
  run: RunRecord;
  /** A Responses API response ending with this run: kept in the same transaction. */
  response?: StoredResponse;
  /** The holder of the conversation's lease, released in this same write (the turn's last). */
  releaseLease?: string;
}

/** Where a request's history meets the owner's stored conversations. */
export interface HistoryMatch {
  /** How many leading messages of the history are stored (0: none). */
  depth: number;
  /** The owner's conversations whose messages 1..depth are exactly those, most recently updated first. */
  conversations: { id: string; messageCount: number; updatedAt: string }[];
}

/** A stored conversation, as placement sees it. */
export interface ConversationHead {
  id: string;
  messageCount: number;
  updatedAt: string;
}

/** A conversation whose last turn failed, was cancelled or was interrupted, and can be retried. */
export interface RetryableTurn {
  conversationId: string;
  /** The run that turn belongs to (it is superseded by the retry). */
  runId: string;
  /** How many messages come before the turn. */
  depth: number;
  messageCount: number;
  updatedAt: string;
}

export interface StoredCheckpoint {
  conversationId: string;
  checkpoint: RunCheckpoint;
  createdAt: string;
}

/**
 * A response of the Responses API, kept so that it can be retrieved and continued (previous_response_id).
 * Its id is its run's (`run_<uuid>` -> `resp_<uuid without dashes>`, see responseIdOfRun): the
 * responses of a conversation are found through its runs, with no index of their own.
 */
export interface StoredResponse {
  id: string;
  owner: string;
  /** The stored conversation the response's turn belongs to. */
  conversationId: string;
  runId: string;
  status: string;
  /** The response object as rendered: the JSON text sent to the client, stored and served as is. */
  body: string;
  /** The request's input items, with ids, as input_items lists them (JSON text). */
  inputItems: string;
  createdAt: string;
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
  /** Where the turn of run `runId` ends in conversation `id`: the seq of its last message, if it stored any. */
  turnEndOf(id: string, runId: string): Promise<number | undefined>;
  /**
   * The newest messages whose token counts add up to at least `tokenBudget` (or all of them),
   * oldest first: read page by page from the end, so the cost follows the window, not the history.
   * With `throughSeq`, the end is that message (the context of a branch taken there).
   */
  recentMessages(id: string, tokenBudget: number, throughSeq?: number): Promise<StoredMessage[]>;
  /** Appends one turn (its messages and its run) atomically, after any turn already stored. */
  appendTurn(turn: NewTurn): Promise<void>;
  /**
   * How deep `history` (non-system messages, oldest first) is already stored for `owner`: messages are
   * stored with a hash chained over the owner and every message before them, so this is a few indexed
   * look-ups whatever the length of the conversation.
   */
  matchHistory(owner: string, history: ChatMessage[]): Promise<HistoryMatch>;
  /**
   * The owner's conversations whose transcript is exactly `history` (non-system messages, oldest
   * first), most recently updated first: one indexed look-up (the chain hash of the last message).
   */
  conversationsEndingWith(owner: string, history: ChatMessage[]): Promise<ConversationHead[]>;
  /**
   * The owner's most recently updated conversation whose transcript ends with `history` (at least two
   * messages, the last an answer), also when it starts earlier: a client that drops its oldest
   * messages to fit its own context window. Found by the hash of the last two messages
   * (`tail_hash`), then checked message by message against the stored tail.
   */
  conversationEndingWithWindow(owner: string, history: ChatMessage[]): Promise<ConversationHead | undefined>;
  /**
   * The owner's conversation whose retryable last turn ends with `history`'s last message, its
   * transcript before the turn's partial answer being exactly `history`: one indexed look-up,
   * normally empty. The turn may still be `running`, its client gone (abandonRun): a plan to retry
   * it is made again under its conversation's lock, once it is recorded.
   */
  retryableTurn(owner: string, history: ChatMessage[]): Promise<RetryableTurn | undefined>;
  /**
   * The client of `runId`'s turn left while the run winds down: the turn enters the retry index
   * now, still `running`, so that its messages resent to another replica (an SDK's retry after its
   * timeout) find it and wait there for its record, retrying it in its conversation instead of
   * storing the question again in a new one beside it. Nothing when the run is over already.
   */
  abandonRun(conversationId: string, runId: string): Promise<void>;
  /** Writes a turn's new messages and its run(s) with status `running`, atomically. */
  beginTurn(start: TurnStart): Promise<void>;
  /** Ends a run: status, trace, usage; appends its answer. Atomic; throws if nothing could be stored. */
  finishTurn(finish: TurnFinish): Promise<void>;
  getRun(id: string, owner: string): Promise<RunRecord | undefined>;
  /** Figures over the owner's runs started at or after `since` (ISO 8601): the console's overview. */
  runStats(owner: string, since: string): Promise<RunStats>;
  /** A conversation's runs, newest first unless `order` is 'asc'; `after` is a run id (the previous page's last). */
  listRuns(
    conversationId: string,
    owner: string,
    options: { limit: number; after?: string; order?: 'asc' | 'desc' },
  ): Promise<Page<RunRecord>>;
  /**
   * Takes the conversation's lease for `ttlMs` if nobody else holds a live one. Taking it marks runs of
   * the conversation still `running` as `interrupted` (a live run always holds the lease).
   */
  acquireLease(conversationId: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease still held by `holder`; false if it was lost. */
  renewLease(conversationId: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(conversationId: string, holder: string): Promise<void>;
  /** Leases not yet expired (few: one per turn in progress). */
  liveLeases(): Promise<{ conversationId: string; holder: string }[]>;
  /** Marks `running` runs whose conversation has no live lease as `interrupted`; how many. */
  interruptOrphanedRuns(): Promise<number>;
  /**
   * Writes what a run still `running` has done so far (its trace, agents and usage), so that a
   * process killed mid-run leaves them with its interrupted run. Nothing for a run that has ended.
   */
  saveRunProgress(progress: RunProgress): Promise<void>;
  /** Keeps a paused run's checkpoint under each of its pending tool-call ids. */
  saveCheckpoint(owner: string, conversationId: string, checkpoint: RunCheckpoint): Promise<void>;
  /** The checkpoint waiting for any of `toolCallIds`, this owner's only. */
  findCheckpoint(owner: string, toolCallIds: string[]): Promise<StoredCheckpoint | undefined>;
  /** Forgets the checkpoint of the paused run `runId`; false if there was none (already consumed). */
  deleteCheckpoint(owner: string, runId: string): Promise<boolean>;
  /** This owner's response `id`; another owner's is not found. */
  getResponse(id: string, owner: string): Promise<StoredResponse | undefined>;
  /** Forgets this owner's response `id` (not its conversation); false if there was none. */
  deleteResponse(id: string, owner: string): Promise<boolean>;
  /**
   * A random secret of this deployment (32 bytes, base64), made at its first use and the same for
   * every process sharing the store: what the server seals state a client carries with.
   */
  serverSecret(name: string): Promise<string>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The conversation exists but belongs to another API key. */
export class ForeignConversationError extends Error {}

/**
 * The run being recorded was declared dead by another turn: its conversation's lease ran out (the
 * process stalled, or lost the database, past the lease) and another process took the conversation,
 * marking the run interrupted. Its answer is not stored: the conversation has gone on without it.
 */
export class TurnTakenOverError extends Error {
  override name = 'TurnTakenOverError';
}
