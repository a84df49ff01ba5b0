// Images and PDFs reach every agent that reads the user's message, in the provider's format; a
// remote image is passed on as a URL. `response_format` shapes the writer's answer through the
// provider's native structured output, checked against the schema with one repair attempt.
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { OpenAIChatCompletionsModel } from '@openai/agents-openai';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import type { ParsedFunctionToolCall } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import { calculatorTool } from '../../src/tools/calculator.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { chat, startTestServer } from '../support/app-server.ts';
import { streamChat } from '../support/http-client.ts';
import { ask } from '../support/team-script.ts';
import { startWeatherTeam, type WeatherTeam } from './weather-team.ts';

let team: WeatherTeam;
beforeAll(async () => {
  team = await startWeatherTeam({ CORTEX_VISION_MODELS: 'openai:mock-model' });
});
afterAll(() => team.close());

const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PDF = `data:application/pdf;base64,${Buffer.from('%PDF-1.4 tiny').toString('base64')}`;
const handOver = (writer: () => { text: string }) =>
  team.script((req) => (req.agent === 'writer' ? writer() : { toolCalls: [ask('writer', 'Answer the user')] }));
const userParts = (req: { body: any }) => req.body.messages.find((m: any) => m.role === 'user').content;

describe('images and files', () => {
  it('an image data URL and a PDF reach the supervisor and the writer as content parts', async () => {
    handOver(() => ({ text: 'A red pixel and a tiny PDF.' }));
    const res = await chat(team.server.baseUrl, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What are these?' },
            { type: 'image_url', image_url: { url: PNG, detail: 'low' } },
            { type: 'file', file: { filename: 'tiny.pdf', file_data: PDF } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    const [supervisor, writer] = team.upstream.requests.slice(-2);
    for (const req of [supervisor, writer]) {
      const parts = userParts(req);
      expect(parts).toContainEqual({ type: 'image_url', image_url: { url: PNG, detail: 'low' } });
      expect(parts).toContainEqual({ type: 'file', file: { filename: 'tiny.pdf', file_data: PDF } });
    }
  });

  it('with reasoning_effort high, the writer sees the image in its draft and in its final answer', async () => {
    handOver(() => ({ text: 'A red pixel.' }));
    const before = team.upstream.requests.length;
    const res = await chat(team.server.baseUrl, {
      reasoning_effort: 'high',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is it?' },
            { type: 'image_url', image_url: { url: PNG } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    const writer = team.upstream.requests.slice(before).filter((r) => r.agent === 'writer');
    expect(writer).toHaveLength(2); // the draft, then the refined answer
    for (const req of writer) expect(userParts(req)).toContainEqual({ type: 'image_url', image_url: { url: PNG } });
  });

  it('a remote image is passed to the provider as its URL, never fetched by the server', async () => {
    team.script(() => ({ text: 'A cat.' }));
    // Nothing listens on this port: a fetch by the server would fail the request.
    const url = 'https://127.0.0.1:9/cat.png';
    const res = await chat(team.server.baseUrl, {
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }],
    });
    expect(res.status).toBe(200);
    expect(userParts(team.upstream.requests.at(-1)!)).toContainEqual({ type: 'image_url', image_url: { url } });
  });
});

it('an OpenAI-compatible provider also gets a remote image as its URL (the AI SDK would download it)', async () => {
  const compatible = await startWeatherTeam((url) => ({
    CORTEX_MODEL: 'compatible:llava-13b',
    CORTEX_COMPATIBLE_BASE_URL: url,
  }));
  try {
    compatible.script(() => ({ text: 'A cat.' }));
    const url = 'https://127.0.0.1:9/cat.png';
    const res = await chat(compatible.server.baseUrl, {
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }],
    });
    expect(res.status).toBe(200);
    expect(userParts(compatible.upstream.requests.at(-1)!)).toContainEqual({ type: 'image_url', image_url: { url } });
  } finally {
    await compatible.close();
  }
});

describe('response_format', () => {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, celsius: { type: 'number' } },
    required: ['city', 'celsius'],
    additionalProperties: false,
  };
  const jsonSchema = { type: 'json_schema', json_schema: { name: 'forecast', schema, strict: true } };
  const forecast = z.object({ city: z.string(), celsius: z.number() }).strict();

  it('json_schema: asked natively, and the answer validates against the schema', async () => {
    handOver(() => ({ text: '{"city":"Paris","celsius":21}' }));
    const res = await chat(team.server.baseUrl, {
      messages: [{ role: 'user', content: 'Paris?' }],
      response_format: jsonSchema,
    });
    expect(res.status).toBe(200);
    expect(forecast.parse(JSON.parse(res.body.choices[0].message.content))).toEqual({ city: 'Paris', celsius: 21 });
    const writer = team.upstream.requests.at(-1)!;
    expect(writer.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'forecast', schema },
    });
  });

  it('a mismatch gets one repair attempt, with the reason', async () => {
    const answers = ['{"city":"Paris"}', '{"city":"Paris","celsius":21}'];
    handOver(() => ({ text: answers.shift()! }));
    const res = await chat(team.server.baseUrl, {
      stream: false,
      messages: [{ role: 'user', content: 'Paris?' }],
      response_format: jsonSchema,
    });
    expect(JSON.parse(res.body.choices[0].message.content)).toEqual({ city: 'Paris', celsius: 21 });
    const repair = team.upstream.requests.at(-1)!;
    expect(JSON.stringify(repair.body.messages)).toContain('celsius');
  });

  it('a final mismatch is an error, never invalid JSON sent as a success (JSON and stream)', async () => {
    handOver(() => ({ text: 'Sunny, 21 degrees.' }));
    const body = { messages: [{ role: 'user', content: 'Paris?' }], response_format: jsonSchema };
    const res = await chat(team.server.baseUrl, body);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('invalid_structured_output');
    const streamed = await fetch(`${team.server.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', stream: true, ...body }),
    });
    const text = await streamed.text();
    expect(text).toContain('invalid_structured_output');
    expect(text).not.toContain('Sunny');
    expect(text).not.toContain('[DONE]');
  });

  it('an answer cut by max_tokens is sent as cut, with finish_reason length, as OpenAI sends it (not a 502)', async () => {
    const whole = JSON.stringify({ city: 'Paris', celsius: 21, note: 'Sunny all afternoon, a light breeze.' });
    const body = { messages: [{ role: 'user', content: 'Paris?' }], response_format: jsonSchema, max_tokens: 5 };
    // The writer's call: the upstream stops at max_tokens (the mock's ~4 characters a token).
    handOver(() => ({ text: whole }));
    const before = team.upstream.requests.length;
    const res = await chat(team.server.baseUrl, body);
    expect(res.status).toBe(200);
    expect(res.body.choices[0].finish_reason).toBe('length');
    expect(res.body.choices[0].message.content).toBe(whole.slice(0, 20));
    // No repair attempt: a cut answer has nothing to repair.
    expect(team.upstream.requests.slice(before).filter((r) => r.agent === 'writer')).toHaveLength(1);
    handOver(() => ({ text: whole }));
    const streamed = await streamChat(team.server.baseUrl, body);
    expect(streamed.done).toBe(true);
    expect(streamed.frames.map((f) => f.choices[0]?.delta?.content ?? '').join('')).toBe(whole.slice(0, 20));
    expect(streamed.frames.find((f) => f.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
    // An agent answering directly: its answer is cut at max_tokens by the server, with the same outcome.
    team.script(() => ({ text: whole }));
    const direct = await chat(team.server.baseUrl, {
      ...body,
      model: 'cortex-flow-supervisor',
      response_format: { type: 'json_object' },
    });
    expect(direct.status).toBe(200);
    expect(direct.body.choices[0].finish_reason).toBe('length');
    expect(whole.startsWith(direct.body.choices[0].message.content)).toBe(true);
    expect(direct.body.choices[0].message.content.length).toBeLessThan(whole.length);
  });

  it("a schema's patterns are checked in linear time: an exponential pattern cannot freeze the server", async () => {
    // `^(a+)+$` on 34 a's and a '!' takes V8's backtracking engine minutes, and a test runs on the
    // event loop: without a linear-time engine this request would stall every other.
    const evil = { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } }, required: ['code'] };
    handOver(() => ({ text: JSON.stringify({ code: `${'a'.repeat(34)}!` }) }));
    const format = { type: 'json_schema', json_schema: { name: 'evil', schema: evil } };
    const res = await chat(team.server.baseUrl, {
      messages: [{ role: 'user', content: 'Code?' }],
      response_format: format,
    });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('invalid_structured_output');
    expect(res.body.error.message).toContain('must match pattern');
    // And a pattern still constrains what passes: a matching answer is sent.
    handOver(() => ({ text: JSON.stringify({ code: 'aaa' }) }));
    const ok = await chat(team.server.baseUrl, {
      messages: [{ role: 'user', content: 'Code?' }],
      response_format: format,
    });
    expect(JSON.parse(ok.body.choices[0].message.content)).toEqual({ code: 'aaa' });
  });

  it('a pattern no linear-time engine can run (a backreference) is refused before the run', async () => {
    const schema = { type: 'object', properties: { w: { type: 'string', pattern: '^(a+)\\1$' } } };
    const before = team.upstream.requests.length;
    const res = await chat(team.server.baseUrl, {
      messages: [{ role: 'user', content: 'Word?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'unsupported_schema', param: 'response_format.json_schema.schema' });
    expect(res.body.error.message).toContain('\\1');
    expect(team.upstream.requests.length).toBe(before);
  });

  it('json_object on an agent answering directly: repaired into a JSON object', async () => {
    const answers = ['Paris is sunny.', '{"summary":"Paris is sunny."}'];
    team.script(() => ({ text: answers.shift()! }));
    const res = await chat(team.server.baseUrl, {
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: 'Paris?' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(res.body.choices[0].message.content)).toEqual({ summary: 'Paris is sunny.' });
    expect(team.upstream.requests.at(-1)!.body.response_format).toEqual({ type: 'json_object' });
  });
});

describe('structured output with real clients', () => {
  const Forecast = z.object({ city: z.string(), celsius: z.number() });
  // The agent answers in prose at first, as a model without native JSON would; the repair call
  // (with the native response_format) returns the JSON.
  const proseThenJson = () =>
    team.script((req) =>
      req.body.response_format ? { text: '{"city":"Paris","celsius":21}' } : { text: 'Paris: 21 degrees.' },
    );

  it("the openai package's parse() with zodResponseFormat", async () => {
    proseThenJson();
    const client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const completion = await client.chat.completions.parse({
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: 'Paris?' }],
      response_format: zodResponseFormat(Forecast, 'forecast'),
    });
    expect(completion.choices[0].message.parsed).toEqual({ city: 'Paris', celsius: 21 });
  });

  it("the openai package's parse() with a strict zodFunction: arguments that do not fit are asked for again, never handed over", async () => {
    // An upstream that ignores `strict` (another provider, a local model) writes the arguments wrong
    // `wrong` times, then right. OpenAI guarantees a strict function's arguments fit its schema.
    const script = (wrong: number) => {
      let calls = 0;
      team.script(() => ({
        toolCalls: [
          {
            name: 'forecast',
            arguments: calls++ < wrong ? { city: 'Paris', celsius: 'warm' } : { city: 'Paris', celsius: 21 },
          },
        ],
      }));
      return () => calls;
    };
    const client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const request = {
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user' as const, content: 'Paris?' }],
      tools: [zodFunction({ name: 'forecast', parameters: Forecast })],
    };
    const once = script(1);
    const completion = await client.chat.completions.parse(request);
    expect(once()).toBe(2);
    const [call] = completion.choices[0].message.tool_calls as ParsedFunctionToolCall[];
    expect(call.function.parsed_arguments).toEqual({ city: 'Paris', celsius: 21 });
    // Wrong again after the one retry: the run fails as the upstream's fault, naming what was wrong.
    script(2);
    const error = await client.chat.completions.parse(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 502, code: 'upstream_bad_tool_call' });
    expect((error as Error).message).toContain('forecast');
    expect((error as Error).message).toContain('celsius');
  });

  it('the OpenAI Agents SDK with an output type', async () => {
    proseThenJson();
    setTracingDisabled(true);
    const client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const agent = new Agent({
      name: 'Forecaster',
      instructions: 'Give the forecast.',
      // The SDK bundles its own copy of the openai package: the client is the same at runtime.
      model: new OpenAIChatCompletionsModel(client as never, 'cortex-flow-supervisor'),
      outputType: Forecast,
    });
    const result = await run(agent, 'Paris?');
    expect(result.finalOutput).toEqual({ city: 'Paris', celsius: 21 });
  });
});

describe('the offline engine', () => {
  it('answers json_object as valid JSON {answer, sources}, and refuses a json_schema and images', async () => {
    const server = await startTestServer(
      new OfflineOrchestrator('cortex-flow', new ToolRegistry().register(calculatorTool())),
      {},
      loadConfig({}),
    );
    try {
      const ok = await chat(server.baseUrl, {
        messages: [{ role: 'user', content: 'What is 12 times 7?' }],
        response_format: { type: 'json_object' },
      });
      const answer = JSON.parse(ok.body.choices[0].message.content);
      expect(answer).toEqual({ answer: expect.stringContaining('84'), sources: [] });
      const refused = await chat(server.baseUrl, {
        messages: [{ role: 'user', content: 'What is 12 times 7?' }],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ param: 'response_format', code: 'json_schema_needs_a_model' });
      const image = await chat(server.baseUrl, {
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
      });
      expect(image.status).toBe(400);
      expect(image.body.error).toMatchObject({ param: 'messages[0].content', code: 'model_lacks_vision' });
    } finally {
      await server.close();
    }
  });
});
