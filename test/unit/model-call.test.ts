// One upstream call read straight from the provider (src/llm/model-call.ts): what the team relies on
// from it, as it relied on streamText before. Tool calls are parsed and checked against the tool's
// schema (an unreadable one is reported as invalid, never passed on), usage and the finish reason
// arrive, and a consumer that stops early cancels the rest of the upstream answer.
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { jsonSchema, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { streamCall, type CallPart } from '../../src/llm/model-call.ts';

const usage = { inputTokens: { total: 7, noCache: 7 }, outputTokens: { total: 3, text: 3 } } as never;
const finish = (unified: string): LanguageModelV3StreamPart =>
  ({ type: 'finish', finishReason: { unified, raw: unified }, usage }) as LanguageModelV3StreamPart;

function modelStreaming(parts: LanguageModelV3StreamPart[]) {
  const seen = { cancelled: false, pulled: 0, calls: [] as { tools?: { name: string }[]; maxOutputTokens?: number }[] };
  const model = new MockLanguageModelV3({
    doStream: async (options) => {
      seen.calls.push(options as never);
      let i = 0;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        pull(controller) {
          seen.pulled++;
          if (i < parts.length) controller.enqueue(parts[i++]);
          else controller.close();
        },
        cancel() {
          seen.cancelled = true;
        },
      });
      return { stream };
    },
  });
  return { model, seen };
}

const tools = {
  calculator: tool({ description: 'math', inputSchema: z.object({ expression: z.string().min(1) }) }),
  client_tool: tool({ description: 'client', inputSchema: jsonSchema({ type: 'object' }) }),
};

async function collect(parts: LanguageModelV3StreamPart[]) {
  const { model, seen } = modelStreaming(parts);
  const out: CallPart[] = [];
  for await (const p of streamCall({
    model,
    messages: [{ role: 'user', content: 'hi' }],
    tools,
    activeTools: ['calculator'],
    settings: { maxOutputTokens: 50 },
    maxRetries: 0,
    abortSignal: new AbortController().signal,
  }))
    out.push(p);
  return { out, seen };
}

describe('streamCall: one upstream call, straight from the provider', () => {
  it('passes on text, checked tool calls, usage and the finish reason; offers only the active tools', async () => {
    const { out, seen } = await collect([
      { type: 'text-delta', id: 't', delta: 'Hel' },
      { type: 'text-delta', id: 't', delta: 'lo' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'calculator', input: '{"expression":"1+1"}' },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'client_tool', input: '' },
      finish('tool-calls'),
    ]);
    expect(out).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'calculator', input: { expression: '1+1' } },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'client_tool', input: {} },
      {
        type: 'finish',
        finishReason: 'tool-calls',
        usage: expect.objectContaining({ inputTokens: 7, outputTokens: 3 }),
      },
    ]);
    expect(seen.calls[0].tools?.map((t) => t.name)).toEqual(['calculator']);
    expect(seen.calls[0].maxOutputTokens).toBe(50);
  });

  it('marks a tool call whose arguments are not JSON, break the schema or name no tool as invalid', async () => {
    const { out } = await collect([
      { type: 'tool-call', toolCallId: 'a', toolName: 'calculator', input: '{"expression":' },
      { type: 'tool-call', toolCallId: 'b', toolName: 'calculator', input: '{"expression":""}' },
      { type: 'tool-call', toolCallId: 'c', toolName: 'nope', input: '{}' },
      finish('tool-calls'),
    ]);
    const calls = out.filter((p) => p.type === 'tool-call');
    expect(calls.map((c) => [c.toolCallId, c.invalid])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
    ]);
    expect(calls.map((c) => (c.invalid ? c.error.name : ''))).toEqual([
      'AI_InvalidToolInputError',
      'AI_InvalidToolInputError',
      'AI_NoSuchToolError',
    ]);
  });

  it('throws the error part of a failed stream', async () => {
    await expect(collect([{ type: 'error', error: new Error('upstream broke') }])).rejects.toThrow('upstream broke');
  });

  it('cancels the rest of the upstream answer when the consumer stops reading', async () => {
    const parts = Array.from({ length: 100 }, (_, i) => ({ type: 'text-delta', id: 't', delta: `w${i} ` }) as const);
    const { model, seen } = modelStreaming([...parts, finish('stop')]);
    let read = 0;
    for await (const p of streamCall({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      maxRetries: 0,
      abortSignal: new AbortController().signal,
    })) {
      if (p.type === 'text' && ++read === 3) break;
    }
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThan(10);
  });
});
