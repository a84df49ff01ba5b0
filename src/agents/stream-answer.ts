// The writer's answer, streamed token by token as the model writes it: every parameter of the
// request applies to this call (it writes what the client receives), and its deltas become the
// run's `text_delta` events.
import type { ModelMessage } from 'ai';
import type { GenerationParams } from '../orchestrator/types.ts';
import { streamCall } from '../llm/model-call.ts';
import type { ResolvedModel } from '../llm/providers.ts';
import { answerSettings, responseFormatOf } from './generation.ts';
import type { RunContext } from './run-context.ts';

export interface StreamAnswerOptions {
  agent: string;
  model: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  generation: GenerationParams;
  /** Where the text goes; by default straight to the client as the answer. */
  onText?: (text: string) => void;
}

export interface StreamedAnswer {
  finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

export async function streamAnswer(run: RunContext, o: StreamAnswerOptions): Promise<StreamedAnswer> {
  const call = streamCall({
    model: o.model.model,
    responseFormat: responseFormatOf(o.generation),
    maxRetries: run.limits.maxRetries,
    retries: run.retryWatch(o.agent, o.model),
    abortSignal: run.signal,
    settings: answerSettings(o.generation),
    system: o.system,
    messages: o.messages,
  });
  let lastFinish: string | undefined;
  for await (const part of call) {
    if (part.type === 'text') {
      if (o.onText) o.onText(part.text);
      else run.answerDelta(part.text);
    } else if (part.type === 'finish') {
      lastFinish = part.finishReason;
      run.usage(o.agent, o.model.name, part.usage);
    }
  }
  return {
    finishReason: lastFinish === 'length' ? 'length' : lastFinish === 'content-filter' ? 'content_filter' : 'stop',
  };
}
