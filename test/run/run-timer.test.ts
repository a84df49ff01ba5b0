// Issue 11 "Timeouts mean what they say": CORTEX_MAX_RUN_SECONDS bounds a run's work, never the
// delivery of an answer that was completed: such a stream ends with finish_reason and [DONE].
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { streamChat } from '../support/http-client.ts';

/** Answers at once, then takes its time to wind down (closing connections, writing logs...). */
class LingeringTeam implements Orchestrator {
  readonly engine = 'test-lingering';
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }
  async *run(input: RunInput): AsyncIterable<RunEvent> {
    yield { type: 'text_delta', text: 'Done.', at: Date.now() };
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text: 'Done.',
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at: Date.now(),
    };
    void input;
    await new Promise((r) => setTimeout(r, 1_500));
  }
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(new LingeringTeam(), { CORTEX_MAX_RUN_SECONDS: '1' });
});
afterAll(() => srv.close());

describe('the run timer and a completed answer', () => {
  it('never turns a completed stream into an error frame', async () => {
    const r = await streamChat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] });
    expect(r.frames.some((f) => f.error)).toBe(false);
    expect(r.frames.some((f) => f.choices?.[0]?.finish_reason === 'stop')).toBe(true);
    expect(r.done).toBe(true);
  });

  it('never turns a completed JSON answer into a 504', async () => {
    const r = await chat(srv.baseUrl, { conversation_id: 'on-time', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toBe('Done.');
    const run: any = await (await fetch(`${srv.baseUrl}/v1/runs/${r.body.metadata.run_id}`)).json();
    expect(run.status).toBe('completed');
  });
});

/** Starts the researcher, whose tool call then works until the run is stopped. */
class StallingTeam implements Orchestrator {
  readonly engine = 'test-stalling';
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }
  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    yield { type: 'agent_started', agent: 'researcher', callId: 'researcher_1', task: 'Dig', at: Date.now() };
    yield {
      type: 'tool_call',
      agent: 'researcher',
      toolCallId: 'tool_1',
      toolName: 'fetch_url',
      input: { url: 'https://example.com/slow' },
      at: Date.now(),
    };
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
}

describe('the stored trace of a run stopped before it finished', () => {
  let stalling: TestServer;
  beforeAll(async () => {
    stalling = await startTestServer(new StallingTeam(), { CORTEX_MAX_RUN_SECONDS: '1' });
  });
  afterAll(() => stalling.close());
  const storedTrace = async (conversationId: string) => {
    await expect
      .poll(async () => (await stalling.store.listRuns(conversationId, '', { limit: 1 })).data[0]?.status)
      .not.toBe('running');
    return (await stalling.store.listRuns(conversationId, '', { limit: 1 })).data[0];
  };

  it('by the run timer: the agent at work finishes, not ok, and the run ends failed with the reason', async () => {
    const r = await chat(stalling.baseUrl, {
      conversation_id: 'stalled-timer',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(504);
    const run = await storedTrace('stalled-timer');
    expect(run.status).toBe('failed');
    const [finished, failed] = run.events.slice(-2);
    expect(finished).toMatchObject({ type: 'agent_finished', agent: 'researcher', callId: 'researcher_1', ok: false });
    expect((finished as any).error).toContain('CORTEX_MAX_RUN_SECONDS');
    expect(failed).toMatchObject({ type: 'run_failed', error: { status: 504, code: 'run_timeout' } });
  });

  it('by the run timer: the tool call at work ends with an error saying why, before its agent', async () => {
    const r = await chat(stalling.baseUrl, {
      conversation_id: 'stalled-tool',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(504);
    const run = await storedTrace('stalled-tool');
    const [result, finished] = run.events.slice(-3);
    expect(result).toMatchObject({
      type: 'tool_result',
      agent: 'researcher',
      toolCallId: 'tool_1',
      toolName: 'fetch_url',
      isError: true,
      output: { error: expect.stringContaining('CORTEX_MAX_RUN_SECONDS') },
    });
    expect(finished).toMatchObject({ type: 'agent_finished', agent: 'researcher', ok: false });
  });

  it('by the client leaving: the agent at work finishes, not ok, saying so', async () => {
    // The client leaves by closing a connection of its own. (Aborting a fetch does the same on the
    // wire, but undici's pool then opens a fresh connection that carries no request. Node counts such
    // a connection as busy, not idle, and stops cutting silent ones once closing: unless a later test
    // sends its request on it, the server's close() in afterAll waits until undici drops it, about
    // 70 s later, after the 72 s keep-alive the server announces.)
    const leaving = request(`${stalling.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    leaving.on('error', () => {}); // the hang-up the client caused itself
    const left = new Promise((resolve) => leaving.once('close', resolve));
    leaving.end(
      JSON.stringify({
        model: 'cortex-flow',
        conversation_id: 'stalled-left',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    await expect
      .poll(async () => (await stalling.store.listRuns('stalled-left', '', { limit: 1 })).data.length)
      .toBe(1);
    leaving.destroy();
    await left;
    const run = await storedTrace('stalled-left');
    expect(run.status).toBe('cancelled');
    expect(run.events.at(-1)).toMatchObject({
      type: 'agent_finished',
      agent: 'researcher',
      ok: false,
      error: 'The client disconnected before the run finished.',
    });
  });

  it('by the run timer: a live follower of the run sees it end as its stored trace does', async () => {
    const asked = chat(stalling.baseUrl, {
      conversation_id: 'stalled-followed',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await expect
      .poll(async () => (await stalling.store.listRuns('stalled-followed', '', { limit: 1 })).data.length)
      .toBe(1);
    const { id } = (await stalling.store.listRuns('stalled-followed', '', { limit: 1 })).data[0];
    const followed = await fetch(`${stalling.baseUrl}/v1/runs/${id}/events`);
    const body = await followed.text();
    expect((await asked).status).toBe(504);
    const live = body
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice(6)));
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(live.map((e) => e.type)).toEqual([
      'run_started',
      'agent_started',
      'tool_call',
      'tool_result',
      'agent_finished',
      'run_failed',
    ]);
    expect(live).toEqual((await storedTrace('stalled-followed')).events);
  });
});
