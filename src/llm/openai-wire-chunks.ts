// Chat Completions stream chunks, turned into the AI SDK's stream parts as the SDK's OpenAI and
// OpenAI-compatible providers turn them (text, reasoning, tool calls finished at the end of the
// stream, the finish with its unified reason and usage), with one `JSON.parse` per chunk and a few
// structural checks where the providers run a zod schema over every chunk. A chunk that is not
// JSON, or not shaped like a chunk, becomes an error part, as the providers report it.
import {
  InvalidResponseDataError,
  JSONParseError,
  TypeValidationError,
  type LanguageModelV3FinishReason,
  type LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { generateId } from 'ai';
import type { StreamPart } from './part-reader.ts';

/** `openai`: the OpenAI provider's reading; `compatible`: the OpenAI-compatible provider's. */
export type WireFlavor = 'openai' | 'compatible';

interface PendingToolCall {
  index: number;
  id: string | undefined;
  name: string | undefined;
  arguments: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string | null | undefined => v == null || typeof v === 'string';

export class ChatChunkReader {
  private readonly flavor: WireFlavor;
  private readonly push: (part: StreamPart) => void;
  private readonly toolCalls: PendingToolCall[] = [];
  private rawFinishReason: string | undefined;
  private failed = false;
  private hasRefusal = false;
  private usage: Json | undefined;
  /** Some chunk carried output (text, refusal, tool calls): an error frame is no longer the call's failure. */
  sawOutput = false;

  constructor(flavor: WireFlavor, push: (part: StreamPart) => void) {
    this.flavor = flavor;
    this.push = push;
  }

  /**
   * Reads one event's data. Returns the error frame when the chunk is one (`{ error: {...} }`), so
   * that a caller still waiting for the first output can fail the call instead, as the OpenAI
   * provider does; otherwise the frame is also pushed as an error part.
   */
  read(data: string): Json | undefined {
    if (data === '[DONE]') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (cause) {
      this.fail(new JSONParseError({ text: data, cause }));
      return undefined;
    }
    if (isObject(value) && isObject(value.error)) return value;
    const problem = chunkProblem(value);
    if (problem) {
      this.fail(new TypeValidationError({ value, cause: new Error(problem) }));
      return undefined;
    }
    this.chunk(value as Json);
    return undefined;
  }

  /** An error frame the caller passes on as an error part. */
  errorFrame(frame: Json): void {
    this.fail(frame.error);
  }

  /** The body ended: the tool calls are complete, then the finish. */
  end(): void {
    const calls = this.toolCalls.sort((a, b) => a.index - b.index);
    const used = new Set<string>();
    for (const call of calls) {
      if (call.name === undefined) {
        this.fail(new InvalidResponseDataError({ data: call, message: `Expected 'function.name' to be a string.` }));
        continue;
      }
      const id = call.id !== undefined && !used.has(call.id) ? call.id : generateId();
      used.add(id);
      this.push({ type: 'tool-call', toolCallId: id, toolName: call.name, input: call.arguments });
    }
    let finishReason: LanguageModelV3FinishReason = { unified: this.failed ? 'error' : 'other', raw: undefined };
    if (this.rawFinishReason !== undefined)
      finishReason = { unified: unifiedReason(this.rawFinishReason, this.hasRefusal), raw: this.rawFinishReason };
    else if (this.flavor === 'compatible' && !this.failed) {
      finishReason = { unified: 'error', raw: undefined };
      this.push({
        type: 'error',
        error: new InvalidResponseDataError({
          data: undefined,
          message: 'Response stream ended without a finish reason.',
        }),
      });
    }
    this.push({ type: 'finish', finishReason, usage: convertUsage(this.usage, this.flavor) });
  }

  /** Whether a finish reason arrived: what may still come is the usage and `[DONE]`. */
  get finished(): boolean {
    return this.rawFinishReason !== undefined && !this.failed;
  }

  private fail(error: unknown): void {
    this.failed = true;
    this.rawFinishReason = undefined;
    this.push({ type: 'error', error });
  }

  private chunk(value: Json): void {
    if (isObject(value.usage)) this.usage = value.usage;
    const choice = (value.choices as Json[])[0];
    if (!choice) return;
    if (typeof choice.finish_reason === 'string') this.rawFinishReason = choice.finish_reason;
    const delta = choice.delta as Json | null | undefined;
    if (delta == null) return;
    const content = delta.content;
    const refusal = delta.refusal as string | null | undefined;
    if (this.flavor === 'compatible') {
      const reasoning = (delta.reasoning_content ?? delta.reasoning) as string | null | undefined;
      if (reasoning) this.reasoning(reasoning);
      if (typeof content === 'string') {
        if (content.length > 0) this.text(content);
      } else if (Array.isArray(content)) this.contentParts(content);
    } else if (typeof content === 'string' && (content.length > 0 || !refusal)) {
      // The OpenAI provider passes on an empty content delta too (when no refusal comes with it).
      this.text(content);
    }
    if (refusal) {
      this.hasRefusal = true;
      this.text(refusal);
    }
    const calls = delta.tool_calls as Json[] | null | undefined;
    if (calls && calls.length > 0) {
      this.sawOutput = true;
      for (const call of calls) this.toolCallDelta(call);
    }
  }

  private text(delta: string): void {
    if (delta.length > 0) this.sawOutput = true;
    this.push({ type: 'text-delta', id: '0', delta });
  }

  private reasoning(delta: string): void {
    this.push({ type: 'reasoning-delta', id: 'reasoning-0', delta });
  }

  /** Content as an array of parts (some compatible servers): text, and `thinking` as reasoning. */
  private contentParts(parts: unknown[]): void {
    for (const part of parts) {
      if (!isObject(part)) continue;
      if (part.type === 'text' && typeof part.text === 'string') {
        if (part.text.length > 0) this.text(part.text);
      } else if (part.type === 'thinking' && Array.isArray(part.thinking)) {
        const text = part.thinking
          .filter((c): c is Json => isObject(c) && c.type === 'text' && typeof c.text === 'string')
          .map((c) => c.text)
          .join('');
        if (text.length > 0) this.reasoning(text);
      }
    }
  }

  /**
   * One tool-call delta: a call is known by its index (its id when a server sends no index); its
   * name arrives with its first delta, its arguments in pieces.
   */
  private toolCallDelta(delta: Json): void {
    const fn = delta.function as Json | undefined;
    const id = typeof delta.id === 'string' && delta.id.trim() !== '' ? delta.id : undefined;
    const name = typeof fn?.name === 'string' && fn.name.trim() !== '' ? fn.name : undefined;
    const args = typeof fn?.arguments === 'string' ? fn.arguments : '';
    const index = typeof delta.index === 'number' ? delta.index : undefined;
    let call =
      index !== undefined
        ? this.toolCalls.find((c) => c.index === index)
        : id !== undefined
          ? this.toolCalls.find((c) => c.id === id)
          : this.toolCalls.at(-1);
    if (!call) {
      if (typeof fn?.name === 'string' && name === undefined) return; // a blank name starts nothing
      call = { index: index ?? this.toolCalls.length, id, name, arguments: '' };
      this.toolCalls.push(call);
      if (name !== undefined) this.push({ type: 'tool-input-start', id: id ?? `tool-${call.index}`, toolName: name });
    } else {
      call.id ??= id;
      if (call.name === undefined && name !== undefined) {
        call.name = name;
        this.push({ type: 'tool-input-start', id: call.id ?? `tool-${call.index}`, toolName: name });
      }
    }
    call.arguments += args;
  }
}

/** What the providers' chunk schemas require, checked by hand; undefined when the chunk fits. */
function chunkProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'a chunk must be an object';
  if (!Array.isArray(value.choices)) return 'choices must be an array';
  if (value.usage != null && !isObject(value.usage)) return 'usage must be an object';
  for (const choice of value.choices) {
    if (!isObject(choice)) return 'a choice must be an object';
    if (!isText(choice.finish_reason)) return 'finish_reason must be a string';
    const delta = choice.delta;
    if (delta == null) continue;
    if (!isObject(delta)) return 'delta must be an object';
    if (!isText(delta.content) && !Array.isArray(delta.content)) return 'delta.content must be a string';
    if (!isText(delta.refusal)) return 'delta.refusal must be a string';
    const calls = delta.tool_calls;
    if (calls == null) continue;
    if (!Array.isArray(calls)) return 'delta.tool_calls must be an array';
    for (const call of calls) {
      if (!isObject(call)) return 'a tool call must be an object';
      if (call.function != null && !isObject(call.function)) return 'tool_calls[].function must be an object';
      const fn = call.function as Json | undefined;
      if (!isText(fn?.name) || !isText(fn?.arguments)) return 'tool_calls[].function fields must be strings';
    }
  }
  return undefined;
}

function unifiedReason(raw: string, hasRefusal: boolean): LanguageModelV3FinishReason['unified'] {
  switch (raw) {
    case 'stop':
      return hasRefusal ? 'content-filter' : 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    case 'function_call':
    case 'tool_calls':
      return 'tool-calls';
    default:
      return 'other';
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Usage as the providers convert it: cached prompt tokens and reasoning tokens broken out. */
function convertUsage(usage: Json | undefined, flavor: WireFlavor): LanguageModelV3Usage {
  if (!usage)
    return {
      inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: undefined, text: undefined, reasoning: undefined },
      raw: undefined,
    };
  const prompt = num(usage.prompt_tokens) ?? 0;
  const completion = num(usage.completion_tokens) ?? 0;
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : undefined;
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : undefined;
  const cached = num(promptDetails?.cached_tokens) ?? 0;
  // Only the OpenAI provider reads cache writes.
  const cacheWrite = flavor === 'openai' ? num(promptDetails?.cache_write_tokens) : undefined;
  const reasoning = num(completionDetails?.reasoning_tokens) ?? 0;
  return {
    inputTokens: { total: prompt, noCache: prompt - cached - (cacheWrite ?? 0), cacheRead: cached, cacheWrite },
    outputTokens: { total: completion, text: Math.max(0, completion - reasoning), reasoning },
    raw: usage as LanguageModelV3Usage['raw'],
  };
}
