// Every 400 on /v1/responses names the Responses request's own parameter, also where the check is
// one the chat path shares (message limits, media limits, tool results, the engine's refusals),
// whose own words are chat's (`messages[i].content`, `tools[i].function.name`, `response_format`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseSchema } from '../../src/agents/structured-answer.ts';
import { refuseReservedNames } from '../../src/agents/tool-names.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunRefusal, RunRequest } from '../../src/orchestrator/types.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

/** The scripted team, refusing what the real team refuses before a run: reserved tool names, unusable schemas. */
class RefusingOrchestrator extends ScriptedOrchestrator {
  refuse(request: RunRequest): RunRefusal | undefined {
    return refuseReservedNames(request.tools) ?? refuseSchema(request.generation);
  }
}

const MAX_CHARS = 200;
let team: TestServer;
let offline: TestServer;

beforeAll(async () => {
  team = await startTestServer(new RefusingOrchestrator(), {}, { maxMessages: 4, maxMessageChars: MAX_CHARS });
  offline = await startTestServer(new OfflineOrchestrator('cortex-flow', new ToolRegistry()));
});
afterAll(async () => {
  await Promise.all([team?.close(), offline?.close()]);
});

async function refused(server: TestServer, body: Record<string, unknown>) {
  const res = await fetch(`${server.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', ...body }),
  });
  const json = (await res.json()) as { error: { message: string; param: string | null; code: string | null } };
  return { status: res.status, error: json.error };
}

const long = 'x'.repeat(MAX_CHARS + 1);
const user = (content: string) => ({ role: 'user', content });

describe('message limits', () => {
  it('a message too long is named by its input item, counted as the client sent them', async () => {
    // The instructions become the run's first message: the item's index is still the request's.
    const { status, error } = await refused(team, { instructions: 'Be brief.', input: [user('hi'), user(long)] });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'input[1].content', code: 'message_too_long' });
    expect(error.message).toContain('input[1].content');
    expect(error.message).not.toContain('messages');
  });

  it('after function calls merged into one message, the item still counts', async () => {
    const input = [
      user('weather?'),
      { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{}' },
      { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: long },
      { type: 'function_call_output', call_id: 'c2', output: 'sunny' },
    ];
    const { error } = await refused(team, { input });
    expect(error).toMatchObject({ param: 'input[3].output', code: 'message_too_long' });
  });

  it('instructions or a string input too long are named as such', async () => {
    expect((await refused(team, { instructions: long, input: 'hi' })).error).toMatchObject({
      param: 'instructions',
      code: 'message_too_long',
    });
    expect((await refused(team, { input: long })).error).toMatchObject({ param: 'input', code: 'message_too_long' });
  });

  it('too many messages names the input', async () => {
    const { status, error } = await refused(team, { input: [1, 2, 3, 4, 5].map((n) => user(`m${n}`)) });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'input', code: 'too_many_messages' });
  });
});

describe('parameters OpenAI checks, and those this server does not have', () => {
  it('metadata: strings only, at most 16 pairs, keys of at most 64 characters, each named', async () => {
    expect((await refused(team, { input: 'hi', metadata: { a: 1 } })).error).toMatchObject({
      param: 'metadata.a',
      code: 'invalid_type',
      message: "Invalid type for 'metadata.a': expected string, but got a number.",
    });
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await refused(team, { input: 'hi', metadata: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.error).toMatchObject({ param: 'metadata', code: 'object_above_max_properties' });
    const longKey = await refused(team, { input: 'hi', metadata: { ['k'.repeat(65)]: 'v' } });
    expect(longKey.error.message).toContain('keys are at most 64 characters');
  });

  it('metadata: a "__proto__" key (an own property of the parsed body) is checked like any other', async () => {
    const raw = async (metadata: string) => {
      const res = await fetch(`${team.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"model":"cortex-flow","input":"hi","metadata":${metadata}}`,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const nested = await raw('{"__proto__":{"k":"v"}}');
    expect(nested.status).toBe(400);
    expect(nested.body.error).toMatchObject({ param: 'metadata.__proto__', code: 'invalid_type' });
    const long = await raw(`{"__proto__":"${'v'.repeat(513)}"}`);
    expect(long.body.error).toMatchObject({ param: 'metadata.__proto__', code: 'string_above_max_length' });
    const many = Array.from({ length: 16 }, (_, i) => `"k${i}":"v"`).join(',');
    expect((await raw(`{"__proto__":"v",${many}}`)).body.error.code).toBe('object_above_max_properties');
    // A valid one is echoed as the client sent it.
    const ok = await raw('{"__proto__":"v","a":"b"}');
    expect(ok.status).toBe(200);
    expect(Object.entries(ok.body.metadata)).toEqual(
      expect.arrayContaining([
        ['__proto__', 'v'],
        ['a', 'b'],
      ]),
    );
  });

  it("service_tier: one of OpenAI's tiers, reported as the tier that served it", async () => {
    const bad = await refused(team, { input: 'hi', service_tier: 'turbo' });
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ param: 'service_tier', code: 'invalid_value' });
    const res = await fetch(`${team.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', input: 'hi', service_tier: 'flex' }),
    });
    expect(((await res.json()) as any).service_tier).toBe('default');
  });

  it('token log probabilities (top_logprobs > 0, include message.output_text.logprobs) are refused', async () => {
    const top = await refused(team, { input: 'hi', top_logprobs: 5 });
    expect(top.status).toBe(400);
    expect(top.error).toMatchObject({ param: 'top_logprobs', code: 'unsupported_parameter' });
    const include = await refused(team, {
      input: 'hi',
      include: ['reasoning.encrypted_content', 'message.output_text.logprobs'],
    });
    expect(include.status).toBe(400);
    expect(include.error).toMatchObject({ param: 'include[1]', code: 'unsupported_value' });
    expect((await refused(team, { input: 'hi', top_logprobs: 21 })).error.param).toBe('top_logprobs');
    const res = await fetch(`${team.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', input: 'hi', top_logprobs: 0 }),
    });
    expect(res.status).toBe(200);
  });

  it("include: OpenAI's values accepted, another refused naming it; max_tool_calls echoed", async () => {
    const bogus = await refused(team, { input: 'hi', include: ['reasoning.encrypted_content', 'bogus.thing'] });
    expect(bogus.status).toBe(400);
    expect(bogus.error).toMatchObject({ param: 'include[1]', code: 'invalid_value' });
    const res = await fetch(`${team.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        input: 'hi',
        include: ['reasoning.encrypted_content'],
        max_tool_calls: 3,
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).max_tool_calls).toBe(3);
  });

  it('conversation and prompt are refused by name, never dropped', async () => {
    for (const [param, value] of [
      ['conversation', 'conv_abc'],
      ['prompt', { id: 'pmpt_1' }],
    ] as const) {
      const { status, error } = await refused(team, { input: 'hi', [param]: value });
      expect(status).toBe(400);
      expect(error).toMatchObject({ param, code: 'unsupported_parameter' });
    }
  });
});

describe('checks shared with chat', () => {
  it('too many images names the first one over the limit, as an input content part', async () => {
    const image = { type: 'input_image', image_url: 'https://example.com/a.png' };
    const content = [{ type: 'input_text', text: 'look' }, ...Array.from({ length: 17 }, () => image)];
    const { status, error } = await refused(team, { input: [{ role: 'user', content }] });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'input[0].content[17]', code: 'too_many_content_parts' });
  });

  it('a function_call_output answering no call of the request names its call_id', async () => {
    const input = [user('hi'), { type: 'function_call_output', call_id: 'nobody', output: '1' }];
    const { status, error } = await refused(team, { input });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'input[1].call_id', code: 'invalid_tool_call_id' });
    expect(error.message).toContain("'input[1].call_id'");
    // In the Responses request's words: it sent no message with role 'tool', nor 'tool_calls'.
    expect(error.message).toContain("a 'function_call_output' must answer a 'function_call'");
    expect(error.message).not.toMatch(/role 'tool'|tool_calls/);
  });

  it('a reserved tool name names tools[i].name', async () => {
    const tools = [
      { type: 'function', name: 'ok', parameters: { type: 'object' } },
      { type: 'function', name: 'cortex__ask_writer', parameters: { type: 'object' } },
    ];
    const { status, error } = await refused(team, { input: 'hi', tools });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'tools[1].name', code: 'reserved_tool_name' });
    expect(error.message).toContain('tools[1].name');
    expect(error.message).not.toContain('function.name');
  });

  it('a schema the answer cannot be checked against names text.format.schema', async () => {
    const format = { type: 'json_schema', name: 'x', schema: { $ref: '#/definitions/missing' } };
    const { status, error } = await refused(team, { input: 'hi', text: { format } });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'text.format.schema', code: 'unsupported_schema' });
    expect(error.message).not.toContain('response_format');
  });
});

describe("the offline engine's refusals", () => {
  it('an image it cannot read names the input item; a json_schema names text.format', async () => {
    const image = await refused(offline, {
      input: [
        user('first'),
        { role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] },
      ],
    });
    expect(image.error).toMatchObject({ param: 'input[1].content', code: 'model_lacks_vision' });
    const schema = await refused(offline, {
      input: 'hi',
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } },
    });
    expect(schema.error).toMatchObject({ param: 'text.format', code: 'json_schema_needs_a_model' });
    expect(schema.error.message).toContain("'text.format'");
    expect(schema.error.message).not.toContain('response_format');
  });
});
