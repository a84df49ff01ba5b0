// One run emits one ordered stream of these events. The HTTP layer renders them (JSON body or SSE
// chunks), the store keeps them as the run's trace; nothing re-derives what happened from logs.
import type { RunCheckpoint, TokenUsage, ToolCall } from './types.ts';

/** Why a run failed, in OpenAI's error vocabulary (src/llm/upstream-error.ts for the upstream's failures). */
export interface RunError {
  message: string;
  status: number;
  type: string;
  code: string | null;
  /** How long the upstream asked to be left alone (its 429's Retry-After), passed on to the client. */
  retryAfterSeconds?: number;
  /**
   * For the server's log only, never sent nor stored (guardRun logs it and takes it off the event):
   * the upstream's address and what its connection said, which name internal hosts.
   */
  detail?: string;
}

export interface Source {
  /** The number the answer cites, as in `[1]`. */
  index: number;
  title: string;
  /** A URL, or `kb://<document>#<chunk>` for a knowledge-base chunk. */
  url: string;
  snippet?: string;
}

export interface AgentUsage extends TokenUsage {
  agent: string;
  model: string;
}

export interface McpToolRef {
  server: string;
  tool: string;
}

export type RunEvent =
  | { type: 'run_started'; runId: string; model: string; at: number }
  | { type: 'agent_started'; agent: string; callId: string; task: string; at: number }
  | { type: 'agent_finished'; agent: string; callId: string; ok: boolean; output: string; error?: string; at: number }
  | {
      type: 'tool_call';
      agent: string;
      toolCallId: string;
      toolName: string;
      input: unknown;
      /** A tool of an MCP server: the server and the tool's name there. */
      mcp?: McpToolRef;
      /**
       * A function tool of the API client: the run hands the call to the client and pauses
       * (`run_finished` with `tool_calls`), so the call has no result in this run's trace; the result
       * is a `tool_result` of the run that resumes.
       */
      client?: true;
      at: number;
    }
  | {
      type: 'tool_result';
      agent: string;
      toolCallId: string;
      toolName: string;
      output: unknown;
      isError: boolean;
      mcp?: McpToolRef;
      /**
       * The client's result for a call of the run this one resumes (traced at its start, before its
       * first model turn): `output` is the `tool` message's content as the client sent it. The call
       * itself is a `tool_call` of the paused run, with the same `toolCallId`.
       */
      client?: true;
      durationMs?: number;
      at: number;
    }
  /** Progress while agents work; streamed as `delta.reasoning_content` when enabled. */
  | { type: 'progress'; agent: string; text: string; at: number }
  /** A token (or several) of the final answer, in order. */
  | { type: 'text_delta'; text: string; at: number }
  /** Upstream tokens spent by one LLM call of one agent. */
  | { type: 'usage'; usage: AgentUsage; at: number }
  /**
   * An attempt of one LLM call of `agent` failed and the call is tried again: after `delayMs` (the
   * backoff, or the upstream's Retry-After) for a 429, a 5xx or a connection error (CORTEX_LLM_MAX_RETRIES);
   * at once for an answer that ended before any of it was used, or on the `fallback` model.
   */
  | {
      type: 'upstream_retry';
      agent: string;
      model: string;
      /** The attempt that failed, from 1. */
      attempt: number;
      /** The upstream's HTTP status, when it answered with one. */
      status?: number;
      /** What failed, as the API's errors name it: `upstream_rate_limited`, `upstream_error`... */
      code: string;
      delayMs: number;
      /** The model the next attempt goes to (CORTEX_FALLBACK_MODEL). */
      fallback?: string;
      at: number;
    }
  | {
      type: 'run_finished';
      /** `tool_calls` when the run pauses for the client to execute `toolCalls`. */
      finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
      text: string;
      toolCalls?: ToolCall[];
      /** With `tool_calls`: what the engine needs to resume once the client sends the results. */
      checkpoint?: RunCheckpoint;
      agentsUsed: string[];
      iterations: number;
      sources: Source[];
      /** What the client should know about how the request was served (e.g. its tools were not called). */
      notes?: string[];
      at: number;
    }
  | {
      type: 'run_failed';
      error: RunError;
      at: number;
    };

export type RunEventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
