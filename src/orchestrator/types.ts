// The orchestrator's own vocabulary: plain data, no HTTP and no provider types, so the edge, the
// store and the agents can all speak it.
import type { RunEvent } from './events.ts';

/**
 * An image or a file of a user message, passed to the models that read the user's content. An image
 * is an https URL (passed on, never fetched here) or a `data:image/...;base64,` URL; a file (PDF)
 * is a `data:application/pdf;base64,` URL and carries its `mediaType` (and name, if the client gave one).
 */
export interface ContentImage {
  url: string;
  detail?: 'auto' | 'low' | 'high';
  /** Set for a file part (`application/pdf`); absent for an image. */
  mediaType?: string;
  filename?: string;
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
  /** OpenAI's `response_format`: the answer as any JSON object, or as JSON matching a schema. */
  responseFormat?: ResponseFormat;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      jsonSchema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean };
    };

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/** A function the client declared in `tools`: the team may ask the client to run it. */
export interface ClientTool {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
  /** The client asked for strict arguments (passed on to providers that honour it). */
  strict?: boolean;
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
  /** `false`: at most one client tool call per turn (OpenAI's `parallel_tool_calls`). */
  parallelToolCalls?: boolean;
  /**
   * The client uses the legacy `functions`: its call carries no id, and its result answers by the
   * function's name, so the call's id is that name (one call per turn).
   */
  legacyFunctions?: boolean;
  /** Who is asking (an API key's id), for tools that read owner-scoped data. */
  owner?: string;
  /**
   * A run paused for client tools, to go on from where it stopped. The tool results are the `tool`
   * messages of `messages` whose `toolCallId` is one of `checkpoint.pendingToolCallIds`.
   */
  resume?: RunCheckpoint;
}

/**
 * What a run paused for client tools needs to go on, written by the engine when it pauses (on
 * `run_finished` with `finishReason: 'tool_calls'`), stored by the run lifecycle keyed by the
 * pending tool-call ids, and handed back in `RunInput.resume` by the request that carries their
 * results. Plain JSON: it survives a restart and may be read by another replica.
 */
export interface RunCheckpoint {
  /** Bumped when the shape of `state` changes; an engine ignores a version it does not know. */
  schemaVersion: number;
  /** The run that paused (the resumed run has an id of its own and names this one). */
  runId: string;
  /** The model id the client asked for; a checkpoint resumes only a request for the same model. */
  model: string;
  /** The ids of the client tool calls the run waits for. */
  pendingToolCallIds: string[];
  /** The engine's own state: findings so far, round, agents used, sources... */
  state: Record<string, unknown>;
}

/** What an engine sees of a request before any run starts, to tell whether it can serve it at all. */
export type RunRequest = Omit<RunInput, 'runId' | 'conversationId' | 'owner' | 'resume'>;

/** Why an engine cannot serve a request as asked: answered as a 400 before any run starts. */
export interface RunRefusal {
  message: string;
  /** The request parameter at fault, e.g. `tool_choice`. */
  param: string | null;
  code: string;
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
  /** A request this engine cannot serve as asked (e.g. a required client tool without a model). */
  refuse?(request: RunRequest): RunRefusal | undefined;
  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent>;
}
