// The team's run as a reliable unit of work, end to end: Cortex Flow in this process (so that an
// unhandled rejection would be seen here) with the real provider code path, against the in-suite
// scripted tool-calling upstream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ask, ScriptBook, supervisorTurn, teamScript, until } from '../support/team-script.ts';

let upstream: MockUpstream;
let book: ScriptBook;
let dataDir: string;
let app: App;
let baseUrl: string;
let client: OpenAI;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-team-run-'));
  app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test-secret',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SSE_KEEPALIVE_SECONDS: '0',
      CORTEX_STREAM_PROGRESS: 'false',
      CORTEX_LLM_TIMEOUT_SECONDS: '1',
      CORTEX_AGENT_TIMEOUT_SECONDS: '3',
      CORTEX_LLM_MAX_RETRIES: '1',
    }),
  );
  baseUrl = await app.server.listen({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
});

afterAll(async () => {
  await app?.close();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
});

const user = (tag: string, text = 'What is the answer?') => ({ role: 'user' as const, content: `${text} [[${tag}]]` });

async function streamAll(stream: AsyncIterable<any>) {
  let content = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { content, finish };
}

describe('nothing a client does ends the process', () => {
  // The other client's run: the full team, with a writer that streams for ~1.5 s.
  const survivorAnswer = 'Forty-two is the answer, as the team found. '.repeat(3);
  const startSurvivor = (tag: string) => {
    book.add(tag, teamScript(tag, { writer: { text: survivorAnswer, chunkSize: 4, chunkDelayMs: 40 } }));
    return client.chat.completions
      .create({ model: 'cortex-flow', messages: [user(tag)], stream: true })
      .then((s) => streamAll(s));
  };

  const hang = { fault: 'hang' } as const;
  const phases = {
    // Each victim's run is held at one phase; the client leaves while it is there.
    planning: { script: { plan: hang }, reached: (tag: string) => book.requests(tag, 'supervisor').length === 1 },
    specialists: {
      script: { specialist: () => hang },
      reached: (tag: string) => book.requests(tag, 'researcher').length + book.requests(tag, 'analyst').length === 2,
    },
    'between rounds': {
      script: { next: () => hang },
      reached: (tag: string) => book.requests(tag, 'supervisor').length === 2,
    },
    writer: {
      script: { writer: { text: 'word '.repeat(400), chunkSize: 5, chunkDelayMs: 30 } },
      reached: (tag: string) => book.requests(tag, 'writer').length === 1,
    },
  };

  for (const [phase, { script, reached }] of Object.entries(phases)) {
    for (const stream of [true, false]) {
      it(`a client leaving during ${phase} (${stream ? 'stream' : 'JSON'}) stops its run; another run completes`, async () => {
        const id = `${phase.replace(' ', '-')}-${stream}`;
        const survivor = startSurvivor(`survivor-${id}`);
        const victim = book.add(`victim-${id}`, teamScript(`victim-${id}`, script));
        const leave = new AbortController();
        const request = fetch(`${baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'cortex-flow', messages: [user(victim)], stream }),
          signal: leave.signal,
        }).then((r) => r.text());
        await until(() => reached(victim), `the victim's ${phase}`);
        leave.abort();
        await request.catch(() => {});
        // The run was stopped down to its upstream calls...
        await until(
          () => book.requests(victim).every((r) => r.answeredAt !== undefined || r.abortedByClient),
          "the victim's upstream calls to close",
        );
        // ...and the other client's run went on to its end.
        const other = await survivor;
        expect(other).toEqual({ content: survivorAnswer, finish: 'stop' });
        expect(unhandled).toEqual([]);
      });
    }
  }

  it('is still up', async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});

describe('failures are isolated to the agent', () => {
  async function runOf(runId: string) {
    return (await app.deps.store!.getRun(runId, ''))!;
  }

  it('a hanging specialist is reported as failed after its own time limit; the run goes on', async () => {
    const tag = book.add(
      'hanging',
      teamScript('hanging', {
        specialist: (agent) =>
          agent === 'researcher' ? { fault: 'hang' } : { text: 'The analyst computed 42. [[hanging]]' },
      }),
    );
    const r: any = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)] });
    expect(r.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: 'The answer is 42. [[hanging]]' },
    });
    // The supervisor was told who failed and why, and went on with the analyst's findings.
    const second = book.requests(tag, 'supervisor')[1];
    expect(JSON.stringify(second.body.messages)).toContain(
      'The researcher failed: The upstream model sent nothing for 1 s',
    );
    expect(JSON.stringify(book.requests(tag, 'writer')[0].body.messages)).toContain('The analyst computed 42.');
    const trace = (await runOf(r.metadata.run_id)).events;
    expect(trace).toContainEqual(
      expect.objectContaining({
        type: 'agent_finished',
        agent: 'researcher',
        ok: false,
        error: expect.stringMatching(/sent nothing for 1 s/),
      }),
    );
    expect(trace).toContainEqual(expect.objectContaining({ type: 'agent_finished', agent: 'analyst', ok: true }));
    // The agents that worked for the answer: not the researcher, which only failed.
    expect(r.metadata.agents_used).toEqual(['analyst', 'writer']);
  });

  it('a specialist that keeps talking past its own time limit is stopped and reported', async () => {
    const tag = book.add(
      'chatty',
      teamScript('chatty', {
        // Never silent for 1 s, but never done within the agent's 3 s either.
        specialist: (agent) =>
          agent === 'analyst'
            ? { text: 'and so on '.repeat(100), chunkSize: 5, chunkDelayMs: 100 }
            : { text: 'Found 42. [[chatty]]' },
      }),
    );
    const r: any = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)] });
    expect(r.choices[0].message.content).toBe('The answer is 42. [[chatty]]');
    const trace = (await runOf(r.metadata.run_id)).events;
    expect(trace).toContainEqual(
      expect.objectContaining({ agent: 'analyst', ok: false, error: expect.stringContaining('time limit of 3 s') }),
    );
  });

  it('a failing and a garbage-answering specialist are both reported with their reasons', async () => {
    const tag = book.add(
      'failing',
      teamScript('failing', {
        specialist: (agent) =>
          agent === 'researcher' ? { status: 500, error: { message: 'boom' } } : { fault: 'html' },
        next: () => ({ text: 'Neither the research nor the analysis worked out. [[failing]]' }),
      }),
    );
    const r: any = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)] });
    expect(r.choices[0].message.content).toBe('Neither the research nor the analysis worked out. [[failing]]');
    const trace = (await runOf(r.metadata.run_id)).events.filter((e: any) => e.type === 'agent_finished');
    expect(trace).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          agent: 'researcher',
          ok: false,
          error: 'The upstream model failed with status 500.',
        }),
        // A proxy's error page, named by its content type as on the supervisor's path.
        expect.objectContaining({
          agent: 'analyst',
          ok: false,
          error:
            'The upstream model sent an answer that could not be read. It answered with text/html, not a stream of chat completion chunks.',
        }),
      ]),
    );
    expect(r.metadata.agents_used).toEqual(['supervisor']); // it answered on its own
  });
});

describe('timeouts mean what they say', () => {
  it('a writer streaming for longer than the per-call timeout, never stalling, completes with [DONE]', async () => {
    const answer = 'A long and steady answer. '.repeat(10); // ~3 s at 40 ms per 4 characters
    const tag = book.add(
      'steady',
      teamScript('steady', {
        // The specialists, too, take longer than the 1 s limit, while the supervisor's turn waits.
        specialist: (agent) => ({ text: `${agent}: ${'42 '.repeat(10)}[[steady]]`, chunkSize: 3, chunkDelayMs: 150 }),
        writer: { text: answer, chunkSize: 4, chunkDelayMs: 40 },
      }),
    );
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [user(tag)], stream: true }),
    });
    const frames = (await res.text()).split('\n\n').filter(Boolean);
    expect(frames.at(-1)).toBe('data: [DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice('data: '.length)));
    expect(chunks.some((c) => c.error)).toBe(false);
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe(answer);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });
  it('a writer that stalls mid-answer ends in a timeout error within the limit, not a hang', async () => {
    const tag = book.add('stall', teamScript('stall', { writer: { fault: 'stall', chunks: ['The answer ', 'is'] } }));
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [user(tag)], stream: true }),
    });
    const chunks = (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)));
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe('The answer is');
    expect(chunks.at(-1).error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('1 s') });
  });
});

describe('OpenAI parameters apply to the answer', () => {
  it("max_tokens and stop bound the supervisor's direct answer as they would the writer's", async () => {
    const tag = book.add('direct', () => ({ text: 'One two three four five six seven eight nine ten. [[direct]]' }));
    const short = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)], max_tokens: 3 });
    expect(short.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'One two three' } });
    const stopped = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [user(tag)],
      stop: [' four'],
    });
    expect(stopped.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'One two three' } });
  });

  it('max_tokens bounds the answer, not the supervisor planning or the specialists', async () => {
    const tag = book.add('budget', teamScript('budget', { writer: { text: 'A very long answer. '.repeat(50) } }));
    const r = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)], max_tokens: 40 });
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(r.choices[0].message.content!.length).toBeLessThanOrEqual(160);
    expect((r as any).metadata.agents_used).toEqual(['researcher', 'analyst', 'writer']);
    const budget = (agent: string) =>
      book.requests(tag, agent).map((q) => q.body.max_completion_tokens ?? q.body.max_tokens);
    expect(budget('writer')).toEqual([40]);
    for (const agent of ['supervisor', 'researcher', 'analyst'])
      for (const b of budget(agent)) expect(b).toBeGreaterThanOrEqual(4096);
  });

  it("the writer's request carries the client's system prompt, tool results and sampling settings", async () => {
    const tag = book.add('context', teamScript('context'));
    await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [
        { role: 'system', content: 'Answer like a pirate (ZX-SYSTEM).' },
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_w', content: 'ZX-WEATHER 21 C and sunny' },
        user(tag, 'And what is the answer, given that weather?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_x', content: 'ZX-TIME noon' },
      ],
      temperature: 0.2,
      seed: 9,
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
      ],
    });
    const writer = book.requests(tag, 'writer')[0].body;
    const system = writer.messages.find((m: any) => m.role === 'system').content;
    expect(system).toContain('ZX-SYSTEM');
    const prompt = JSON.stringify(writer.messages.filter((m: any) => m.role !== 'system'));
    expect(prompt).toContain('ZX-TIME noon'); // the result of this turn's client tool
    expect(prompt).toContain('get_time');
    expect(writer).toMatchObject({ temperature: 0.2, seed: 9 });
  });
});

describe('client tools and internal names', () => {
  const weatherTool = {
    type: 'function' as const,
    function: {
      name: 'ask_writer',
      description: "The client's own tool",
      parameters: { type: 'object', properties: {} },
    },
  };

  it('refuses a client tool that takes a reserved name', async () => {
    const err: any = await client.chat.completions
      .create({
        model: 'cortex-flow',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ type: 'function', function: { name: 'cortex__ask_writer', parameters: {} } }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ code: 'reserved_tool_name', param: 'tools[0].function.name' });
  });

  it('a client tool named like an agent does not replace it, and internal calls never reach the client', async () => {
    const tag = book.add(
      'shadow',
      teamScript('shadow', {
        plan: { toolCalls: [ask('researcher', 'Find [[shadow]]'), { name: 'ask_writer', arguments: {} }] },
      }),
    );
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [user(tag)],
      tools: [weatherTool],
    });
    // The client's own `ask_writer` is the client's: the run pauses for it, after the researcher's work.
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.tool_calls!.map((c: any) => c.function.name)).toEqual(['ask_writer']);
    const offered = book.requests(tag, 'supervisor')[0].body.tools.map((t: any) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['ask_writer', 'cortex__ask_writer', 'cortex__ask_researcher']));
    // Both are offered, each with its own description: the client's did not replace the writer.
    const described = book.requests(tag, 'supervisor')[0].body.tools.map((t: any) => t.function.description);
    expect(described).toContain("The client's own tool");
    expect(described.some((d: string) => /Writes the final answer/.test(d))).toBe(true);
    expect(book.requests(tag, 'researcher')).toHaveLength(1);
  });
});

describe('cut, empty and unreadable upstream answers', () => {
  const supervisorOnly = (tag: string, replies: any[]) => {
    const queue = [...replies];
    return book.add(tag, () => queue.shift() ?? { text: `Recovered. [[${tag}]]` });
  };

  for (const [name, fault] of [
    ['a chunk cut mid-JSON', { fault: 'cut-mid-json' }],
    ['an empty 200 stream', { fault: 'empty' }],
    ['a 200 text/html page', { fault: 'html' }],
  ] as const) {
    it(`${name}, before anything was sent, is retried`, async () => {
      const tag = supervisorOnly(`retry-${fault.fault}`, [fault]);
      const r = await client.chat.completions.create({ model: 'cortex-flow', messages: [user(tag)] });
      expect(r.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: `Recovered. [[${tag}]]` } });
      expect(book.requests(tag)).toHaveLength(2);
    });

    it(`${name} that persists ends in a clean error, never a completed answer`, async () => {
      const tag = supervisorOnly(`persist-${fault.fault}`, [fault, fault, fault]);
      const err: any = await client.chat.completions
        .create({ model: 'cortex-flow', messages: [user(tag)] })
        .catch((e) => e);
      expect(err.status).toBe(502);
      expect(err.error.code).toBe('upstream_incomplete');
      expect(book.requests(tag)).toHaveLength(2); // 1 + CORTEX_LLM_MAX_RETRIES
    });
  }

  it('two chunks then a closed socket: the client gets the honest error, no finish_reason', async () => {
    const tag = supervisorOnly('cut', [{ fault: 'truncate', chunks: ['Hel', 'lo'] }]);
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [user(tag)], stream: true }),
    });
    const chunks = (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)));
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe('Hello');
    expect(chunks.some((c) => c.choices?.[0]?.finish_reason)).toBe(false);
    expect(chunks.at(-1).error).toMatchObject({
      message: 'The upstream stream ended before the answer was complete.',
      code: 'upstream_incomplete',
    });
    expect(book.requests(tag)).toHaveLength(1); // part of it was sent: never the same words twice
  });

  it('broken tool-call JSON is asked for once more, then the client gets clean arguments', async () => {
    const broken = { toolCalls: [{ name: 'get_weather', arguments: '{"city": "Par' }] };
    const tag = supervisorOnly('broken-once', [
      broken,
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
    ]);
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [user(tag)],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
    });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.content ?? '').toBe('');
    expect(r.choices[0].message.tool_calls!.map((c: any) => c.function.arguments)).toEqual(['{"city":"Paris"}']);
  });

  it('broken tool-call JSON that persists is passed on as written, as OpenAI does, with no hidden second turn', async () => {
    const broken = { toolCalls: [{ name: 'get_weather', arguments: '{"city": "Par' }] };
    const tag = supervisorOnly('broken-twice', [broken, broken]);
    const r = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [user(tag)],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
    });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.tool_calls!.map((c: any) => c.function.arguments)).toEqual(['{"city": "Par']);
    const requests = book.requests(tag);
    expect(requests).toHaveLength(2);
    // Neither attempt was shown a tool error to write around: both are the same first turn.
    for (const q of requests) expect(supervisorTurn(q)).toBe(1);
  });

  it('arguments that do not fit the tool name the field and what was wrong, not the end of a dump', async () => {
    const misfit = { toolCalls: [{ name: 'cortex__ask_researcher', arguments: { nottask: 1 } }] };
    const tag = supervisorOnly('misfit-args', [misfit, misfit]);
    const err: any = await client.chat.completions
      .create({ model: 'cortex-flow', messages: [user(tag)] })
      .catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error.code).toBe('upstream_bad_tool_call');
    expect(err.error.message).toMatch(/the tool ask_researcher with arguments that could not be read \(task: .+\)\.$/);
  });

  it("a call to a server's tool by its plain name fails with a message that says so", async () => {
    // The writer is offered as cortex__ask_writer; a model that drops the prefix calls ask_writer.
    const bare = { toolCalls: [{ name: 'ask_writer', arguments: { task: 'Write it' } }] };
    const tag = supervisorOnly('bare-name', [bare, bare]);
    const err: any = await client.chat.completions
      .create({ model: 'cortex-flow', messages: [user(tag)] })
      .catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error.code).toBe('upstream_bad_tool_call');
    expect(err.error.message).toContain('ask_writer by its plain name');
    expect(err.error.message).not.toContain('arguments that could not be read');
    expect(err.error.message).not.toContain('cortex__');
    expect(book.requests(tag)).toHaveLength(2);
  });

  it('a call to a tool nobody offered names the tool and what was offered', async () => {
    const unknown = { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
    const tag = supervisorOnly('unknown-tool', [unknown, unknown]);
    const err: any = await client.chat.completions
      .create({ model: 'cortex-flow', messages: [user(tag)] })
      .catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error.code).toBe('upstream_bad_tool_call');
    expect(err.error.message).toMatch(
      /the tool get_weather, which was not offered to it \(tools offered: .*ask_writer/,
    );
    expect(err.error.message).not.toContain('cortex__');
  });
});

describe('after every run of this suite', () => {
  it('no promise of any run was left to reject unobserved', () => {
    expect(unhandled).toEqual([]);
  });
});
