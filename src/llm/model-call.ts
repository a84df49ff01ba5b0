// One upstream model call, streamed straight from the provider, read as a plain async iteration:
// through the model's `openParts` when it offers one (an OpenAI-wire upstream read without web
// streams, src/llm/openai-wire.ts), else through `model.doStream()`. The team owns its loop (one model turn per call, tools never executed by
// the SDK), so `streamText`'s orchestration does nothing for it, and it cost about three quarters of
// a one-call request's time in web-stream layers (see BENCHMARKS.md, "Hot path"). What the AI SDK
// is good at stays the SDK's: the providers, prompt conversion and validation, tool declarations,
// call-setting checks and retries come from `ai/internal`, the SDK's own building blocks; tool
// calls are parsed and checked against their schemas as `streamText` does.
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3ToolCall } from '@ai-sdk/provider';
import {
  asSchema,
  InvalidToolInputError,
  NoSuchToolError,
  type CallSettings,
  type LanguageModel,
  type ModelMessage,
  type ToolChoice,
  type ToolSet,
} from 'ai';
import {
  asLanguageModelUsage,
  convertToLanguageModelPrompt,
  prepareCallSettings,
  prepareRetries,
  prepareToolsAndToolChoice,
  standardizePrompt,
} from 'ai/internal';
import { openParts } from './part-reader.ts';
import { watchCall, type RetryWatch } from './retry-watch.ts';

export interface ModelCall {
  model: LanguageModel;
  system?: string;
  messages: ModelMessage[];
  tools?: ToolSet;
  activeTools?: string[];
  toolChoice?: ToolChoice<ToolSet>;
  /** Sampling, output budget, stop sequences, provider options. */
  settings?: Omit<CallSettings, 'abortSignal' | 'maxRetries' | 'headers'> & {
    providerOptions?: LanguageModelV3CallOptions['providerOptions'];
  };
  /** The client's `response_format`, for this call only. */
  responseFormat?: LanguageModelV3CallOptions['responseFormat'];
  maxRetries: number;
  abortSignal: AbortSignal;
  /** Told of the call's retries, for the run's trace (src/llm/retry-watch.ts). */
  retries?: RetryWatch;
}

export type CallPart =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown; invalid?: undefined }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown; invalid: true; error: Error }
  | {
      type: 'finish';
      /** The SDK's unified reason: stop, length, content-filter, tool-calls, error or other. */
      finishReason: string;
      usage: { inputTokens: number | undefined; outputTokens: number | undefined };
    };

/**
 * Streams one call's text deltas, its tool calls (parsed, validated; `invalid` when the model's
 * arguments do not fit) and its finish. An upstream failure is thrown. Leaving the iteration early
 * (a `break`, a throw in the consumer) cancels the upstream body; the signal aborts the request.
 */
export async function* streamCall(c: ModelCall): AsyncGenerator<CallPart, void, undefined> {
  const reader = await openStream(c);
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      const part = next.value;
      switch (part.type) {
        case 'text-delta':
          if (part.delta) yield { type: 'text', text: part.delta };
          break;
        case 'tool-call':
          yield await parseToolCall(part, c.tools);
          break;
        case 'finish':
          yield {
            type: 'finish',
            finishReason: part.finishReason.unified,
            usage: asLanguageModelUsage(part.usage),
          };
          break;
        case 'error':
          throw part.error;
      }
    }
  } finally {
    // The consumer stopped early (a limit reached, an error): the rest of the answer is not needed.
    if (!done) await reader.cancel().catch(() => {});
  }
}

/**
 * The provider call, opened. Its own frame holds the prompt's intermediate forms, so that they are
 * garbage once the call is open rather than kept by the generator for as long as the answer streams.
 */
async function openStream(c: ModelCall) {
  const model = c.model as LanguageModelV3;
  const { providerOptions, ...settings } = c.settings ?? {};
  const callSettings = prepareCallSettings(settings);
  const { retry } = prepareRetries({ maxRetries: c.maxRetries, abortSignal: c.abortSignal });
  const prompt = await convertToLanguageModelPrompt({
    prompt: await promptOf(c.system, c.messages),
    supportedUrls: await model.supportedUrls,
    download: undefined,
    abortSignal: c.abortSignal,
  });
  const { tools, toolChoice } = await prepareToolsAndToolChoice({
    tools: c.tools,
    toolChoice: c.toolChoice,
    activeTools: c.activeTools,
  });
  // Not awaited here: this frame would otherwise stay suspended for as long as the upstream takes
  // to answer, holding its registers on top of what the call itself holds.
  const options: LanguageModelV3CallOptions = {
    ...callSettings,
    prompt,
    tools,
    toolChoice,
    providerOptions,
    abortSignal: c.abortSignal,
  };
  if (c.responseFormat) options.responseFormat = c.responseFormat;
  if (c.retries) watchCall(options, c.retries);
  return retry(() => openParts(model, options));
}

/**
 * The prompt as `standardizePrompt` makes it. The SDK's function also validates every message with
 * zod on every call, which cost ~6 % of a one-call request's CPU; the messages here are the
 * server's own, built by typed code (src/agents/model-messages.ts) from a request checked on
 * arrival, so the check is left to the type checker. The uncommon cases keep the SDK's function.
 */
function promptOf(system: string | undefined, messages: ModelMessage[]) {
  if (messages.length === 0 || messages.some((m) => m.role === 'system'))
    return standardizePrompt({ system, messages });
  return Promise.resolve({ system, messages });
}

/** A tool call as `streamText` reports it: arguments parsed and checked, or marked invalid. */
async function parseToolCall(call: LanguageModelV3ToolCall, tools: ToolSet | undefined): Promise<CallPart> {
  const { toolCallId, toolName } = call;
  // An own key only: the model names the tool, and `toString` is no tool because objects have one.
  const t = tools && Object.hasOwn(tools, toolName) ? tools[toolName] : undefined;
  if (!t) {
    const error = new NoSuchToolError({ toolName, availableTools: tools ? Object.keys(tools) : undefined });
    return { type: 'tool-call', toolCallId, toolName, input: rawInput(call.input), invalid: true, error };
  }
  let value: unknown = {};
  try {
    if (call.input.trim() !== '') value = JSON.parse(call.input);
    const schema = asSchema(t.inputSchema);
    const checked = schema.validate ? await schema.validate(value) : { success: true as const, value };
    if (!checked.success) throw checked.error;
    return { type: 'tool-call', toolCallId, toolName, input: checked.value };
  } catch (cause) {
    const error = new InvalidToolInputError({ toolName, toolInput: call.input, cause });
    return { type: 'tool-call', toolCallId, toolName, input: rawInput(call.input), invalid: true, error };
  }
}

function rawInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
