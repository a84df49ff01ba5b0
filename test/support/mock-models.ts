// AI SDK mock language models that answer from a script, one reply per call, for unit tests of the
// agents without any HTTP.
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import type { ModelResolver, ResolvedModel } from '../../src/llm/providers.ts';

export type ScriptedReply =
  { text: string } | { toolCalls: { name: string; input: Record<string, unknown> }[] } | { error: Error };

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
});

export interface ScriptedCall {
  prompt: unknown;
  /** Names of the tools offered on this call. */
  tools: string[];
  options: Record<string, unknown>;
}

export interface ScriptedModel {
  model: MockLanguageModelV3;
  /** What the model received, in call order. */
  calls: ScriptedCall[];
}

let callSeq = 0;

export function scriptedModel(name: string, replies: ScriptedReply[], opts: { delayMs?: number } = {}): ScriptedModel {
  const queue = [...replies];
  const calls: ScriptedCall[] = [];
  const next = async (options: { prompt: unknown; tools?: { name: string }[] }) => {
    calls.push({ prompt: options.prompt, tools: (options.tools ?? []).map((t) => t.name), options });
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const reply = queue.shift();
    if (!reply) throw new Error(`${name}: no scripted reply left`);
    if ('error' in reply) throw reply.error;
    return reply;
  };
  const model = new MockLanguageModelV3({
    modelId: name,
    doGenerate: async (options) => {
      const reply = await next(options as never);
      const content =
        'text' in reply
          ? [{ type: 'text' as const, text: reply.text }]
          : reply.toolCalls.map((c) => ({
              type: 'tool-call' as const,
              toolCallId: `call_${++callSeq}`,
              toolName: c.name,
              input: JSON.stringify(c.input),
            }));
      return {
        content,
        finishReason: { unified: 'text' in reply ? 'stop' : 'tool-calls', raw: undefined },
        usage: usage(10, 5),
        warnings: [],
      } as never;
    },
    doStream: async (options) => {
      const reply = await next(options as never);
      const chunks: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
      if ('text' in reply) {
        chunks.push({ type: 'text-start', id: 't' });
        for (const piece of reply.text.match(/.{1,5}/gs) ?? [])
          chunks.push({ type: 'text-delta', id: 't', delta: piece });
        chunks.push({ type: 'text-end', id: 't' });
      } else {
        for (const c of reply.toolCalls)
          chunks.push({
            type: 'tool-call',
            toolCallId: `call_${++callSeq}`,
            toolName: c.name,
            input: JSON.stringify(c.input),
          });
      }
      chunks.push({
        type: 'finish',
        finishReason: { unified: 'text' in reply ? 'stop' : 'tool-calls', raw: undefined },
        usage: usage(10, 5),
      } as LanguageModelV3StreamPart);
      return { stream: simulateReadableStream({ chunks }) };
    },
  });
  return { model, calls };
}

/** Resolves `mock:<agent>` to that agent's scripted model. */
export function scriptedResolver(models: Record<string, ScriptedModel>): ModelResolver {
  return {
    resolve(text: string): ResolvedModel {
      const name = text.replace(/^mock:/, '');
      const m = models[name];
      if (!m) throw new Error(`no scripted model ${text}`);
      return { name: text, model: m.model };
    },
  };
}
