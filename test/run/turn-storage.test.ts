// Issue 19 items 9 and 21: a turn is written when its run starts (the user's message and a
// `running` run), and the client is told of success only once the turn is stored; a turn that
// could not be stored is an error (503 turn_not_stored, or an error frame instead of [DONE]).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMemory } from '../../src/conversation/stored.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { streamChat, waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

/** `recordOnce`: only the turn's first record fails (a store briefly unreachable). */
const faults = { record: false, begin: false, recordOnce: false };
const failingRecord = (memory: StoredMemory) =>
  new Proxy(memory, {
    get(target, prop) {
      if ((prop === 'record' && (faults.record || faults.recordOnce)) || (prop === 'begin' && faults.begin)) {
        faults.recordOnce = false;
        return async () => Promise.reject(new Error('connection lost'));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

const team = new RecordingOrchestrator();
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, {}, {}, { wrapMemory: failingRecord });
});
afterAll(() => srv.close());
const ask = (conversationId: string, content = 'hi') => ({
  conversation_id: conversationId,
  messages: [{ role: 'user', content }],
});

describe('a turn that could not be stored', () => {
  it('is an error, never a 200, naming the run', async () => {
    faults.record = true;
    try {
      const r = await chat(srv.baseUrl, ask('lost-json'));
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: 'turn_not_stored', run_id: expect.stringMatching(/^run_/) });
      expect(r.headers.get('x-cortex-run-id')).toBe(r.body.error.run_id);
    } finally {
      faults.record = false;
    }
  });

  it('ends a stream with an error frame instead of [DONE]', async () => {
    faults.record = true;
    try {
      const r = await streamChat(srv.baseUrl, ask('lost-stream'));
      expect(r.status).toBe(200);
      expect(r.frames.some((f) => f.choices?.[0]?.finish_reason === 'stop')).toBe(true);
      expect(r.frames.at(-1).error).toMatchObject({ code: 'turn_not_stored' });
      expect(r.done).toBe(false);
    } finally {
      faults.record = false;
    }
  });

  it('ends its run as failed, with the reason the client got, not running for good; a resend retries the turn', async () => {
    faults.recordOnce = true;
    const r = await chat(srv.baseUrl, ask('lost-once', 'first try'));
    expect(r.status).toBe(503);
    const runId = r.body.error.run_id;
    const run: any = await (await fetch(`${srv.baseUrl}/v1/runs/${runId}`)).json();
    expect(run).toMatchObject({ status: 'failed', error: r.body.error.message });
    expect(run.finished_at).toEqual(expect.any(Number));
    // Its events end (a follower of a run `running` in the store would wait for it), with its trace.
    const events = await fetch(`${srv.baseUrl}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(5_000) });
    expect(await events.text()).toContain('[DONE]');
    // The client's retry replaces the failed turn instead of adding the question a second time.
    const retry = await chat(srv.baseUrl, ask('lost-once', 'first try'));
    expect(retry.status).toBe(200);
    const stored = await srv.store.getMessages('lost-once');
    expect(stored.map((m) => m.content)).toEqual(['first try', 'Echo: first try']);
  });
});

describe('a turn whose first write fails', () => {
  it('stops the run it had started, records nothing and releases the conversation', async () => {
    // Four deltas, 400 ms apart: 1.6 s if the run were left to finish.
    team.options = { answer: () => 'slow and long', delayMs: 400 };
    faults.begin = true;
    try {
      const started = Date.now();
      const r = await chat(srv.baseUrl, ask('begin-fails'));
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(r.body.error).toBeDefined();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(team.inputs.some((i) => i.conversationId === 'begin-fails')).toBe(true); // it had started
    } finally {
      faults.begin = false;
      team.options = {};
    }
    expect(await srv.store.getMessages('begin-fails')).toEqual([]);
    const runs: any = await (await fetch(`${srv.baseUrl}/v1/runs?conversation_id=begin-fails`)).json();
    expect(runs.data ?? []).toEqual([]);
    // The lock and the run slots were given back: the next turn of the conversation is served.
    const next = await chat(srv.baseUrl, ask('begin-fails', 'again'));
    expect(next.status).toBe(200);
    expect((await srv.store.getMessages('begin-fails')).map((m) => m.content)).toEqual(['again', 'Echo: again']);
  });
});

describe('a turn in progress', () => {
  it('is stored from the start: the user message and a running run, completed at the end', async () => {
    team.options = { answer: () => 'a slow answer, word by word', delayMs: 150 };
    let answered = false;
    const pending = chat(srv.baseUrl, ask('in-progress', 'remember me')).finally(() => (answered = true));
    await waitFor(() => team.inputs.some((i) => i.conversationId === 'in-progress'), 5_000, 'the run to start');
    // Written as the run starts (the write overlaps its first upstream call), long before it ends.
    await waitFor(async () => (await srv.store.getMessages('in-progress')).length > 0, 5_000, 'the turn to be written');
    const messages = await srv.store.getMessages('in-progress');
    expect(messages.map((m) => `${m.role}: ${m.content}`)).toEqual(['user: remember me']);
    const running: any = await (await fetch(`${srv.baseUrl}/v1/runs?conversation_id=in-progress`)).json();
    expect(answered).toBe(false);
    expect(running.data).toHaveLength(1);
    expect(running.data[0]).toMatchObject({ status: 'running', finished_at: null });
    const r = await pending;
    expect(r.status).toBe(200);
    const done: any = await (await fetch(`${srv.baseUrl}/v1/runs/${r.body.metadata.run_id}`)).json();
    expect(done).toMatchObject({ id: running.data[0].id, status: 'completed' });
    team.options = {};
  });
});

describe('a long run', () => {
  it('writes its trace so far while it runs, so that a process killed mid-run leaves it', async () => {
    const slow = new RecordingOrchestrator({ answer: () => 'a long answer, four letters at a time', delayMs: 100 });
    const saving = await startTestServer(slow, { CORTEX_TRACE_SAVE_SECONDS: '0.2' });
    try {
      const pending = chat(saving.baseUrl, ask('long-run', 'take your time'));
      await waitFor(() => slow.inputs.length > 0, 5_000, 'the run to start');
      const runId = slow.inputs[0].runId;
      await waitFor(
        async () => ((await saving.store.getRun(runId, ''))?.events.length ?? 0) > 1,
        5_000,
        'the trace so far to be written',
      );
      const running = (await saving.store.getRun(runId, ''))!;
      expect(running.status).toBe('running');
      expect(running.events.map((e) => e.type)).toContain('run_started');
      const r = await pending;
      expect(r.status).toBe(200);
      const done = (await saving.store.getRun(runId, ''))!;
      expect(done.status).toBe('completed');
      expect(done.events.at(-1)).toMatchObject({ type: 'run_finished' });
    } finally {
      await saving.close();
    }
  });
});
