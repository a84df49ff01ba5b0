// The writer's answer, streamed token by token as the model writes it: every parameter of the
// request applies to this call (it writes what the client receives), and its deltas become the
// run's `text_delta` events.
import { streamText, wrapLanguageModel, type LanguageModel, type ModelMessage } from 'ai';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { GenerationParams } from '../orchestrator/types.ts';
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
  const result = streamText({
    ...run.callSettings(withResponseFormat(o.model.model, o.generation)),
    ...answerSettings(o.generation),
    system: o.system,
    messages: o.messages,
    onError: () => {}, // errors arrive as `error` parts below; the SDK would otherwise print them
  });
  let lastFinish: string | undefined;
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'text-delta':
        if (o.onText) o.onText(part.text);
        else run.answerDelta(part.text);
        break;
      case 'finish-step':
        lastFinish = part.finishReason;
        run.usage(o.agent, o.model.name, part.usage);
        break;
      case 'error':
        throw part.error;
      case 'abort':
        throw run.signal.reason ?? new Error('the upstream call was aborted');
    }
  }
  return {
    finishReason: lastFinish === 'length' ? 'length' : lastFinish === 'content-filter' ? 'content_filter' : 'stop',
  };
}

/** The client's `response_format`, set on this one call. */
function withResponseFormat(model: LanguageModel, g: GenerationParams): LanguageModel {
  const responseFormat = responseFormatOf(g);
  if (!responseFormat) return model;
  return wrapLanguageModel({
    model: model as LanguageModelV3,
    middleware: {
      specificationVersion: 'v3',
      transformParams: async ({ params }) => ({ ...params, responseFormat }),
    },
  });
}
