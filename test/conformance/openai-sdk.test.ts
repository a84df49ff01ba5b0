// The official `openai` package against the live server: every response, chunk and error checked
// against OpenAI's own schemas.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { systemFingerprint } from '../../src/http/chat-response.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectOpenAiShape } from '../support/openai-schemas.ts';
import { SCRIPTED_ANSWER, ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

let srv: TestServer;
let client: OpenAI;

beforeAll(async () => {
  srv = await startTestServer(new ScriptedOrchestrator());
  client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => srv.close());

const ask = { model: 'cortex-flow', messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };
/** Every chunk of `ask` streamed, usage included, as the official client reads them. */
async function streamedChunks(): Promise<any[]> {
  const stream = await client.chat.completions.create({
    ...ask,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks: any[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

describe('official openai client', () => {
  it('lists and retrieves models', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['cortex-flow', 'cortex-flow-supervisor']);
    const raw = await (await fetch(`${srv.baseUrl}/v1/models`)).json();
    expectOpenAiShape('ListModelsResponse', raw);
    expect((await client.models.retrieve('cortex-flow-supervisor')).id).toBe('cortex-flow-supervisor');
  });

  it('creates a completion with usage, conversation_id and metadata', async () => {
    const { data, response } = await client.chat.completions.create(ask).withResponse();
    expectOpenAiShape('CreateChatCompletionResponse', data);
    const r = data as any;
    expect(r.choices[0].message).toMatchObject({ role: 'assistant', content: SCRIPTED_ANSWER, refusal: null });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens + r.usage.completion_tokens);
    expect(r.conversation_id).toMatch(/^conv_/);
    expect(response.headers.get('x-conversation-id')).toBe(r.conversation_id);
    expect(r.metadata).toMatchObject({
      agents_used: ['researcher', 'writer'],
      iterations: 2,
      run_id: expect.stringMatching(/^run_/),
      engine: 'test-scripted',
    });
    expect(r.metadata.execution_time_seconds).toBeGreaterThanOrEqual(0);
    expect(r.metadata.upstream_usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 });
  });

  it("carries OpenAI's system_fingerprint, service_tier and usage details, the same for every answer", async () => {
    const r: any = await client.chat.completions.create({ ...ask, service_tier: 'flex' });
    expect(r.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(r.service_tier).toBe('default'); // how it was served: there is one way
    // The team's upstream tokens (cached or reasoning) are in metadata.upstream_usage, not in these.
    expect(r.usage.prompt_tokens_details).toEqual({ cached_tokens: 0, audio_tokens: 0 });
    expect(r.usage.completion_tokens_details).toEqual({
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    });
    const again: any = await client.chat.completions.create(ask);
    expect(again.system_fingerprint).toBe(r.system_fingerprint);

    const chunks = await streamedChunks();
    for (const c of chunks) {
      expectOpenAiShape('CreateChatCompletionStreamResponse', c);
      expect(c).toMatchObject({ system_fingerprint: r.system_fingerprint, service_tier: 'default' });
    }
    expect(chunks.at(-1).usage).toMatchObject({
      prompt_tokens_details: r.usage.prompt_tokens_details,
      completion_tokens_details: r.usage.completion_tokens_details,
    });
  });

  it('system_fingerprint follows the version and the models served with', () => {
    const of = (env: Record<string, string>, version = '1.0.0') => systemFingerprint(loadConfig(env), version, 'llm');
    const base = of({ CORTEX_MODEL: 'openai:gpt-4.1-mini' });
    expect(of({ CORTEX_MODEL: 'openai:gpt-4.1-mini' })).toBe(base);
    expect(of({ CORTEX_MODEL: 'openai:gpt-4.1' })).not.toBe(base);
    expect(of({ CORTEX_MODEL: 'openai:gpt-4.1-mini', CORTEX_WRITER_MODEL: 'openai:gpt-4.1' })).not.toBe(base);
    expect(of({ CORTEX_MODEL: 'openai:gpt-4.1-mini' }, '1.0.1')).not.toBe(base);
  });

  it('streams content, a finish chunk, a usage chunk, all with one id', async () => {
    const chunks = await streamedChunks();
    for (const c of chunks) expectOpenAiShape('CreateChatCompletionStreamResponse', c);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(content).toBe(SCRIPTED_ANSWER);
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(3);
    expect(chunks.some((c) => c.choices[0]?.delta?.reasoning_content?.includes('looking it up'))).toBe(true);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish.choices[0].finish_reason).toBe('stop');
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('round-trips conversation_id through the body and the X-Conversation-Id header', async () => {
    const first: any = await client.chat.completions.create({ ...ask, conversation_id: 'conv_roundtrip' } as any);
    expect(first.conversation_id).toBe('conv_roundtrip');
    const viaHeader: any = await client.chat.completions.create(ask, {
      headers: { 'X-Conversation-Id': 'conv_roundtrip' },
    });
    expect(viaHeader.conversation_id).toBe('conv_roundtrip');
    const stream = await client.chat.completions.create({
      ...ask,
      stream: true,
      conversation_id: 'conv_roundtrip',
    } as any);
    for await (const c of stream as any) expect(c.conversation_id).toBe('conv_roundtrip');
    expect((await srv.store.getMessages('conv_roundtrip')).length).toBe(6);
  });

  it('returns n choices', async () => {
    const r = await client.chat.completions.create({ ...ask, n: 2 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.choices.every((c) => c.message.content === SCRIPTED_ANSWER)).toBe(true);
  });

  it('accepts developer and tool roles and content given as parts', async () => {
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      ],
    });
    expect(r.choices[0].message.content).toBe(SCRIPTED_ANSWER);
  });

  it('raises each error status as the SDK typed error, in the OpenAI envelope', async () => {
    const bad = await client.chat.completions.create({ ...ask, temperature: 3 }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe('temperature');
    expectOpenAiShape('ErrorResponse', { error: bad.error });

    const unknownModel = await client.chat.completions.create({ ...ask, model: 'gpt-9' }).catch((e) => e);
    expect(unknownModel).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknownModel.code).toBe('model_not_found');

    const noMessages = await client.chat.completions.create({ model: 'cortex-flow', messages: [] }).catch((e) => e);
    expect(noMessages).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(noMessages.param).toBe('messages');

    const missingModel = await client.models.retrieve('nope').catch((e) => e);
    expect(missingModel).toBeInstanceOf(OpenAI.NotFoundError);

    const route: any = await client.get('/no/such/route').catch((e) => e);
    expect(route).toBeInstanceOf(OpenAI.NotFoundError);
    expectOpenAiShape('ErrorResponse', { error: route.error });
  });
});
