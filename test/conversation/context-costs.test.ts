// What a context costs and how it is fitted, as a client sees it: `usage` counts the tool calls and
// images the agents are sent, the window holds them to OPENAI_COMPAT_MAX_CONTEXT_TOKENS, and
// `truncation: "disabled"` refuses whatever does not fit (a kept response or not).
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const WINDOW = 256;
let srv: TestServer;
const team = new RecordingOrchestrator();

beforeAll(async () => {
  srv = await startTestServer(team, {
    OPENAI_COMPAT_MAX_CONTEXT_TOKENS: String(WINDOW),
    OPENAI_COMPAT_TOKEN_MODEL: 'gpt-4o',
  });
});
afterAll(() => srv.close());
beforeEach(() => {
  team.inputs.length = 0;
  team.options = {};
});

const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
// Each history starts apart: id-less histories that begin alike continue one stored conversation.
const historyWithCall = (args: string, question: string) => [
  { role: 'user', content: question },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: args } }],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'found' },
  { role: 'user', content: 'thanks, and now?' },
];

const responses = async (body: Record<string, unknown>) => {
  const res = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', ...body }),
  });
  return { status: res.status, body: (await res.json()) as any };
};

describe('the cost of a context', () => {
  it("counts an assistant's tool call (name and arguments) in prompt_tokens", async () => {
    const args = JSON.stringify({ query: 'the quarterly revenue of the northern region' });
    const withCall = await chat(srv.baseUrl, { messages: historyWithCall(args, 'find one'), tools });
    const bare = await chat(srv.baseUrl, { messages: historyWithCall('', 'find two'), tools });
    expect(withCall.status).toBe(200);
    expect(withCall.body.usage.prompt_tokens - bare.body.usage.prompt_tokens).toBe(countTokens(args));
  });

  it('drops a tool call too long for the window together with its result', async () => {
    const args = JSON.stringify({ query: 'word '.repeat(1000) });
    const r = await chat(srv.baseUrl, { messages: historyWithCall(args, 'find every word'), tools });
    expect(r.status).toBe(200);
    const context = team.inputs.at(-1)!.messages;
    expect(context).toEqual([{ role: 'user', content: 'thanks, and now?' }]);
    expect(r.body.usage.prompt_tokens).toBeLessThanOrEqual(WINDOW);
  });

  // OpenAI's price of an image: 85 tokens at low detail; at high, 85 + 170 per 512-pixel tile, four
  // for a square image (its size is unknown here: images are passed on, not fetched).
  it("counts an image's tokens in prompt_tokens, by its detail", async () => {
    const withImage = (detail: string) =>
      chat(srv.baseUrl, {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail } },
            ],
          },
        ],
      });
    const text = await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'what is this?' }] });
    const low = await withImage('low');
    const high = await withImage('high');
    expect(low.body.usage.prompt_tokens - text.body.usage.prompt_tokens).toBe(85);
    expect(high.body.usage.prompt_tokens - text.body.usage.prompt_tokens).toBe(765);
  });
});

describe("truncation 'disabled'", () => {
  const tooLong = 'word '.repeat(WINDOW * 2);

  it('refuses a single input larger than the window', async () => {
    const r = await responses({ input: tooLong, truncation: 'disabled' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' });
    expect(team.inputs).toHaveLength(0);
  });

  it('refuses instructions that alone exceed the window', async () => {
    const r = await responses({ instructions: tooLong, input: 'hi', truncation: 'disabled' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('context_length_exceeded');
  });

  it('refuses an input that does not fit when the response is not kept (store: false)', async () => {
    const r = await responses({ input: tooLong, truncation: 'disabled', store: false });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('context_length_exceeded');
  });

  it('answers an input that fits', async () => {
    const r = await responses({ input: 'hi', truncation: 'disabled', store: false });
    expect(r.status).toBe(200);
  });
});

describe('a response that is not kept (store: false)', () => {
  it('is fitted to the window: instructions kept, the oldest items dropped, counted as sent', async () => {
    const turn = (i: number) => `turn ${i} ` + 'lorem ipsum dolor sit amet '.repeat(6);
    const input = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: turn(i) }));
    const r = await responses({ instructions: 'Keep me.', input, store: false });
    expect(r.status).toBe(200);
    const context = team.inputs.at(-1)!.messages;
    expect(context[0]).toEqual({ role: 'system', content: 'Keep me.' });
    expect(context.at(-1)!.content).toBe(turn(11));
    expect(context.length).toBeLessThan(1 + 12);
    expect(r.body.usage.input_tokens).toBe(srv.deps.tokens.countChat(context));
    expect(r.body.usage.input_tokens).toBeLessThanOrEqual(WINDOW);
  });
});
