// Client tools pause and resume the team: the real team and provider code path against the
// in-suite upstream, driven at the run contract (RunInput.resume with the checkpoint written on
// pause), and end to end over HTTP, where the run lifecycle stores the checkpoint under the
// tool-call ids (SQLite and PostgreSQL) and hands it back to the request carrying the results.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import type { TeamOrchestrator } from '../../src/agents/team.ts';
import { loadConfig } from '../../src/config.ts';
import type { RunEvent, RunEventOf } from '../../src/orchestrator/events.ts';
import type { ChatMessage, ClientTool, RunCheckpoint, RunInput } from '../../src/orchestrator/types.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { startTestServer, type TestServer, type TestServerOptions } from '../support/app-server.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ask, ScriptBook, supervisorTurn, teamScript } from '../support/team-script.ts';

let upstream: MockUpstream;
let book: ScriptBook;
let team: TeamOrchestrator;

const config = (baseUrl: string) =>
  loadConfig({
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test-secret',
    OPENAI_BASE_URL: baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_LOG_LEVEL: 'silent',
  });

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  team = createTeam(config(upstream.baseUrl), new ToolRegistry());
});

afterAll(async () => {
  await upstream?.close();
});

const weather: ClientTool = {
  name: 'get_weather',
  description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

async function run(
  input: Partial<RunInput> & { messages: ChatMessage[] },
  engine: TeamOrchestrator = team,
): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const full: RunInput = {
    runId: `run_${Math.random()}`,
    conversationId: 'conv',
    model: 'cortex-flow',
    generation: {},
    ...input,
  };
  for await (const e of engine.run(full, new AbortController().signal)) events.push(e);
  return events;
}
const finished = (events: RunEvent[]) => events.find((e) => e.type === 'run_finished') as RunEventOf<'run_finished'>;

/** What a client sends next: the history, the assistant's tool calls and its results. */
function followUp(history: ChatMessage[], paused: RunEventOf<'run_finished'>, result: string): ChatMessage[] {
  return [
    ...history,
    { role: 'assistant', content: paused.text, toolCalls: paused.toolCalls },
    ...paused.toolCalls!.map((c) => ({ role: 'tool' as const, content: result, toolCallId: c.id })),
  ];
}
/** A checkpoint as the store hands it back: JSON, possibly read by another replica. */
const stored = (c: RunCheckpoint | undefined): RunCheckpoint => JSON.parse(JSON.stringify(c));

describe('a client tool called alongside delegation', () => {
  it('pauses after the specialists finish and resumes with their findings: no specialist call repeated', async () => {
    const tag = book.add(
      'resume',
      teamScript('resume', {
        plan: {
          toolCalls: [
            ask('researcher', 'Find the facts [[resume]]'),
            ask('analyst', 'Compute [[resume]]'),
            { name: 'get_weather', arguments: { city: 'Paris' } },
          ],
        },
      }),
    );
    const history: ChatMessage[] = [
      { role: 'system', content: 'Answer in French (ZX-SYSTEM).' },
      { role: 'user', content: 'What should I wear in Paris today? [[resume]]' },
    ];
    const paused = await run({ messages: history, tools: [weather] });
    const first = finished(paused);
    expect(first.finishReason).toBe('tool_calls');
    // Only the client's own call reaches the client, with arguments encoded once.
    expect(first.toolCalls).toEqual([{ id: expect.any(String), name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    // The trace has the call as a tool call of the supervisor, handed to the client: it ends the run
    // unanswered (no result in this run), after the specialists' work.
    const callId = first.toolCalls![0].id;
    const clientCall = paused.findIndex((e) => e.type === 'tool_call' && e.toolCallId === callId);
    expect(paused[clientCall]).toEqual({
      type: 'tool_call',
      agent: 'supervisor',
      toolCallId: callId,
      toolName: 'get_weather',
      input: { city: 'Paris' },
      client: true,
      at: expect.any(Number),
    });
    expect(paused.filter((e) => e.type === 'tool_result' && e.toolCallId === callId)).toEqual([]);
    expect(clientCall).toBeGreaterThan(paused.findLastIndex((e) => e.type === 'agent_finished'));
    expect(first.checkpoint).toMatchObject({
      schemaVersion: 1,
      model: 'cortex-flow',
      pendingToolCallIds: [first.toolCalls![0].id],
    });
    expect(book.requests(tag, 'researcher')).toHaveLength(1);
    expect(book.requests(tag, 'analyst')).toHaveLength(1);
    expect(book.requests(tag, 'writer')).toHaveLength(0);

    // Another engine instance: all the run needs is in the checkpoint (as after a restart).
    const restarted = createTeam(config(upstream.baseUrl), new ToolRegistry());
    const second = await run(
      {
        messages: followUp(history, first, 'ZX-WEATHER 12 C and rain'),
        tools: [weather],
        resume: stored(first.checkpoint),
      },
      restarted,
    );
    const done = finished(second);
    expect(done).toMatchObject({ finishReason: 'stop', text: 'The answer is 42. [[resume]]' });
    // The resumed run's trace starts with the result it goes on from, as the client sent it.
    expect(second[1]).toEqual({
      type: 'tool_result',
      agent: 'supervisor',
      toolCallId: callId,
      toolName: 'get_weather',
      output: 'ZX-WEATHER 12 C and rain',
      isError: false,
      client: true,
      at: expect.any(Number),
    });
    expect(second.filter((e) => e.type === 'tool_call' || e.type === 'tool_result')).toHaveLength(1);
    expect(done.agentsUsed).toEqual(['researcher', 'analyst', 'writer']);
    // Zero repeated specialist calls: the findings came from the checkpoint.
    expect(book.requests(tag, 'researcher')).toHaveLength(1);
    expect(book.requests(tag, 'analyst')).toHaveLength(1);
    expect(second.filter((e) => e.type === 'agent_started').map((e: any) => e.agent)).toEqual(['writer']);
    // The supervisor went on from its paused turn, with every result of that turn.
    const supervisor = book.requests(tag, 'supervisor');
    expect(supervisor).toHaveLength(2);
    expect(supervisorTurn(supervisor[1])).toBe(2);
    const resumedPrompt = JSON.stringify(supervisor[1].body.messages);
    expect(resumedPrompt).toContain('The researcher found 42.');
    expect(resumedPrompt).toContain('ZX-WEATHER 12 C and rain');
    // The writer got the tool result, the findings and the client's system prompt.
    const writer = JSON.stringify(book.requests(tag, 'writer')[0].body.messages);
    for (const expected of ['ZX-WEATHER 12 C and rain', 'The analyst found 42.', 'ZX-SYSTEM'])
      expect(writer).toContain(expected);
  });

  it('a hand-over to the writer in the paused turn goes straight to the writer on resume', async () => {
    const tag = book.add(
      'handover',
      teamScript('handover', {
        plan: {
          toolCalls: [
            ask('researcher', 'Find the facts [[handover]]'),
            { name: 'get_weather', arguments: { city: 'Oslo' } },
            ask('writer', 'Say what to wear [[handover]]'),
          ],
        },
      }),
    );
    const history: ChatMessage[] = [{ role: 'user', content: 'What to wear in Oslo? [[handover]]' }];
    const first = finished(await run({ messages: history, tools: [weather] }));
    expect(first.finishReason).toBe('tool_calls');
    expect(first.text).toBe(''); // the writer waits for the client's result
    expect(book.requests(tag, 'writer')).toHaveLength(0);

    const done = finished(
      await run({
        messages: followUp(history, first, 'ZX-OSLO -3 C'),
        tools: [weather],
        resume: stored(first.checkpoint),
      }),
    );
    expect(done.text).toBe('The answer is 42. [[handover]]');
    expect(book.requests(tag, 'supervisor')).toHaveLength(1);
    expect(book.requests(tag, 'researcher')).toHaveLength(1);
    const writer = JSON.stringify(book.requests(tag, 'writer')[0].body.messages);
    expect(writer).toContain('ZX-OSLO -3 C');
    expect(writer).toContain('Say what to wear');
  });
});

describe('the trace of a resumed run', () => {
  it('starts with each result, in the order of the calls; one the client did not send is a failed result', async () => {
    const tag = book.add(
      'unanswered',
      teamScript('unanswered', {
        plan: {
          toolCalls: [
            { name: 'get_weather', arguments: { city: 'Lima' } },
            { name: 'get_weather', arguments: { city: 'Quito' } },
          ],
        },
        next: () => ({ text: 'Warm enough. [[unanswered]]' }),
      }),
    );
    const history: ChatMessage[] = [{ role: 'user', content: 'Lima or Quito? [[unanswered]]' }];
    const paused = await run({ messages: history, tools: [weather] });
    const first = finished(paused);
    const [lima, quito] = first.toolCalls!.map((c) => c.id);
    expect(paused.filter((e) => e.type === 'tool_call')).toMatchObject([
      { toolCallId: lima, input: { city: 'Lima' }, client: true },
      { toolCallId: quito, input: { city: 'Quito' }, client: true },
    ]);
    // The engine's contract lets a result be missing (the HTTP layer asks for all of them).
    const resumed = await run({
      messages: [
        ...history,
        { role: 'assistant', content: '', toolCalls: first.toolCalls },
        { role: 'tool', content: 'ZX-LIMA 24 C', toolCallId: lima },
      ],
      tools: [weather],
      resume: stored(first.checkpoint),
    });
    expect(finished(resumed).text).toBe('Warm enough. [[unanswered]]');
    expect(resumed.slice(1, 3)).toMatchObject([
      { type: 'tool_result', toolCallId: lima, toolName: 'get_weather', output: 'ZX-LIMA 24 C', isError: false },
      {
        type: 'tool_result',
        toolCallId: quito,
        toolName: 'get_weather',
        output: { error: 'The client sent no result for this call.' },
        isError: true,
        client: true,
      },
    ]);
    expect(book.requests(tag, 'supervisor')).toHaveLength(2);
  });
});

interface Backend {
  name: string;
  env: Record<string, string>;
  options: TestServerOptions;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-team-resume-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return { name: 'sqlite', env: { CORTEX_DATA_DIR: dir }, options: {} };
}

async function postgresBackend(): Promise<Backend> {
  const schema: TestSchema = await freshSchema('teamresume');
  cleanups.push(() => schema.drop().catch(() => {}));
  const dir = mkdtempSync(join(tmpdir(), 'cortex-team-resume-pg-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return {
    name: 'postgres',
    env: { CORTEX_DATABASE_URL: schema.url, CORTEX_DATA_DIR: dir },
    options: { schema: schema.schema },
  };
}

/** A live server running the real team (and its store) against the in-suite upstream. */
async function bootTeamServer(backend: Backend): Promise<{ server: TestServer; client: OpenAI }> {
  const server = await startTestServer(
    createTeam(config(upstream.baseUrl), new ToolRegistry()),
    backend.env,
    {},
    backend.options,
  );
  return { server, client: new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

const weatherTool: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: weather.name, parameters: weather.parameters } },
];

for (const make of [async () => sqliteBackend(), postgresBackend]) {
  describe('through the HTTP API with the official client, the real team and its store', async () => {
    const backend = await make();

    for (const restart of [false, true]) {
      it(`resumes from the whole resent history without a conversation id${restart ? ', after a restart' : ''} (${backend.name}): no specialist call repeated`, async () => {
        const tag = book.add(
          `http-${backend.name}-${restart}`,
          teamScript(`http-${backend.name}-${restart}`, {
            plan: {
              toolCalls: [
                ask('researcher', `Find the facts [[http-${backend.name}-${restart}]]`),
                ask('analyst', `Compute [[http-${backend.name}-${restart}]]`),
                { name: 'get_weather', arguments: { city: 'Rome' } },
              ],
            },
          }),
        );
        let { server, client } = await bootTeamServer(backend);
        try {
          const messages: OpenAI.ChatCompletionMessageParam[] = [
            { role: 'system', content: 'Answer briefly (ZX-CLIENT-SYSTEM).' },
            { role: 'user', content: `Rome today? [[${tag}]]` },
          ];
          const first = await client.chat.completions.create({ model: 'cortex-flow', messages, tools: weatherTool });
          expect(first.choices[0].finish_reason).toBe('tool_calls');
          expect(first.choices[0].message.content).toBeNull();
          const calls = first.choices[0].message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
          // Only the client's own call: delegation never reaches the client.
          expect(calls.map((c) => c.function)).toEqual([{ name: 'get_weather', arguments: '{"city":"Rome"}' }]);
          expect(book.requests(tag, 'researcher')).toHaveLength(1);
          expect(book.requests(tag, 'analyst')).toHaveLength(1);
          expect(book.requests(tag, 'writer')).toHaveLength(0);

          if (restart) {
            await server.close(); // the next server knows only what the store kept
            ({ server, client } = await bootTeamServer(backend));
          }
          const second = await client.chat.completions.create({
            model: 'cortex-flow',
            tools: weatherTool,
            messages: [
              ...messages,
              first.choices[0].message,
              { role: 'tool', tool_call_id: calls[0].id, content: 'ZX-ROME 25 C' },
            ],
          });
          expect(second.choices[0]).toMatchObject({
            finish_reason: 'stop',
            message: { content: `The answer is 42. [[${tag}]]` },
          });
          expect((second as any).metadata?.agents_used).toEqual(['researcher', 'analyst', 'writer']);
          // Zero repeated specialist calls; the supervisor went on from its paused turn.
          expect(book.requests(tag, 'researcher')).toHaveLength(1);
          expect(book.requests(tag, 'analyst')).toHaveLength(1);
          expect(book.requests(tag, 'supervisor').map(supervisorTurn)).toEqual([1, 2]);
          const writer = book.requests(tag, 'writer');
          expect(writer).toHaveLength(1);
          const writerPrompt = JSON.stringify(writer[0].body.messages);
          for (const expected of ['ZX-ROME 25 C', 'The researcher found 42.', 'ZX-CLIENT-SYSTEM'])
            expect(writerPrompt).toContain(expected);
        } finally {
          await server.close();
        }
      });
    }
  });
}

describe('upstream failures are named honestly', () => {
  it('a connection failure names its cause; the upstream URL only in the detail kept for the log, never the key', async () => {
    const dead = await startMockUpstream(() => ({ text: 'unused' }));
    const url = dead.baseUrl;
    await dead.close();
    const broken = createTeam(config(url), new ToolRegistry());
    const events: RunEvent[] = [];
    const input: RunInput = {
      runId: 'run_dead',
      conversationId: 'conv',
      model: 'cortex-flow',
      generation: {},
      messages: [{ role: 'user', content: 'Hello' }],
    };
    for await (const e of broken.run(input, new AbortController().signal)) events.push(e);
    const failed = events.find((e) => e.type === 'run_failed') as RunEventOf<'run_failed'>;
    expect(failed.error.code).toBe('upstream_unreachable');
    expect(failed.error.message).toMatch(/ECONNREFUSED/);
    expect(failed.error.message).not.toContain(new URL(url).host);
    expect(failed.error.detail).toContain(`${url}/chat/completions`);
    expect(JSON.stringify(failed)).not.toContain('sk-test-secret');
  });
});
