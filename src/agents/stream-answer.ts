// The final answer, streamed token by token as the model writes it: the one place where upstream
// text deltas become the run's `text_delta` events. Tool loops (the supervisor's delegation, an
// agent's own tools) happen inside the same call.
import { streamText, type ModelMessage, type PrepareStepFunction, type StopCondition, type ToolSet } from 'ai';
import type { GenerationParams, ToolCall } from '../orchestrator/types.ts';
import type { ResolvedModel } from '../llm/providers.ts';
import { generationSettings } from './generation.ts';
import type { RunContext } from './run-context.ts';

export interface StreamAnswerOptions {
  agent: string;
  model: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  tools?: ToolSet;
  stopWhen: StopCondition<ToolSet> | StopCondition<ToolSet>[];
  prepareStep?: PrepareStepFunction<ToolSet>;
  generation: GenerationParams;
  /** Tools the client executes: a call to one of them pauses the run. */
  clientToolNames?: Set<string>;
}

export interface StreamedAnswer {
  finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  clientToolCalls: ToolCall[];
}

export async function streamAnswer(run: RunContext, o: StreamAnswerOptions): Promise<StreamedAnswer> {
  const result = streamText({
    ...run.callSettings(o.model.model),
    ...generationSettings(o.generation),
    system: o.system,
    messages: o.messages,
    tools: o.tools,
    stopWhen: o.stopWhen,
    prepareStep: o.prepareStep,
    onError: () => {}, // errors arrive as `error` parts below; the SDK would otherwise print them
  });
  let lastFinish: string | undefined;
  const clientToolCalls: ToolCall[] = [];
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'text-delta':
        run.answerDelta(part.text);
        break;
      case 'tool-call':
        if (o.clientToolNames?.has(part.toolName)) {
          clientToolCalls.push({
            id: part.toolCallId,
            name: part.toolName,
            arguments: JSON.stringify(part.input ?? {}),
          });
        }
        break;
      case 'finish-step':
        lastFinish = part.finishReason;
        run.usage(o.agent, o.model.name, part.usage);
        break;
      case 'error':
        throw part.error;
      case 'abort':
        // Not the client: the SDK's own per-call time limit stopped the call.
        throw run.signal.aborted ? run.signal.reason : new DOMException('The upstream call timed out', 'TimeoutError');
    }
  }
  if (clientToolCalls.length) return { finishReason: 'tool_calls', clientToolCalls };
  return {
    finishReason: lastFinish === 'length' ? 'length' : lastFinish === 'content-filter' ? 'content_filter' : 'stop',
    clientToolCalls,
  };
}
