// Two more real clients against the live server: LangChain's ChatOpenAI and the AI SDK's
// OpenAI-compatible provider, each invoking and streaming.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { SCRIPTED_ANSWER, ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer(new ScriptedOrchestrator());
});
afterAll(() => srv.close());

describe("LangChain's ChatOpenAI", () => {
  const model = () =>
    new ChatOpenAI({
      model: 'cortex-flow',
      apiKey: 'unused',
      configuration: { baseURL: `${srv.baseUrl}/v1` },
      maxRetries: 0,
    });

  it('invokes', async () => {
    const reply = await model().invoke('What is the capital of France?');
    expect(reply.content).toBe(SCRIPTED_ANSWER);
    expect(reply.usage_metadata?.total_tokens).toBeGreaterThan(0);
  });

  it('streams', async () => {
    let text = '';
    let pieces = 0;
    for await (const chunk of await model().stream('What is the capital of France?')) {
      if (typeof chunk.content === 'string' && chunk.content) {
        text += chunk.content;
        pieces++;
      }
    }
    expect(text).toBe(SCRIPTED_ANSWER);
    expect(pieces).toBeGreaterThan(3);
  });
});

describe("the AI SDK's OpenAI-compatible provider", () => {
  const provider = () => createOpenAICompatible({ name: 'cortex', baseURL: `${srv.baseUrl}/v1`, includeUsage: true });

  it('generates text', async () => {
    const r = await generateText({ model: provider()('cortex-flow'), prompt: 'What is the capital of France?' });
    expect(r.text).toBe(SCRIPTED_ANSWER);
    expect(r.finishReason).toBe('stop');
    expect(r.usage.outputTokens).toBeGreaterThan(0);
  });

  it('streams text with usage', async () => {
    const r = streamText({ model: provider()('cortex-flow'), prompt: 'What is the capital of France?' });
    const parts: string[] = [];
    for await (const t of r.textStream) parts.push(t);
    expect(parts.join('')).toBe(SCRIPTED_ANSWER);
    expect(parts.length).toBeGreaterThan(3);
    expect((await r.usage).inputTokens).toBeGreaterThan(0);
  });
});
