// Real Responses API clients, unmodified, against the live server: the `openai` package's
// responses.create / .stream / .retrieve, the OpenAI Agents SDK's default (Responses) model running
// a function tool to completion, and the AI SDK's openai.responses(...) with generateText and
// streamText. The tool run uses the real team against the in-suite scripted upstream.
import { createOpenAI } from '@ai-sdk/openai';
import {
  Agent,
  OpenAIProvider,
  run,
  Runner,
  setDefaultOpenAIClient,
  setOpenAIAPI,
  setTracingDisabled,
  tool,
} from '@openai/agents';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { expectEventShape, expectResponseShape } from '../support/open-responses-schemas.ts';
import { PausingOrchestrator } from '../support/pausing-orchestrator.ts';
import { SCRIPTED_ANSWER, ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';
import { ScriptBook, teamScript } from '../support/team-script.ts';

let scripted: TestServer;
let teamServer: TestServer;
let upstream: MockUpstream;
let book: ScriptBook;
let client: OpenAI;

beforeAll(async () => {
  scripted = await startTestServer(new ScriptedOrchestrator());
  client = new OpenAI({ baseURL: `${scripted.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  const config = loadConfig({
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test-secret',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_LOG_LEVEL: 'silent',
  });
  teamServer = await startTestServer(createTeam(config, new ToolRegistry()));
});
afterAll(async () => {
  await Promise.all([scripted?.close(), teamServer?.close()]);
  await upstream?.close();
});

describe('the openai package', () => {
  it('responses.create, then responses.retrieve gives the same response back', async () => {
    const created = await client.responses.create({ model: 'cortex-flow', input: 'What is the capital of France?' });
    expectResponseShape(created);
    expect(created.output_text).toBe(SCRIPTED_ANSWER);
    expect(created.status).toBe('completed');
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);
    const items = await client.responses.inputItems.list(created.id);
    expect(items.data.map((i: any) => i.content[0].text)).toEqual(['What is the capital of France?']);
    await client.responses.delete(created.id);
    await expect(client.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('responses.stream: text deltas as they come, and the final response', async () => {
    const stream = client.responses.stream({ model: 'cortex-flow', input: 'What is the capital of France?' });
    const deltas: string[] = [];
    const types: string[] = [];
    for await (const event of stream) {
      expectEventShape(event);
      types.push(event.type);
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
    }
    const final = await stream.finalResponse();
    expectResponseShape(final);
    expect(deltas.join('')).toBe(SCRIPTED_ANSWER);
    expect(final.output_text).toBe(SCRIPTED_ANSWER);
    expect(types.at(-1)).toBe('response.completed');
    expect((await client.responses.retrieve(final.id)).output_text).toBe(SCRIPTED_ANSWER);
  });
});

/** The Agents SDK bundles its own copy of `openai`: the same client class, another declaration of it. */
type AgentsClient = Parameters<typeof setDefaultOpenAIClient>[0];
const agentsClient = (baseUrl: string) =>
  new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 }) as unknown as AgentsClient;

describe('the OpenAI Agents SDK (Responses model by default)', () => {
  it('runs an agent with a function tool to completion: the team pauses for the tool and resumes', async () => {
    const tag = book.add(
      'agents',
      teamScript('agents', { plan: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] } }),
    );
    setDefaultOpenAIClient(agentsClient(teamServer.baseUrl));
    setOpenAIAPI('responses');
    setTracingDisabled(true);
    const calls: string[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'The weather of a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `ZX-${city} 25 C`;
      },
    });
    const agent = new Agent({ name: 'Assistant', instructions: 'Help.', model: 'cortex-flow', tools: [getWeather] });
    const result = await run(agent, `What to wear in Rome today? [[${tag}]]`);
    expect(calls).toEqual(['Rome']);
    expect(result.finalOutput).toBe(`The answer is 42. [[${tag}]]`);
    // The tool's result reached the writer through the resumed run.
    expect(JSON.stringify(book.requests(tag, 'writer')[0].body.messages)).toContain('ZX-Rome 25 C');
    expect(book.requests(tag, 'supervisor').length).toBeGreaterThanOrEqual(2);
  });

  it('the history it replays (function_call and function_call_output items) resumes the paused run', async () => {
    const pauser = new PausingOrchestrator();
    const server = await startTestServer(pauser);
    try {
      // The default provider keeps the client it made first: this server gets a runner of its own.
      const runner = new Runner({
        modelProvider: new OpenAIProvider({
          openAIClient: agentsClient(server.baseUrl),
          useResponses: true,
        }),
      });
      const lookupOrder = tool({
        name: 'lookup_order',
        description: 'Looks an order up',
        parameters: z.object({ id: z.number() }),
        execute: async ({ id }) => `order ${id} shipped`,
      });
      const agent = new Agent({ name: 'Shop', instructions: 'Help.', model: 'cortex-flow', tools: [lookupOrder] });
      const result = await runner.run(agent, 'Where is order 42?');
      expect(result.finalOutput).toBe('From earlier research (order 42 exists) and your tool (order 42 shipped).');
      expect(pauser.researchCalls).toBe(1); // resumed from its checkpoint, not researched again
    } finally {
      await server.close();
    }
  });
});

describe("the AI SDK's openai.responses(...)", () => {
  const model = () => createOpenAI({ baseURL: `${scripted.baseUrl}/v1`, apiKey: 'unused' }).responses('cortex-flow');

  it('generateText: the answer, the progress as reasoning, the usage', async () => {
    const result = await generateText({ model: model(), prompt: 'What is the capital of France?' });
    expect(result.text).toBe(SCRIPTED_ANSWER);
    expect(result.reasoningText).toContain('looking it up');
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it('streamText: the text in several parts adding up to the answer', async () => {
    const result = streamText({ model: model(), prompt: 'What is the capital of France?' });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.join('')).toBe(SCRIPTED_ANSWER);
    expect(await result.finishReason).toBe('stop');
  });
});
