// The lean path of an OpenAI-wire upstream (src/llm/openai-wire.ts) against the AI SDK's own
// `doStream()`, both talking to one in-test server that captures each request's bytes and answers
// with scripted bytes. What a user relies on must not change with the path: the request (body byte
// for byte, headers), what the call yields (text, checked tool calls, finish reason, usage), how
// it fails (the same errors, classified the same), retries, aborts and the silence timeout.
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { jsonSchema, tool } from 'ai';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keepAlivePool } from '../../src/llm/http-fetch.ts';
import { streamCall, type CallPart, type ModelCall } from '../../src/llm/model-call.ts';
import { withOpenAIWire } from '../../src/llm/openai-wire.ts';
import { ProviderRegistry, type ProviderSettings } from '../../src/llm/providers.ts';
import { offersParts, openParts } from '../../src/llm/part-reader.ts';
import { guardModel } from '../../src/llm/stream-guard.ts';
import { classifyError } from '../../src/llm/upstream-error.ts';

// --- the upstream: records each request, answers from a queue of scripted replies ---------------

interface Captured {
  body: string;
  headers: IncomingHttpHeaders;
  closedEarly: boolean;
}
interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  /** Written one by one, each flushed before the next (separate TCP writes). */
  pieces?: (string | Buffer)[];
  /** Destroy the socket after the pieces instead of ending the response. */
  cut?: boolean;
  /** Leave the response open after the pieces. */
  hold?: boolean;
}

const captured: Captured[] = [];
let replies: Scripted[] = [];
const held: ServerResponse[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const record: Captured = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, closedEarly: false };
    captured.push(record);
    res.on('close', () => (record.closedEarly = !res.writableFinished));
    const reply = replies.shift() ?? { status: 500, pieces: ['{"error":{"message":"no reply scripted"}}'] };
    res.writeHead(reply.status ?? 200, {
      'content-type': reply.status && reply.status !== 200 ? 'application/json' : 'text/event-stream',
      ...reply.headers,
    });
    for (const piece of reply.pieces ?? []) {
      await new Promise<void>((resolve) => res.write(piece, () => setTimeout(resolve, 2)));
    }
    if (reply.cut) res.socket?.destroy();
    else if (reply.hold) held.push(res);
    else res.end();
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
afterAll(() => {
  for (const r of held) r.destroy();
  server.close();
});
beforeEach(() => {
  captured.length = 0;
  replies = [];
});

// --- the models: the SDK's as the registry builds them, and the same with the lean path ---------

const pool = keepAlivePool();
function openaiModels(modelId = 'gpt-4.1-mini') {
  const sdk = createOpenAI({ apiKey: 'sk-test', baseURL, fetch: pool.fetch }).chat(modelId);
  return { sdk: sdk as LanguageModelV3, lean: withOpenAIWire(sdk, pool, 'openai') };
}
function compatibleModels(modelId = 'llama3') {
  const sdk = createOpenAICompatible({
    name: 'compatible',
    baseURL,
    apiKey: 'key-test',
    includeUsage: true,
    fetch: pool.fetch,
  })(modelId);
  return { sdk: sdk as LanguageModelV3, lean: withOpenAIWire(sdk, pool, 'compatible') };
}

const chunk = (delta: unknown, extra: Record<string, unknown> = {}, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
const usageChunk = (usage: unknown) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage })}\n\n`;
const DONE = 'data: [DONE]\n\n';
const USAGE = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
const textAnswer = (...texts: string[]) => [
  chunk({ role: 'assistant', content: '' }),
  ...texts.map((t) => chunk({ content: t })),
  chunk({}, {}, 'stop'),
  usageChunk(USAGE),
  DONE,
];

const user = (text: string): LanguageModelV3CallOptions['prompt'][number] => ({
  role: 'user',
  content: [{ type: 'text', text }],
});

/** Every part of one call, read through the SDK's `doStream()` or the lean `openParts`. */
async function parts(model: LanguageModelV3, options: LanguageModelV3CallOptions, lean: boolean) {
  const reader = lean ? await openParts(model, options) : (await model.doStream(options)).stream.getReader();
  const out: LanguageModelV3StreamPart[] = [];
  while (true) {
    const next = await reader.read();
    if (next.done) return out;
    out.push(next.value);
  }
}

/**
 * The parts a caller acts on, with what it reads of them: the SDK adds markers (text-start...),
 * part ids and empty provider metadata that nothing downstream reads.
 */
type Seen =
  | { type: 'text-delta' | 'reasoning-delta'; delta: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: string }
  | { type: 'finish'; finishReason: unknown; usage: unknown }
  | { type: 'error'; error: unknown };
const meaningful = (ps: LanguageModelV3StreamPart[]): Seen[] =>
  ps.flatMap((p): Seen[] => {
    switch (p.type) {
      case 'text-delta':
      case 'reasoning-delta':
        return [{ type: p.type, delta: p.delta }];
      case 'tool-call':
        return [{ type: p.type, toolCallId: p.toolCallId, toolName: p.toolName, input: p.input }];
      case 'finish':
        return [{ type: p.type, finishReason: p.finishReason, usage: p.usage }];
      case 'error':
        return [{ type: p.type, error: p.error }];
      default:
        return [];
    }
  });

/** The same reply answered to the SDK's call, then to the lean call: both requests and both results. */
async function bothWays(
  models: { sdk: LanguageModelV3; lean: LanguageModelV3 },
  options: LanguageModelV3CallOptions,
  reply: Scripted,
) {
  replies = [reply, reply];
  const sdk = meaningful(await parts(models.sdk, options, false));
  const lean = meaningful(await parts(models.lean, options, true));
  const [sdkRequest, leanRequest] = captured;
  return { sdk, lean, sdkRequest: sdkRequest!, leanRequest: leanRequest! };
}

const calculator = {
  type: 'function' as const,
  name: 'calculator',
  description: 'Evaluates an arithmetic expression.',
  inputSchema: {
    type: 'object',
    properties: { expression: { type: 'string' } },
    required: ['expression'],
    additionalProperties: false,
  },
};

const representative: [string, () => { sdk: LanguageModelV3; lean: LanguageModelV3 }, LanguageModelV3CallOptions][] = [
  ['plain', () => openaiModels(), { prompt: [{ role: 'system', content: 'Be brief.' }, user('Hello')] }],
  [
    'tools and a named tool choice',
    () => openaiModels(),
    {
      prompt: [
        user('What is 2+2?'),
        {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'calculator', input: { expression: '1+1' } }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'call_1',
              toolName: 'calculator',
              output: { type: 'text', value: '2' },
            },
          ],
        },
      ],
      tools: [calculator],
      toolChoice: { type: 'tool', toolName: 'calculator' },
    },
  ],
  [
    'images and a PDF',
    () => openaiModels('gpt-4o'),
    {
      prompt: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            {
              type: 'file',
              data: new URL('https://example.com/cat.png'),
              mediaType: 'image/*',
              providerOptions: { openai: { imageDetail: 'low' } },
            },
            { type: 'file', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
            { type: 'file', data: 'JVBERi0xLjQ=', mediaType: 'application/pdf', filename: 'a.pdf' },
          ],
        },
      ],
    },
  ],
  [
    'a json_schema response format',
    () => openaiModels(),
    {
      prompt: [user('A city, as JSON')],
      responseFormat: {
        type: 'json',
        name: 'city',
        schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    },
  ],
  [
    'a reasoning effort on a reasoning model, with an output budget',
    () => openaiModels('o3-mini'),
    {
      prompt: [{ role: 'system', content: 'Think.' }, user('Why?')],
      maxOutputTokens: 300,
      temperature: 0.3,
      providerOptions: { openai: { reasoningEffort: 'low', user: 'u-1' } },
    },
  ],
  [
    'stop sequences and sampling',
    () => openaiModels(),
    {
      prompt: [user('Count')],
      stopSequences: ['5', '\n\n'],
      temperature: 0.7,
      topP: 0.9,
      frequencyPenalty: 0.1,
      presencePenalty: 0.2,
      seed: 42,
      maxOutputTokens: 64,
      toolChoice: { type: 'none' },
      tools: [calculator],
    },
  ],
  [
    'an OpenAI-compatible server, with tools and a raw provider option',
    () => compatibleModels(),
    {
      prompt: [{ role: 'system', content: 'Be brief.' }, user('Hi')],
      tools: [calculator],
      toolChoice: { type: 'auto' },
      maxOutputTokens: 20,
      providerOptions: { compatible: { reasoningEffort: 'high', top_k: 40 } },
    },
  ],
];

describe('the lean OpenAI-wire path: the request is the SDK’s', () => {
  it('is offered by the OpenAI and OpenAI-compatible providers, and other models are left as they are', () => {
    const registry = new ProviderRegistry({
      openaiApiKey: 'sk-test',
      anthropicApiKey: 'sk-ant',
      ollamaBaseUrl: baseURL,
      compatibleBaseUrl: baseURL,
    } as ProviderSettings);
    for (const name of ['openai:gpt-4.1-mini', 'ollama:llama3', 'compatible:qwen'])
      expect(offersParts(registry.resolve(name).model as LanguageModelV3)).toBe(true);
    expect(offersParts(registry.resolve('anthropic:claude-sonnet-4-5').model as LanguageModelV3)).toBe(false);
    // The silence guard passes the lean reading on.
    expect(offersParts(guardModel(openaiModels().lean, { timeoutMs: 1000, retries: 0 }))).toBe(true);
    const other = { specificationVersion: 'v3', provider: 'x', modelId: 'y', supportedUrls: {} } as never;
    expect(withOpenAIWire(other, pool, 'openai')).toBe(other);
  });

  it.each(representative)('sends the same bytes and headers as the SDK: %s', async (_name, models, options) => {
    const { sdk, lean, sdkRequest, leanRequest } = await bothWays(models(), options, { pieces: textAnswer('ok') });
    expect(leanRequest.body).toBe(sdkRequest.body);
    const { host: _h1, connection: _c1, ...sdkHeaders } = sdkRequest.headers;
    const { host: _h2, connection: _c2, ...leanHeaders } = leanRequest.headers;
    expect(leanHeaders).toEqual(sdkHeaders);
    expect(leanHeaders['user-agent']).toMatch(/ai-sdk\/provider-utils\/\S+ runtime\//);
    expect(leanHeaders.authorization).toMatch(/^Bearer (sk|key)-test$/);
    expect(JSON.parse(leanRequest.body)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(lean).toEqual(sdk);
  });
});

describe('the lean OpenAI-wire path: reading the answer', () => {
  const options: LanguageModelV3CallOptions = { prompt: [user('Hi')] };

  it('reads an answer split anywhere across TCP writes, multi-byte characters included, as the SDK does', async () => {
    const whole = textAnswer('Grüße ', 'aus ', 'Köln 🌍').join('');
    const bytes = Buffer.from(whole, 'utf8');
    // Cut every 7 bytes: inside JSON, inside "data:", between the two newlines, inside UTF-8 sequences.
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    const { sdk, lean } = await bothWays(openaiModels(), options, { pieces });
    expect(lean).toEqual(sdk);
    const text = lean.flatMap((p) => (p.type === 'text-delta' ? [p.delta] : [])).join('');
    expect(text).toBe('Grüße aus Köln 🌍');
    expect(lean.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' } });
  });

  it('reads CRLF and lone-CR line ends, comments and other fields, with CRLF split between writes', async () => {
    const crlf = textAnswer('one ', 'two').map((f) => f.replaceAll('\n', '\r\n'));
    const pieces = [': keep-alive\r\n\r\n', 'event: message\r\n', ...crlf.slice(0, 2), crlf[2]!.slice(0, -1), '\n'];
    // An event whose data spans two lines (joined by a newline), its CRLF split between writes.
    pieces.push('data: {"id":"c1","choices":[{"index":0,\r', '\ndata: "delta":{"content":" three"}}]}\r\n\r\n');
    pieces.push(...crlf.slice(3).map((f) => f.replaceAll('\r\n', '\r')));
    const { sdk, lean } = await bothWays(openaiModels(), options, { pieces });
    expect(lean).toEqual(sdk);
    expect(lean.filter((p) => p.type === 'text-delta').map((p) => (p as { delta: string }).delta)).toEqual([
      '',
      'one ',
      'two',
      ' three',
    ]);
  });

  it('assembles tool calls sent in pieces, in parallel, with their usage details', async () => {
    const pieces = [
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'calculator', arguments: '' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expre' } }] }),
      chunk({
        tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'calculator', arguments: '{"ex' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ssion":"1+1"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: 'pression":"2*3"}' } }] }),
      chunk({}, {}, 'tool_calls'),
      usageChunk({
        ...USAGE,
        prompt_tokens_details: { cached_tokens: 8 },
        completion_tokens_details: { reasoning_tokens: 3 },
      }),
      DONE,
    ];
    const { sdk, lean } = await bothWays(openaiModels(), { ...options, tools: [calculator] }, { pieces });
    expect(lean).toEqual(sdk);
    expect(lean.filter((p) => p.type === 'tool-call')).toEqual([
      { type: 'tool-call', toolCallId: 'call_a', toolName: 'calculator', input: '{"expression":"1+1"}' },
      { type: 'tool-call', toolCallId: 'call_b', toolName: 'calculator', input: '{"expression":"2*3"}' },
    ]);
    expect(lean.at(-1)).toMatchObject({
      finishReason: { unified: 'tool-calls' },
      usage: {
        inputTokens: { total: 12, cacheRead: 8, noCache: 4 },
        outputTokens: { total: 5, reasoning: 3, text: 2 },
      },
    });
  });

  it('reads an OpenAI-compatible server’s reasoning, and its stream that ends without a finish reason', async () => {
    const pieces = [chunk({ reasoning_content: 'hmm' }), chunk({ content: 'Hi' }), DONE];
    const { sdk, lean } = await bothWays(compatibleModels(), options, { pieces });
    expect(lean).toEqual(sdk);
    expect(lean.map((p) => p.type)).toEqual(['reasoning-delta', 'text-delta', 'error', 'finish']);
    expect(lean.at(-1)).toMatchObject({ finishReason: { unified: 'error' } });
  });

  it('reads content as parts with thinking, and tool calls sent without an index, as the compatible SDK does', async () => {
    const pieces = [
      chunk({
        content: [
          { type: 'thinking', thinking: [{ type: 'text', text: 'Let me see.' }] },
          { type: 'text', text: 'Computing.' },
        ],
      }),
      chunk({ tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'calculator', arguments: '{"ex' } }] }),
      chunk({ tool_calls: [{ function: { arguments: 'pression":"6*7"}' } }] }),
      chunk({}, {}, 'tool_calls'),
      usageChunk(USAGE),
      DONE,
    ];
    const { sdk, lean } = await bothWays(compatibleModels(), { ...options, tools: [calculator] }, { pieces });
    expect(lean).toEqual(sdk);
    expect(lean.slice(0, 3)).toEqual([
      { type: 'reasoning-delta', delta: 'Let me see.' },
      { type: 'text-delta', delta: 'Computing.' },
      { type: 'tool-call', toolCallId: 'call_x', toolName: 'calculator', input: '{"expression":"6*7"}' },
    ]);
  });

  it('passes on an error frame after the answer began as an error part, as the SDK does', async () => {
    const frame = { error: { message: 'The server had an error', type: 'server_error', code: null } };
    const pieces = [chunk({ content: 'Part' }), `data: ${JSON.stringify(frame)}\n\n`];
    const { sdk, lean } = await bothWays(openaiModels(), options, { pieces });
    expect(lean).toEqual(sdk);
    expect(lean.find((p) => p.type === 'error')).toEqual({ type: 'error', error: frame.error });
  });

  it('reports a chunk that is not JSON, or not a chunk, as an unreadable part', async () => {
    for (const bad of ['data: {"id": not json}\n\n', 'data: {"choices": "none"}\n\n']) {
      const { sdk, lean } = await bothWays(openaiModels(), options, { pieces: [chunk({ content: 'a' }), bad, DONE] });
      const errorOf = (ps: Seen[]) => ps.find((p) => p.type === 'error') as { error: Error };
      expect(errorOf(lean).error.name).toBe(errorOf(sdk).error.name);
      expect(lean.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'error' } });
    }
  });
});

describe('the lean OpenAI-wire path: failures, retries, aborts (through streamCall, as the team calls)', () => {
  const tools = { calculator: tool({ description: 'math', inputSchema: jsonSchema({ type: 'object' }) }) };
  const guarded = (m: LanguageModelV3, timeoutMs = 5_000) => guardModel(m, { timeoutMs, retries: 1 });
  const call = (model: LanguageModelV3, extra: Partial<ModelCall> = {}): ModelCall => ({
    model,
    messages: [{ role: 'user', content: 'Hi' }],
    tools,
    maxRetries: 2,
    abortSignal: new AbortController().signal,
    ...extra,
  });
  async function run(c: ModelCall): Promise<{ parts: CallPart[]; error?: unknown }> {
    const out: CallPart[] = [];
    try {
      for await (const p of streamCall(c)) out.push(p);
      return { parts: out };
    } catch (error) {
      return { parts: out, error };
    }
  }
  /** One script answered to the SDK's path, then to the lean path, both behind the silence guard. */
  async function bothPaths(script: Scripted[], extra: Partial<ModelCall> = {}) {
    const { sdk, lean } = openaiModels();
    replies = [...script];
    const viaSdk = await run(call(guarded(strip(sdk)), extra));
    const sdkRequests = captured.length;
    replies = [...script];
    const viaLean = await run(call(guarded(lean), extra));
    return { viaSdk, viaLean, sdkRequests, leanRequests: captured.length - sdkRequests };
  }
  /** The SDK model without the lean method, even behind the guard. */
  const strip = (m: LanguageModelV3): LanguageModelV3 => ({
    specificationVersion: 'v3',
    provider: m.provider,
    modelId: m.modelId,
    supportedUrls: m.supportedUrls,
    doGenerate: (o) => m.doGenerate(o),
    doStream: (o) => m.doStream(o),
  });

  it('retries a 429 and a 500 after their retry-after, then answers; both paths alike', async () => {
    const script: Scripted[] = [
      { status: 429, headers: { 'retry-after-ms': '20' }, pieces: ['{"error":{"message":"Slow down"}}'] },
      { status: 500, headers: { 'retry-after-ms': '20' }, pieces: [''] },
      { pieces: textAnswer('Hello') },
    ];
    const started = Date.now();
    const { viaSdk, viaLean, sdkRequests, leanRequests } = await bothPaths(script);
    // Without the upstream's retry-after the SDK waits 2 s, then 4 s, on each path.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(viaLean).toEqual(viaSdk);
    expect(leanRequests).toBe(3);
    expect(sdkRequests).toBe(3);
    expect(viaLean.parts).toEqual([
      { type: 'text', text: 'Hello' },
      { type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 12, outputTokens: 5 }) },
    ]);
  });

  it('fails a 400 at once with the upstream’s message, classified as the SDK’s failure is', async () => {
    const script: Scripted[] = [
      { status: 400, pieces: ['{"error":{"message":"Unknown parameter: foo","type":"invalid_request_error"}}'] },
    ];
    const { viaSdk, viaLean, leanRequests } = await bothPaths(script);
    expect(leanRequests).toBe(1);
    expect(classifyError(viaLean.error)).toEqual(classifyError(viaSdk.error));
    expect(classifyError(viaLean.error)).toMatchObject({
      status: 400,
      code: 'upstream_invalid_request',
      message: 'The upstream model rejected the request: Unknown parameter: foo',
    });
  });

  it('takes an answer whose upstream goes silent after its finish reason and usage, instead of timing it out', async () => {
    const { lean } = openaiModels();
    replies = [
      {
        pieces: [
          chunk({ role: 'assistant', content: 'Hel' }),
          chunk({ content: 'lo' }),
          chunk({}, {}, 'stop'),
          usageChunk(USAGE),
        ],
        hold: true,
      },
    ];
    const started = Date.now();
    const result = await run(call(guarded(lean, 10_000)));
    expect(result.error).toBeUndefined();
    expect(result.parts).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 12, outputTokens: 5 }) },
    ]);
    expect(Date.now() - started).toBeLessThan(5_000); // well before the 10 s silence limit
  });

  it('passes on an error frame sent after the answer began in the upstream’s own words, on both paths', async () => {
    const broken: Scripted = {
      pieces: [
        chunk({ role: 'assistant', content: 'Hel' }),
        `data: ${JSON.stringify({ error: { message: 'Overloaded mid-stream', type: 'server_error' } })}\n\n`,
      ],
    };
    const { viaSdk, viaLean } = await bothPaths([broken]);
    expect(classifyError(viaSdk.error)).toEqual(classifyError(viaLean.error));
    expect(classifyError(viaLean.error)).toMatchObject({
      status: 502,
      code: 'upstream_incomplete',
      message: 'The upstream model ended its stream with an error: "Overloaded mid-stream".',
    });
  });

  it("names a 200 HTML page (a proxy's error page) by its content type on both paths, after its retries", async () => {
    const page: Scripted = {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      pieces: ['<html><body><h1>502 Bad Gateway</h1></body></html>'],
    };
    const { viaSdk, viaLean, sdkRequests, leanRequests } = await bothPaths([page, page, page]);
    expect([sdkRequests, leanRequests]).toEqual([2, 2]); // 1 + the guard's retry
    expect(classifyError(viaSdk.error)).toEqual(classifyError(viaLean.error));
    expect(classifyError(viaSdk.error)).toMatchObject({
      status: 502,
      code: 'upstream_incomplete',
      message:
        'The upstream model sent an answer that could not be read. It answered with text/html, not a stream of chat completion chunks.',
    });
  });

  it('reads a response header named like an object property as a header', async () => {
    const refusal: Scripted = {
      status: 400,
      headers: { constructor: 'proxy-7' },
      pieces: ['{"error":{"message":"No","type":"invalid_request_error"}}'],
    };
    const { viaSdk, viaLean } = await bothPaths([refusal]);
    const headerOf = (e: unknown) => (e as { responseHeaders?: Record<string, string> }).responseHeaders?.constructor;
    expect(headerOf(viaSdk.error)).toBe('proxy-7');
    expect(headerOf(viaLean.error)).toBe('proxy-7');
  });

  it('retries an error frame that comes before any output, with the status its code names', async () => {
    const frame = `data: ${JSON.stringify({ error: { message: 'Rate limit reached', type: 'tokens', code: 'rate_limit_exceeded' } })}\n\n`;
    // The retry-after of the stream's own response applies, as to an error status.
    const failing: Scripted = { headers: { 'retry-after-ms': '10' }, pieces: [frame] };
    const { viaSdk, viaLean, leanRequests } = await bothPaths([failing, { pieces: textAnswer('Fine') }]);
    expect(viaLean).toEqual(viaSdk);
    expect(leanRequests).toBe(2);
    expect(viaLean.parts[0]).toEqual({ type: 'text', text: 'Fine' });
    const { viaSdk: sdkExhausted, viaLean: exhausted } = await bothPaths([failing, failing, failing]);
    expect(classifyError(exhausted.error)).toEqual(classifyError(sdkExhausted.error));
    expect(classifyError(exhausted.error)).toMatchObject({ status: 429, code: 'upstream_rate_limited' });
  });

  it("retries an unreadable frame after OpenAI's empty opening chunk: nothing of the answer was passed on yet", async () => {
    const failing: Scripted = {
      headers: { 'retry-after-ms': '10' },
      pieces: [chunk({ role: 'assistant', content: '' }), 'data: {not json\n\n'],
    };
    const { viaSdk, viaLean, leanRequests } = await bothPaths([failing, { pieces: textAnswer('Fine') }]);
    expect(viaLean).toEqual(viaSdk);
    expect(leanRequests).toBe(2);
    expect(viaLean.error).toBeUndefined();
    expect(viaLean.parts.filter((p) => p.type === 'text')).toEqual([{ type: 'text', text: 'Fine' }]);
  });

  it('reports a body cut short after part of the answer as incomplete, as the SDK path does', async () => {
    const script: Scripted[] = [{ pieces: [chunk({ role: 'assistant', content: 'Partial ' })], cut: true }];
    const { viaSdk, viaLean } = await bothPaths(script);
    expect(viaLean.parts).toEqual(viaSdk.parts);
    expect(viaLean.parts).toEqual([{ type: 'text', text: 'Partial ' }]);
    expect(classifyError(viaLean.error)).toEqual(classifyError(viaSdk.error));
    expect(classifyError(viaLean.error)).toMatchObject({ status: 502, code: 'upstream_incomplete' });
  });

  it('times out a silent upstream and closes its connection', async () => {
    const { lean } = openaiModels();
    replies = [{ pieces: [chunk({ role: 'assistant', content: 'Hel' })], hold: true }];
    const started = Date.now();
    const result = await run(call(guarded(lean, 150)));
    expect(result.parts).toEqual([{ type: 'text', text: 'Hel' }]);
    expect(classifyError(result.error)).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect.poll(() => captured[0]?.closedEarly).toBe(true);
  });

  it('stops reading when the signal aborts, and the upstream sees the connection close', async () => {
    const { lean } = openaiModels();
    replies = [{ pieces: [chunk({ role: 'assistant', content: 'Hel' })], hold: true }];
    const abort = new AbortController();
    const reason = new Error('client gone');
    const out: CallPart[] = [];
    const failure = await (async () => {
      try {
        for await (const p of streamCall(call(guarded(lean), { abortSignal: abort.signal }))) {
          out.push(p);
          abort.abort(reason);
        }
      } catch (err) {
        return err;
      }
    })();
    expect(out).toEqual([{ type: 'text', text: 'Hel' }]);
    expect(failure).toBe(reason);
    await expect.poll(() => captured[0]?.closedEarly).toBe(true);
  });

  it('closes the connection when the caller stops reading early', async () => {
    const { lean } = openaiModels();
    replies = [{ pieces: [chunk({ role: 'assistant', content: 'Hel' }), chunk({ content: 'lo' })], hold: true }];
    for await (const p of streamCall(call(guarded(lean)))) if (p.type === 'text') break;
    await expect.poll(() => captured[0]?.closedEarly).toBe(true);
  });

  it('ends a read still waiting when the call is cancelled, without calling the upstream again', async () => {
    const { lean } = openaiModels();
    replies = [{ pieces: [chunk({ role: 'assistant', content: 'Hel' })], hold: true }];
    const reader = await openParts(guarded(lean), { prompt: [user('Hi')] });
    expect(await reader.read()).toMatchObject({ done: false, value: { type: 'text-delta', delta: 'Hel' } });
    const waiting = reader.read();
    await new Promise((r) => setTimeout(r, 20));
    await reader.cancel();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await expect.poll(() => captured[0]?.closedEarly).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(captured).toHaveLength(1);
  });

  it('reports an upstream it cannot reach as unreachable, after the retries', async () => {
    const sdk = createOpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', fetch: pool.fetch }).chat('m');
    const result = await run(call(guarded(withOpenAIWire(sdk, pool, 'openai')), { maxRetries: 1 }));
    expect(classifyError(result.error)).toMatchObject({ status: 502, code: 'upstream_unreachable' });
    expect(classifyError(result.error)!.message).toMatch(/ECONNREFUSED/);
  });
});
