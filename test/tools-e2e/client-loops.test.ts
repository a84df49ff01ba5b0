// Real client tool loops, run unmodified against the live server and the real team (in-suite
// upstream): each client calls the tool itself, sends the result back, and gets the final answer
// built from that result. On the single-agent models the client's tools go to that agent's model;
// on the team model the run pauses and resumes around them.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, run, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { OpenAIChatCompletionsModel } from '@openai/agents-openai';
import { generateText, hasToolCall, stepCountIs, tool } from 'ai';
import OpenAI from 'openai';
import type { RunnableToolFunctionWithParse } from 'openai/lib/RunnableFunction';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LONG_NOTE, startWeatherTeam, WEATHER_PARAMETERS, weatherScript, type WeatherTeam } from './weather-team.ts';

let team: WeatherTeam;
let client: OpenAI;
const RESULT = 'ZX-SUNNY-21C';

beforeAll(async () => {
  setTracingDisabled(true); // the Agents SDK would otherwise export traces to OpenAI
  team = await startWeatherTeam();
  client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => team.close());

describe("the openai package's runTools", () => {
  for (const model of ['cortex-flow-supervisor', 'cortex-flow']) {
    it(`completes the loop on ${model}`, async () => {
      const seen: unknown[] = [];
      const runner = client.chat.completions.runTools({
        model,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather of a city',
              parameters: WEATHER_PARAMETERS,
              parse: (text: string) => JSON.parse(text) as { city: string; note?: string },
              function: (args: { city: string; note?: string }) => {
                seen.push(args);
                return RESULT;
              },
            },
          } satisfies RunnableToolFunctionWithParse<{ city: string; note?: string }>,
        ],
      });
      const content = await runner.finalContent();
      expect(seen).toEqual([{ city: 'Paris', note: LONG_NOTE }]);
      expect(content).toContain(RESULT);
      expect(content).toBe(model === 'cortex-flow' ? `The writer says: ${RESULT}` : `The weather: ${RESULT}`);
    });
  }
});

it("the AI SDK's generateText runs the tool over several steps", async () => {
  const provider = createOpenAICompatible({ name: 'cortex', baseURL: `${team.server.baseUrl}/v1` });
  const result = await generateText({
    model: provider('cortex-flow-supervisor'),
    prompt: 'Weather in Paris?',
    tools: {
      get_weather: tool({
        description: 'The weather of a city',
        inputSchema: z.object({ city: z.string(), note: z.string().optional() }),
        execute: async ({ city }) => `${RESULT} in ${city}`,
      }),
    },
    stopWhen: stepCountIs(4),
  });
  expect(result.steps).toHaveLength(2);
  expect(result.steps[0].toolCalls.map((c) => c.toolName)).toEqual(['get_weather']);
  expect(result.text).toBe(`The weather: ${RESULT} in Paris`);
});

it("the AI SDK's answer-tool loop: toolChoice 'required' gets a call on every step, the resumed one too", async () => {
  // The AI SDK's pattern for a structured final answer: a tool without `execute` that ends the loop,
  // and `toolChoice: 'required'` on every step. The model calls `answer` only when it must call.
  team.script((req) => {
    const result = [...req.body.messages].reverse().find((m: any) => m.role === 'tool')?.content;
    if (result === undefined) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
    if (req.body.tool_choice === 'required') return { toolCalls: [{ name: 'answer', arguments: { summary: result } }] };
    return { text: `The weather: ${result}` };
  });
  const provider = createOpenAICompatible({ name: 'cortex', baseURL: `${team.server.baseUrl}/v1` });
  try {
    for (const model of ['cortex-flow-supervisor', 'cortex-flow']) {
      const result = await generateText({
        model: provider(model),
        prompt: 'Weather in Paris?',
        toolChoice: 'required',
        tools: {
          get_weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async () => RESULT }),
          answer: tool({ inputSchema: z.object({ summary: z.string() }) }),
        },
        stopWhen: hasToolCall('answer'),
      });
      expect(
        result.steps.map((s) => s.toolCalls.map((c) => c.toolName)),
        model,
      ).toEqual([['get_weather'], ['answer']]);
      expect(result.steps[1].toolCalls[0].input).toEqual({ summary: RESULT });
    }
  } finally {
    team.script(weatherScript);
  }
});

it("LangChain's bindTools with a tool message round trip", async () => {
  const model = new ChatOpenAI({
    model: 'cortex-flow-supervisor',
    apiKey: 'unused',
    configuration: { baseURL: `${team.server.baseUrl}/v1` },
    maxRetries: 0,
  }).bindTools([
    { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: WEATHER_PARAMETERS } },
  ]);
  const question = new HumanMessage('Weather in Paris?');
  const ai = await model.invoke([question]);
  expect(ai.tool_calls).toEqual([
    expect.objectContaining({ name: 'get_weather', args: { city: 'Paris', note: LONG_NOTE } }),
  ]);
  const final = await model.invoke([
    question,
    ai,
    new ToolMessage({ tool_call_id: ai.tool_calls![0].id!, content: RESULT }),
  ]);
  expect(final.content).toBe(`The weather: ${RESULT}`);
});

it('the OpenAI Agents SDK on its Chat Completions model, with a function tool', async () => {
  const getWeather = agentTool({
    name: 'get_weather',
    description: 'The weather of a city',
    parameters: z.object({ city: z.string(), note: z.string().nullable() }),
    execute: async ({ city }) => `${RESULT} (${city})`,
  });
  const agent = new Agent({
    name: 'Forecaster',
    instructions: 'Answer with the weather.',
    // The SDK bundles its own copy of the openai package: the client is the same at runtime.
    model: new OpenAIChatCompletionsModel(client as never, 'cortex-flow-supervisor'),
    tools: [getWeather],
  });
  const result = await run(agent, 'Weather in Paris?');
  expect(result.finalOutput).toBe(`The weather: ${RESULT} (Paris)`);
});

describe('a streamed tool call', () => {
  it("is reassembled by the openai package's stream helper", async () => {
    const stream = client.chat.completions.stream({
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } }],
    });
    const done: string[] = [];
    stream.on('tool_calls.function.arguments.done', (e) => done.push(e.arguments));
    const final = await stream.finalChatCompletion();
    const message = final.choices[0].message;
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    const call = message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', note: LONG_NOTE });
    expect(done).toEqual([call.function.arguments]);
  });

  it("follows OpenAI's delta rules: id, type and name first, then argument fragments, then finish_reason", async () => {
    const res = await fetch(`${team.server.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow-supervisor',
        stream: true,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } }],
      }),
    });
    const frames = (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)));
    const deltas = frames.flatMap((f) => f.choices.map((c: any) => c.delta.tool_calls)).filter(Boolean);
    expect(deltas[0]).toEqual([
      { index: 0, id: expect.any(String), type: 'function', function: { name: 'get_weather', arguments: '' } },
    ]);
    const fragments = deltas.slice(1).map((d) => d[0]);
    expect(fragments.length).toBeGreaterThan(1);
    for (const f of fragments) expect(Object.keys(f).sort()).toEqual(['function', 'index']);
    expect(JSON.parse(fragments.map((f) => f.function.arguments).join(''))).toEqual({ city: 'Paris', note: LONG_NOTE });
    const last = frames.filter((f) => f.choices.length).at(-1);
    expect(last.choices[0].finish_reason).toBe('tool_calls');
  });
});
