// An agent's own turns in the AI SDK's message format, as the run records them (and the
// checkpoint keeps them): the assistant's text and tool calls, then the results of those calls,
// internal ones as they came back and the client's once it sends them.
import type { ModelMessage } from 'ai';
import type { StepResult, StepToolCall } from './model-step.ts';
import { NO_CLIENT_RESULT } from './model-messages.ts';

/** The result of one tool call, as the agent's next turn reads it. */
export interface CallResult {
  call: StepToolCall;
  output: unknown;
}

export function assistantMessage(step: StepResult): ModelMessage {
  return {
    role: 'assistant',
    content: [
      ...(step.text ? [{ type: 'text' as const, text: step.text }] : []),
      ...step.toolCalls.map((c) => ({
        type: 'tool-call' as const,
        toolCallId: c.id,
        toolName: c.name,
        input: c.input,
      })),
    ],
  };
}

export function toolMessage(results: CallResult[]): ModelMessage {
  return {
    role: 'tool',
    content: results.map(({ call, output }) => ({
      type: 'tool-result' as const,
      toolCallId: call.id,
      toolName: call.name,
      output:
        typeof output === 'string'
          ? { type: 'text' as const, value: output }
          : { type: 'json' as const, value: (output ?? null) as never },
    })),
  };
}

/** The client's result for one call a run paused on; no `output` when the client sent none. */
export interface ClientResult {
  toolCallId: string;
  toolName: string;
  output?: string;
}

/** The client's results for the calls a run paused on, each named by the call in the agent's turns. */
export function clientResults(
  messages: ModelMessage[],
  pendingIds: string[],
  results: Map<string, { content: string }>,
): ClientResult[] {
  const names = new Map<string, string>();
  for (const m of messages)
    if (m.role === 'assistant' && Array.isArray(m.content))
      for (const p of m.content) if (p.type === 'tool-call') names.set(p.toolCallId, p.toolName);
  return pendingIds.map((id) => ({
    toolCallId: id,
    toolName: names.get(id) ?? 'tool',
    output: results.get(id)?.content,
  }));
}

/** The client's results, in the shape of the agent's own turns. */
export function clientResultsMessage(results: ClientResult[]): ModelMessage {
  return {
    role: 'tool',
    content: results.map((r) => ({
      type: 'tool-result' as const,
      toolCallId: r.toolCallId,
      toolName: r.toolName,
      output: { type: 'text' as const, value: r.output ?? NO_CLIENT_RESULT },
    })),
  };
}
