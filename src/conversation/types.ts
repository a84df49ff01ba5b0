// The memory of a conversation as the chat route sees it: prepare the context of a new turn, then
// record the turn once it is over (completed, failed, or cut off by the client).
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage } from '../orchestrator/types.ts';
import type { UsageTotals } from '../orchestrator/run-summary.ts';

export interface PrepareTurnInput {
  conversationId: string;
  owner?: string;
  /** The messages of the request as the client sent them (whole history or just the new turn). */
  messages: ChatMessage[];
}

export interface PreparedTurn {
  conversationId: string;
  /** The context for the agents: stored transcript merged with the request, trimmed to budget. */
  context: ChatMessage[];
  /** What this request adds to the transcript (nothing the store already had). */
  newMessages: ChatMessage[];
  /** Releases whatever serialises turns of this conversation; called once the turn is recorded. */
  release(): void;
}

export type TurnStatus = 'completed' | 'failed' | 'cancelled' | 'tool_calls';

export interface TurnRecord {
  conversationId: string;
  owner?: string;
  runId: string;
  model: string;
  newMessages: ChatMessage[];
  /** The assistant's answer (partial when the run failed or the client left); null if none at all. */
  answer: ChatMessage | null;
  status: TurnStatus;
  error?: string;
  events: RunEvent[];
  agentsUsed: string[];
  usage: UsageTotals;
  promptTokens: number;
  completionTokens: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface ConversationMemory {
  prepare(input: PrepareTurnInput): Promise<PreparedTurn>;
  record(turn: TurnRecord): Promise<void>;
}
