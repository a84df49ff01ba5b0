// The orchestrator's own vocabulary: plain data, no HTTP and no provider types, so the edge, the
// store and the agents can all speak it.
import type { RunEvent } from './events.ts';

export interface ContentImage {
  url: string;
  detail?: 'auto' | 'low' | 'high';
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as OpenAI sends it. */
  arguments: string;
}

/** One message of a conversation. `developer` arrives as `system`, legacy `function` as `tool`. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  name?: string;
  images?: ContentImage[];
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/** The request's sampling settings; they reach the model that writes the final answer. */
export interface GenerationParams {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  user?: string;
}

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/** A function the client declared in `tools`: the team may ask the client to run it. */
export interface ClientTool {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}
export type ToolChoice = 'none' | 'auto' | 'required' | { name: string };

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface RunInput {
  runId: string;
  conversationId: string;
  /** The model id the client asked for: the full team, the supervisor alone, or one agent. */
  model: string;
  /** The conversation context, already merged with the stored transcript and trimmed to budget. */
  messages: ChatMessage[];
  generation: GenerationParams;
  reasoningEffort?: ReasoningEffort;
  tools?: ClientTool[];
  toolChoice?: ToolChoice;
  /** Who is asking (an API key's id), for tools that read owner-scoped data. */
  owner?: string;
}

export interface ModelInfo {
  id: string;
  description: string;
}

/** What the HTTP layer needs from the team: the models it serves and a run as an event stream. */
export interface Orchestrator {
  /** `metadata.engine` of every answer, e.g. `offline-extractive` or `llm`. */
  readonly engine: string;
  models(): ModelInfo[];
  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent>;
}
