// GET /v1/runs/{id}/events as a plain SSE client sees it (fetch, no SDK), and GET /v1/stats: a
// finished run replays its stored events; a running one streams live, from its start, until it ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ask as delegate, ScriptBook, teamScript, until } from '../support/team-script.ts';
import { startTeamApp } from '../support/team-app.ts';

let upstream: MockUpstream;
let book: ScriptBook;
let dataDir: string;
let app: App;
let baseUrl: string;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-run-events-'));
  ({ app, baseUrl } = await startTeamApp(upstream.baseUrl, dataDir, { CORTEX_SSE_KEEPALIVE_SECONDS: '0' }));
});

afterAll(async () => {
  await app?.close();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const ask = (tag: string, stream = false) =>
  fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      stream,
      messages: [{ role: 'user', content: `What is the answer? [[${tag}]]` }],
    }),
  });

/** Reads an SSE response to its end: the JSON of each `data:` line, and whether `[DONE]` closed it. */
async function readEvents(response: Response, onEvent?: (e: any) => void) {
  const events: any[] = [];
  let done = false;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') done = true;
      else {
        const event = JSON.parse(data);
        events.push(event);
        onEvent?.(event);
      }
    }
  }
  return { events, done };
}

const agentSteps = (events: any[]) =>
  events.filter((e) => e.type === 'agent_started').map((e) => `${e.agent}:${e.callId}`);

describe('GET /v1/runs/{id}/events', () => {
  it('replays a finished run: its events from run_started to run_finished, each agent event naming its agent', async () => {
    const res = await ask(book.add('replayed', teamScript('replayed')));
    expect(res.status).toBe(200);
    const runId = res.headers.get('x-cortex-run-id')!;
    const stored = (await (await fetch(`${baseUrl}/v1/runs/${runId}`)).json()) as any;

    const events = await fetch(`${baseUrl}/v1/runs/${runId}/events`);
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events: replayed, done } = await readEvents(events);
    expect(done).toBe(true);
    expect(replayed).toEqual(stored.events);
    expect(replayed[0]).toMatchObject({ type: 'run_started', runId });
    expect(replayed.at(-1)).toMatchObject({ type: 'run_finished', finishReason: 'stop' });
    for (const e of replayed.filter((e) => /^(agent_|tool_|progress)/.test(e.type)))
      expect(typeof e.agent).toBe('string');
    expect(new Set(replayed.filter((e) => e.type === 'agent_started').map((e) => e.agent))).toEqual(
      new Set(['researcher', 'analyst', 'writer']),
    );
  });

  it('streams a running run live from its start until it ends', async () => {
    // The writer takes its time, so the run is still running when the follower arrives.
    const tag = book.add(
      'live',
      teamScript('live', {
        writer: { text: 'The answer is 42, written slowly. [[live]]', chunkSize: 4, chunkDelayMs: 60 },
      }),
    );
    const chat = ask(tag, true);
    const res = await chat;
    const runId = res.headers.get('x-cortex-run-id')!;
    const chatDone = (async () => {
      for await (const _ of res.body!);
    })();
    await until(() => book.requests(tag, 'writer').length > 0, 'the writer to start');
    expect(((await (await fetch(`${baseUrl}/v1/runs/${runId}`)).json()) as any).status).toBe('running');

    let sawLiveDelta = false;
    const { events, done } = await readEvents(await fetch(`${baseUrl}/v1/runs/${runId}/events`), (e) => {
      if (e.type === 'text_delta') sawLiveDelta = true;
    });
    await chatDone;
    expect(done).toBe(true);
    expect(sawLiveDelta).toBe(true);
    expect(events[0]).toMatchObject({ type: 'run_started', runId });
    expect(events.at(-1)).toMatchObject({ type: 'run_finished' });
    // Live, the answer arrives delta by delta; the stored trace folds them, but the steps are the same.
    expect(events.filter((e) => e.type === 'text_delta').length).toBeGreaterThan(1);
    expect(events.map((e) => (e.type === 'text_delta' ? e.text : '')).join('')).toBe(
      'The answer is 42, written slowly. [[live]]',
    );
    const stored = (await (await fetch(`${baseUrl}/v1/runs/${runId}`)).json()) as any;
    expect(stored.status).toBe('completed');
    expect(agentSteps(events)).toEqual(agentSteps(stored.events));
  });

  it('waits for a run served elsewhere (another replica) and replays it once stored', async () => {
    // A run begun in the store by someone else: this process has no live events for it.
    const store = app.deps.store!;
    const runId = 'run_elsewhere-1';
    await store.beginTurn({
      conversationId: 'conv_elsewhere',
      owner: '',
      title: 'elsewhere',
      messages: [{ role: 'user', content: 'hi', tokenCount: 1 }],
      runs: [{ id: runId, model: 'cortex-flow', startedAt: new Date().toISOString() }],
    });
    // Once the stream's headers are in, the route has read the run as running: it is waiting.
    const response = await fetch(`${baseUrl}/v1/runs/${runId}/events`);
    expect(response.status).toBe(200);
    const following = readEvents(response);
    const events: RunEvent[] = [
      { type: 'run_started', runId, model: 'cortex-flow', at: 1 },
      { type: 'run_finished', finishReason: 'stop', text: 'hello', agentsUsed: [], iterations: 1, sources: [], at: 2 },
    ];
    const stored = await store.getRun(runId, '');
    await store.finishTurn({
      conversationId: 'conv_elsewhere',
      owner: '',
      title: 'elsewhere',
      messages: [],
      answer: { role: 'assistant', content: 'hello', tokenCount: 1 },
      run: { ...stored!, status: 'completed', events, finishedAt: new Date().toISOString() },
    });
    const { events: replayed, done } = await following;
    expect(done).toBe(true);
    expect(replayed.map((e) => e.type)).toEqual(['run_started', 'run_finished']);
  });

  it('answers 404 in the envelope for an unknown run', async () => {
    const res = await fetch(`${baseUrl}/v1/runs/run_nope/events`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('run_not_found');
  });
});

describe('GET /v1/stats', () => {
  it('counts the last hour of runs from the store: runs, errors, tokens by agent, latency percentiles', async () => {
    const before = (await (await fetch(`${baseUrl}/v1/stats?window=3600`)).json()) as any;
    const tag = book.add('failing', () => ({ status: 400, error: { message: 'bad request upstream' } }));
    expect((await ask(tag)).status).toBeGreaterThanOrEqual(400);
    expect((await ask(book.add('counted', teamScript('counted')))).status).toBe(200);

    const after = (await (await fetch(`${baseUrl}/v1/stats?window=3600`)).json()) as any;
    expect(after.runs).toBe(before.runs + 2);
    expect(after.errors).toBe(before.errors + 1);
    expect(after.by_status.failed).toBe((before.by_status.failed ?? 0) + 1);
    expect(Object.keys(after.tokens_by_agent)).toEqual(
      expect.arrayContaining(['supervisor', 'researcher', 'analyst', 'writer']),
    );
    expect(after.latency_seconds.p50).toBeGreaterThan(0);
    expect(after.latency_seconds.p95).toBeGreaterThanOrEqual(after.latency_seconds.p50);
    expect((await fetch(`${baseUrl}/v1/stats?window=5`)).status).toBe(400);
  });
});

describe("a client's tools in the trace", () => {
  const weather = {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  };
  const post = (path: string, body: unknown) =>
    fetch(`${baseUrl}/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const storedRun = async (runId: string) => (await (await fetch(`${baseUrl}/v1/runs/${runId}`)).json()) as any;
  /** The events a timeline draws: all but the answer's deltas, which the stored trace folds. */
  const steps = (events: any[]) => events.filter((e) => e.type !== 'text_delta');

  it('the paused run ends with the call, the resumed one starts with the result: live as stored', async () => {
    // A slow researcher keeps the first run going while it is followed; a slow writer the second.
    const tag = book.add(
      'client-tool',
      teamScript('client-tool', {
        plan: {
          toolCalls: [
            delegate('researcher', 'Find the facts [[client-tool]]'),
            { name: weather.name, arguments: { city: 'Oslo' } },
          ],
        },
        specialist: (agent) => ({ text: `The ${agent} found 42. [[client-tool]]`, delayMs: 300 }),
        writer: { text: 'Wear a coat. [[client-tool]]', chunkSize: 4, chunkDelayMs: 40 },
      }),
    );
    const messages = [{ role: 'user', content: `Oslo today? [[${tag}]]` }];
    const tools = [{ type: 'function', function: weather }];
    const paused = post('chat/completions', { model: 'cortex-flow', stream: true, messages, tools });
    const res = await paused;
    const pausedId = res.headers.get('x-cortex-run-id')!;
    const chunks = readEvents(res);
    await until(() => book.requests(tag, 'researcher').length > 0, 'the researcher to start');
    expect((await storedRun(pausedId)).status).toBe('running');
    const live = (await readEvents(await fetch(`${baseUrl}/v1/runs/${pausedId}/events`))).events;
    const call = (await chunks).events.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? [])[0];
    expect(call.function.name).toBe('get_weather');

    const callEvent = {
      type: 'tool_call',
      agent: 'supervisor',
      toolCallId: call.id,
      toolName: 'get_weather',
      input: { city: 'Oslo' },
      client: true,
      at: expect.any(Number),
    };
    expect(live.filter((e) => e.type === 'tool_call')).toEqual([callEvent]);
    expect(live.at(-1)).toMatchObject({ type: 'run_finished', finishReason: 'tool_calls' });
    const first = await storedRun(pausedId);
    expect(first.status).toBe('tool_calls');
    expect(steps(first.events)).toEqual(steps(live));

    const resumed = await post('chat/completions', {
      model: 'cortex-flow',
      stream: true,
      tools,
      messages: [
        ...messages,
        { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: call.function }] },
        { role: 'tool', tool_call_id: call.id, content: 'ZX-OSLO -3 C' },
      ],
    });
    const resumedId = resumed.headers.get('x-cortex-run-id')!;
    const answer = readEvents(resumed);
    await until(() => book.requests(tag, 'writer').length > 0, 'the writer to start');
    expect((await storedRun(resumedId)).status).toBe('running');
    const liveResumed = (await readEvents(await fetch(`${baseUrl}/v1/runs/${resumedId}/events`))).events;
    await answer;
    expect(liveResumed.slice(0, 2)).toEqual([
      expect.objectContaining({ type: 'run_started', runId: resumedId }),
      {
        type: 'tool_result',
        agent: 'supervisor',
        toolCallId: call.id,
        toolName: 'get_weather',
        output: 'ZX-OSLO -3 C',
        isError: false,
        client: true,
        at: expect.any(Number),
      },
    ]);
    expect(liveResumed.filter((e) => e.type === 'tool_call')).toEqual([]);
    const second = await storedRun(resumedId);
    expect(second.status).toBe('completed');
    expect(steps(second.events)).toEqual(steps(liveResumed));
  });

  it('the same over the Responses API: a function_call and the function_call_output that resumes it', async () => {
    const tag = book.add(
      'responses-tool',
      teamScript('responses-tool', { plan: { toolCalls: [{ name: weather.name, arguments: { city: 'Rome' } }] } }),
    );
    const tools = [{ type: 'function', ...weather }];
    const res = await post('responses', { model: 'cortex-flow', input: `Rome today? [[${tag}]]`, tools });
    expect(res.status).toBe(200);
    const response = (await res.json()) as any;
    const call = response.output.find((o: any) => o.type === 'function_call');
    const first = await storedRun(res.headers.get('x-cortex-run-id')!);
    expect(first.status).toBe('tool_calls');
    expect(first.events.filter((e: any) => e.type === 'tool_call')).toEqual([
      expect.objectContaining({ agent: 'supervisor', toolCallId: call.call_id, toolName: 'get_weather', client: true }),
    ]);

    const next = await post('responses', {
      model: 'cortex-flow',
      previous_response_id: response.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'ZX-ROME 25 C' }],
      tools,
    });
    expect(next.status).toBe(200);
    const message = ((await next.json()) as any).output.find((o: any) => o.type === 'message');
    expect(message.content[0].text).toBe(`The answer is 42. [[${tag}]]`);
    const second = await storedRun(next.headers.get('x-cortex-run-id')!);
    expect(second.events[1]).toMatchObject({
      type: 'tool_result',
      agent: 'supervisor',
      toolCallId: call.call_id,
      toolName: 'get_weather',
      output: 'ZX-ROME 25 C',
      isError: false,
      client: true,
    });
    const replayed = await readEvents(await fetch(`${baseUrl}/v1/runs/${second.id}/events`));
    expect(replayed.events).toEqual(second.events);
  });
});
