// The memory of a conversation as the run lifecycle sees it. One turn goes:
//   lock()    find the conversation the request continues (or mint one) and hold its lock, in this
//             process and across replicas; cancellable, bounded; taken before the run slot
//   prepare() merge the request into the stored transcript and assemble the agents' context
//   begin()   write the user's new messages and the run(s), status `running`, as the run starts
//   record()  end each run: status, compact trace, the answer appended (choice 0); throws when the
//             turn could not be stored
//   release() the lock, idempotent, in `finally`
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import type { UsageTotals } from '../orchestrator/run-summary.ts';
import type { RunProgress, StoredResponse } from '../store/types.ts';

export interface LockTurnInput {
  /** The conversation the request names; absent: found from the history it resends, or minted. */
  conversationId?: string;
  owner?: string;
  /** The messages of the request as the client sent them (whole history or just the new turn). */
  messages: ChatMessage[];
  /**
   * A point of a stored conversation to build on (a Responses request naming a response: the end of
   * that response's turn). Still the conversation's end once the turn holds its lock, the turn
   * continues it; otherwise (an older response, or another turn got there first) it branches
   * there, into a new conversation.
   */
  buildsOn?: BranchPoint;
  /**
   * The request's system messages are all the system prompt its turn has: the one stored with the
   * conversation is not carried over when it brings none (the Responses API's `instructions`).
   */
  systemNotCarried?: boolean;
}

export interface BranchPoint {
  conversationId: string;
  /** How many of its messages the branch starts with. */
  depth: number;
}

export interface LockOptions {
  /** A client that goes away stops waiting: lock() rejects with LockWaitAbortedError. */
  signal?: AbortSignal;
  /** Longest wait for a busy conversation; then lock() rejects with ConversationBusyError. */
  waitMs?: number;
}

/** A conversation held for one turn. */
export interface ConversationLock {
  readonly conversationId: string;
  /**
   * The stored conversation whose transcript the turn builds on: its own when it continues one, the
   * one it branches from for an edit or a regenerate; undefined for a new conversation.
   */
  readonly buildsOn?: string;
  /** Releases the lock (in process and across replicas). Idempotent, never rejects. */
  release(): Promise<void>;
  /**
   * The client left (or cancelled): the turn will end cancelled. Until it is recorded, a request
   * without an id resending the same messages waits for it, to retry it in its conversation.
   */
  abandon?(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export type PrepareTurnInput =
  | {
      /** Held by lock(); prepare() takes no lock of its own. */
      lock: ConversationLock;
      owner?: string;
      messages: ChatMessage[];
    }
  | (LockTurnInput & { conversationId: string; lock?: undefined; signal?: AbortSignal });

export interface PreparedTurn {
  conversationId: string;
  /** The context for the agents: stored transcript merged with the request, trimmed to budget. */
  context: ChatMessage[];
  /** What this request adds to the transcript (nothing the store already had). */
  newMessages: ChatMessage[];
  /**
   * The context's prompt tokens, where memory knows them from the counts it assembled the window
   * with (stored messages carry theirs); otherwise they are counted from the context.
   */
  promptTokens?: number;
  /** Releases the conversation's lock (the one prepare() took, or the one it was given). Idempotent. */
  release(): Promise<void>;
  /** Whether older messages were left out of `context` to fit the budget. */
  trimmed?: boolean;
  /**
   * Whether `context` is over the budget even so: the system prompt and the message being answered
   * are always sent, whatever their size.
   */
  overBudget?: boolean;
}

export interface RunStart {
  runId: string;
  /** Which choice the run answers; n > 1 requests have one run per choice. */
  choiceIndex: number;
}

export interface BeginTurnInput {
  turn: PreparedTurn;
  owner?: string;
  model: string;
  runs: RunStart[];
  startedAt: Date;
}

/** Final statuses of a run. */
export type TurnStatus = 'completed' | 'failed' | 'cancelled' | 'tool_calls';
/** Every status a stored run can have: `running` from begin() to record(), `interrupted` when the
 * process serving it died (marked at the next start, or when the conversation's lease is taken over). */
export type RunStatus = TurnStatus | 'running' | 'interrupted';

export interface TurnRecord {
  conversationId: string;
  owner?: string;
  runId: string;
  /** Which choice this run answered (n > 1 requests have one run per choice). Default 0. */
  choiceIndex?: number;
  /**
   * Whether this run's answer enters the transcript: one choice's per turn. Default: choice 0's
   * (the lifecycle names the first choice that completed, so that a failed choice 0 loses nothing).
   */
  keepsAnswer?: boolean;
  model: string;
  /** The request's new messages: written here only when begin() was not called for this run. */
  newMessages: ChatMessage[];
  /** The assistant's answer (partial when the run failed or the client left); null if none at all. */
  answer: ChatMessage | null;
  status: TurnStatus;
  error?: string;
  /** The run's events as emitted; stored compacted (text deltas folded, the answer once). */
  events: RunEvent[];
  agentsUsed: string[];
  usage: UsageTotals;
  promptTokens: number;
  completionTokens: number;
  startedAt: Date;
  finishedAt: Date;
  /** A Responses API response this run ends: stored with the run's end, atomically. */
  response?: StoredResponse;
}

export interface PausedRun {
  conversationId: string;
  checkpoint: RunCheckpoint;
}

export interface ConversationMemory {
  lock(input: LockTurnInput, options?: LockOptions): Promise<ConversationLock>;
  prepare(input: PrepareTurnInput): Promise<PreparedTurn>;
  begin(input: BeginTurnInput): Promise<void>;
  record(turn: TurnRecord): Promise<void>;
  /** Keeps a paused run's checkpoint, found by any of its pending tool-call ids (owner-scoped). */
  savePausedRun(input: { owner?: string; conversationId: string; checkpoint: RunCheckpoint }): Promise<void>;
  findPausedRun(input: { owner?: string; toolCallIds: string[] }): Promise<PausedRun | undefined>;
  /** The paused run `runId` was resumed for good (completed or paused again): forget its checkpoint. */
  resumedRun(input: { owner?: string; runId: string }): Promise<void>;
  /** At start-up: marks runs left `running` by a process that died as `interrupted`. */
  recoverInterruptedRuns(): Promise<number>;
  /** Writes what a run still going has done so far (see Store.saveRunProgress); no-op where nothing is kept. */
  saveProgress(progress: RunProgress): Promise<void>;
}

/** The conversation exists but belongs to someone else: answered as "not found". */
export class ConversationNotFoundError extends Error {}

/** Another turn of the conversation held its lock for longer than the wait allowed. */
export class ConversationBusyError extends Error {
  readonly conversationId: string;
  readonly waitedMs: number;
  constructor(conversationId: string, waitedMs: number) {
    super(`Conversation '${conversationId}' is busy with another turn; waited ${waitedMs} ms.`);
    this.conversationId = conversationId;
    this.waitedMs = waitedMs;
  }
}

/** The wait for a conversation's lock was abandoned (the client went away). */
export class LockWaitAbortedError extends Error {
  readonly conversationId: string;
  constructor(conversationId: string) {
    super(`Stopped waiting for conversation '${conversationId}'.`);
    this.conversationId = conversationId;
  }
}
