// The real provider code path over real HTTP: Cortex Flow with CORTEX_MODEL=openai:... pointed at
// an in-suite server that speaks OpenAI's wire format with scripted replies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { scriptByAgent, startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';

let upstream: MockUpstream;
let app: App;
let client: OpenAI;
let dataDir: string;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-team-'));
  const config = loadConfig({
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_COMPAT_PORT: '0',
    CORTEX_DATA_DIR: dataDir,
    CORTEX_LOG_LEVEL: 'silent',
    CORTEX_SSE_KEEPALIVE_SECONDS: '0',
  });
  app = await createApp(config);
  const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await app?.close();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  upstream.requests.length = 0;
});

const until = async (check: () => boolean, what: string, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A run as a client reads it: GET /v1/runs/{id}, its trace in `events`. */
const runOf = async (id: string): Promise<any> => (await fetch(`${client.baseURL}/runs/${id}`)).json();

/** What /metrics counts of the mock model's calls tried again after a 429. */
const rateLimitRetries = async (): Promise<number> => {
  const metrics = await (await fetch(client.baseURL.replace(/\/v1$/, '/metrics'))).text();
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('cortex_upstream_retries_total{model="openai:mock-model",code="upstream_rate_limited"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/** A run's events as GET /v1/runs/{id}/events replays them (one JSON event per `data:` line). */
const replayOf = async (id: string): Promise<any[]> => {
  const text = await (await fetch(`${client.baseURL}/runs/${id}/events`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)));
};

describe('the team against an OpenAI-compatible upstream', () => {
  it('streams a full team run with the official client: parallel research and analysis, then the writer', async () => {
    upstream.setResponder(
      scriptByAgent({
        supervisor: [
          {
            toolCalls: [
              { name: 'cortex__ask_researcher', arguments: { task: 'Find the boiling point of water at sea level' } },
              { name: 'cortex__ask_analyst', arguments: { task: 'Convert 100 C to Fahrenheit' } },
            ],
          },
          { toolCalls: [{ name: 'cortex__ask_writer', arguments: { task: 'Answer with both figures' } }] },
        ],
        researcher: [{ text: 'Water boils at 100 °C at sea level.', delayMs: 150 }],
        analyst: [{ text: '100 °C is 212 °F.', delayMs: 150 }],
        writer: [{ text: 'Water boils at 100 °C (212 °F) at sea level.', chunkSize: 3 }],
      }),
    );
    const stream = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'At what temperature does water boil, in C and F?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let reasoning = '';
    let contentChunks = 0;
    let metadata: any;
    let usage: any;
    for await (const chunk of stream) {
      const delta: any = chunk.choices[0]?.delta;
      if (delta?.content) {
        content += delta.content;
        contentChunks++;
      }
      if (delta?.reasoning_content) reasoning += delta.reasoning_content;
      if ((chunk as any).metadata) metadata = (chunk as any).metadata;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toBe('Water boils at 100 °C (212 °F) at sea level.');
    expect(contentChunks).toBeGreaterThan(3); // token by token, as the writer produced it
    expect(reasoning).toContain('→ researcher');
    expect(reasoning).toContain('→ analyst');
    expect(metadata.agents_used).toEqual(['researcher', 'analyst', 'writer']);
    expect(metadata.engine).toBe('llm');
    expect(usage.completion_tokens).toBeGreaterThan(0);

    // Both specialists were asked before either answered: they ran in parallel.
    const researcher = upstream.requests.find((r) => r.agent === 'researcher')!;
    const analyst = upstream.requests.find((r) => r.agent === 'analyst')!;
    expect(Math.max(researcher.receivedAt, analyst.receivedAt)).toBeLessThan(
      Math.min(researcher.answeredAt!, analyst.answeredAt!),
    );
    // The writer came after both, and saw their findings.
    const writer = upstream.requests.find((r) => r.agent === 'writer')!;
    expect(writer.receivedAt).toBeGreaterThanOrEqual(Math.max(researcher.answeredAt!, analyst.answeredAt!));
    expect(JSON.stringify(writer.body.messages)).toContain('212 °F');
    // Specialists see their task, not the conversation.
    expect(JSON.stringify(researcher.body.messages)).not.toContain('in C and F?');
    expect(upstream.requests.map((r) => r.agent)).toEqual([
      'supervisor',
      expect.any(String),
      expect.any(String),
      'supervisor',
      'writer',
    ]);
  });

  it('answers small talk with exactly one upstream call, under the request settings', async () => {
    upstream.setResponder(() => ({ text: 'Hello! What can I do for you?', usage: { prompt: 42, completion: 8 } }));
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Hi!' }],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 77,
      stop: ['END'],
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      user: 'user-123',
    });
    expect(r.choices[0].message.content).toBe('Hello! What can I do for you?');
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0].body).toMatchObject({
      temperature: 0.3,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      user: 'user-123',
    });
    // The supervisor's turn may plan instead of answering: max_tokens and stop bound the answer
    // it streams, not the upstream call (where they would cut its tool calls).
    expect(upstream.requests[0].body.max_tokens).toBeGreaterThanOrEqual(4096);
    expect(upstream.requests[0].body.stop).toBeUndefined();
    const meta = (r as any).metadata;
    expect(meta.agents_used).toEqual(['supervisor']);
    expect(meta.upstream_usage.total_tokens).toBe(50);
    expect(
      meta.upstream_usage.by_agent.supervisor.prompt_tokens ?? meta.upstream_usage.by_agent.supervisor.input_tokens,
    ).toBe(42);
  });

  it("tells the model who said what in a chat of several people, and keeps the assistant's name", async () => {
    upstream.setResponder(() => ({ text: 'Carol, Alice asked first.' }));
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [
        { role: 'user', name: 'alice', content: 'Is the meeting at 10?' },
        { role: 'assistant', name: 'scheduler', content: 'Yes, at 10.' },
        { role: 'user', name: 'carol', content: 'Who asked about the meeting?' },
      ],
    });
    expect(r.choices[0].message.content).toBe('Carol, Alice asked first.');
    const sent = upstream.requests[0].body.messages.filter((m: any) => m.role !== 'system');
    expect(sent.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'alice: Is the meeting at 10?'],
      ['assistant', 'Yes, at 10.'],
      ['user', 'carol: Who asked about the meeting?'],
    ]);
    const stored = await fetch(`${client.baseURL}/conversations/${(r as any).conversation_id}`).then((x) => x.json());
    expect(stored.messages.map((m: any) => m.name ?? null)).toEqual(['alice', 'scheduler', 'carol', null]);
  });

  it('retries after a 503 and answers', async () => {
    let calls = 0;
    upstream.setResponder(() =>
      ++calls === 1
        ? { status: 503, headers: { 'retry-after-ms': '20' }, error: { message: 'overloaded' } }
        : { text: 'Recovered.' },
    );
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(r.choices[0].message.content).toBe('Recovered.');
    expect(upstream.requests).toHaveLength(2);
  });

  it("traces a retry of the supervisor's call: the upstream's status and the wait, in the run and its events", async () => {
    const retriesBefore = await rateLimitRetries();
    let calls = 0;
    upstream.setResponder(() =>
      ++calls === 1
        ? {
            status: 429,
            headers: { 'retry-after-ms': '30' },
            error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' },
          }
        : { text: 'Recovered.' },
    );
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(r.choices[0].message.content).toBe('Recovered.');
    expect(upstream.requests).toHaveLength(2);
    const retry = {
      type: 'upstream_retry',
      agent: 'supervisor',
      model: 'openai:mock-model',
      attempt: 1,
      status: 429,
      code: 'upstream_rate_limited',
      delayMs: 30,
      at: expect.any(Number),
    };
    const run = await runOf(r.metadata.run_id);
    expect(run.status).toBe('completed');
    expect(run.events.filter((e: any) => e.type === 'upstream_retry')).toEqual([retry]);
    // Before the usage of the call that answered.
    const types = run.events.map((e: any) => e.type);
    expect(types.indexOf('upstream_retry')).toBeLessThan(types.indexOf('usage'));
    // The events API replays it as stored.
    const replayed = await replayOf(r.metadata.run_id);
    expect(replayed.filter((e: any) => e.type === 'upstream_retry')).toEqual([retry]);
    // And operators see it in /metrics, though no run failed.
    expect((await rateLimitRetries()) - retriesBefore).toBe(1);
  });

  it("traces a retry of a specialist's call, within its step, and the run goes on", async () => {
    upstream.setResponder(
      scriptByAgent({
        supervisor: [
          { toolCalls: [{ name: 'cortex__ask_researcher', arguments: { task: 'Find the boiling point of water' } }] },
          { toolCalls: [{ name: 'cortex__ask_writer', arguments: { task: 'Answer with the figure' } }] },
        ],
        researcher: [
          { status: 429, headers: { 'retry-after-ms': '30' }, error: { message: 'Rate limit reached for tokens' } },
          { text: 'Water boils at 100 °C at sea level.' },
        ],
        writer: [{ text: 'Water boils at 100 °C.' }],
      }),
    );
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'At what temperature does water boil?' }],
    });
    expect(r.choices[0].message.content).toBe('Water boils at 100 °C.');
    expect(r.metadata.agents_used).toEqual(['researcher', 'writer']);
    expect(upstream.requests.filter((q) => q.agent === 'researcher')).toHaveLength(2);
    const run = await runOf(r.metadata.run_id);
    const retries = run.events.filter((e: any) => e.type === 'upstream_retry');
    expect(retries).toEqual([
      {
        type: 'upstream_retry',
        agent: 'researcher',
        model: 'openai:mock-model',
        attempt: 1,
        status: 429,
        code: 'upstream_rate_limited',
        delayMs: 30,
        at: expect.any(Number),
      },
    ]);
    // Said within the researcher's step, which then succeeded.
    const at = (match: (e: any) => boolean) => run.events.findIndex(match);
    const retryAt = at((e: any) => e.type === 'upstream_retry');
    expect(retryAt).toBeGreaterThan(at((e: any) => e.type === 'agent_started' && e.agent === 'researcher'));
    expect(retryAt).toBeLessThan(at((e: any) => e.type === 'agent_finished' && e.agent === 'researcher' && e.ok));
    expect((await replayOf(r.metadata.run_id)).filter((e: any) => e.type === 'upstream_retry')).toEqual(retries);
  });

  it('traces an empty answer asked for again, at once, without a status', async () => {
    let calls = 0;
    upstream.setResponder(() => (++calls === 1 ? { fault: 'empty' } : { text: 'Second time lucky.' }));
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(r.choices[0].message.content).toBe('Second time lucky.');
    const run = await runOf(r.metadata.run_id);
    expect(run.events.filter((e: any) => e.type === 'upstream_retry')).toEqual([
      {
        type: 'upstream_retry',
        agent: 'supervisor',
        model: 'openai:mock-model',
        attempt: 1,
        code: 'upstream_incomplete',
        delayMs: 0,
        at: expect.any(Number),
      },
    ]);
  });

  it('traces nothing of retries when the upstream answers at once', async () => {
    upstream.setResponder(() => ({ text: 'At once.' }));
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    const run = await runOf(r.metadata.run_id);
    expect(run.events.some((e: any) => e.type === 'upstream_retry')).toBe(false);
  });

  it('reports an upstream 400 as an OpenAI error, without retrying', async () => {
    upstream.setResponder(() => ({
      status: 400,
      error: {
        message: "This model's maximum context length is 8192 tokens",
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      },
    }));
    const err = await client.chat.completions
      .create({ model: 'cortex-flow', messages: [{ role: 'user', content: 'Hello' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.message).toContain('maximum context length');
    expect(err.error.type).toBe('invalid_request_error');
    expect(upstream.requests).toHaveLength(1);
    // Not retried, so no retry in its trace.
    const run = await runOf(err.error.run_id);
    expect(run.status).toBe('failed');
    expect(run.events.some((e: any) => e.type === 'upstream_retry')).toBe(false);
  });

  it('closes the upstream connection when the client disconnects', async () => {
    upstream.setResponder(() => ({ text: 'word '.repeat(200), chunkSize: 5, chunkDelayMs: 50 }));
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'cortex-flow', messages: [{ role: 'user', content: 'Tell me a long story' }], stream: true },
      { signal: controller.signal },
    );
    let seen = '';
    try {
      for await (const chunk of stream) {
        seen += chunk.choices[0]?.delta?.content ?? '';
        if (seen.length > 10) controller.abort();
      }
    } catch {
      // the abort surfaces as an error in the client
    }
    expect(seen.length).toBeGreaterThan(10);
    await until(() => upstream.requests[0]?.abortedByClient === true, 'the upstream connection to close');
    // The mock would have streamed for 10 s more; its request saw the connection close instead.
    expect(upstream.requests[0].answeredAt).toBeUndefined();
  });
});
