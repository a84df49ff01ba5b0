// A shutdown and the requests it refuses. One still waiting for a run slot when the drain begins is
// not started afterwards (the store is about to close): it gets 503 server_shutting_down saying that
// nothing was stored, and the run that held the slot finishes normally. A run that outlasts the
// drain's grace is stopped, and its client is told its turn was stored with what the run produced.
// Both are refusals the server means to give: logged as warnings, without a stack.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function start(team: RecordingOrchestrator) {
  const lines: any[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  srv = await startTestServer(
    team,
    { CORTEX_MAX_CONCURRENT_RUNS: '1', CORTEX_QUEUE_TIMEOUT_SECONDS: '30', CORTEX_LOG_LEVEL: 'info' },
    {},
    { logStream },
  );
  return { srv, logsOf: (reqId: string) => lines.filter((l) => l.reqId === reqId) };
}

const hi = (conversationId: string) => ({
  conversation_id: conversationId,
  messages: [{ role: 'user', content: 'hi' }],
});
const WARN = 40;

/** The request's log lines at warning level or above: one warning naming the refusal, no stack. */
function expectLoggedAsRefusal(lines: any[], message: string) {
  const loud = lines.filter((l) => l.level >= WARN);
  expect(loud).toEqual([expect.objectContaining({ level: WARN, code: 'server_shutting_down', msg: message })]);
  expect(JSON.stringify(loud)).not.toContain('stack');
}

describe('a shutdown and the requests waiting for a slot', () => {
  it('refuses to start them once the drain began, saying that nothing was stored', async () => {
    const team = new RecordingOrchestrator({ answer: () => 'a slow answer, word by word', delayMs: 150 });
    const { srv, logsOf } = await start(team);
    const running = chat(srv.baseUrl, hi('first'));
    await waitFor(() => team.inputs.length === 1, 5_000, 'the first run to start');
    const waiting = chat(srv.baseUrl, hi('second'), { 'x-request-id': 'req-waiting' });
    await waitFor(() => srv.deps.gate.queued === 1, 5_000, 'the second request to queue');
    expect(await srv.deps.activeRuns.drain(10_000)).toEqual({ finished: 1, stopped: 0 });
    expect((await running).status).toBe(200);
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('server_shutting_down');
    const message = 'The server is shutting down, so the run was not started and nothing was stored. Please retry.';
    expect(refused.body.error.message).toBe(message);
    expect(refused.headers.get('x-cortex-run-id')).toBeNull();
    expect(refused.headers.get('retry-after')).toBe('1'); // the SDKs retry it, after that wait
    expect(team.inputs).toHaveLength(1);
    expect(srv.deps.gate.running).toBe(0);
    expect((await fetch(`${srv.baseUrl}/v1/conversations/second`)).status).toBe(404);
    expectLoggedAsRefusal(logsOf('req-waiting'), message);
  });
});

describe('a shutdown and a run that outlasts its grace', () => {
  it('stops it and says the turn was stored with what the run had produced', async () => {
    const team = new RecordingOrchestrator({ answer: () => 'a very slow answer, word by word', delayMs: 200 });
    const { srv, logsOf } = await start(team);
    const running = chat(srv.baseUrl, hi('slow'), { 'x-request-id': 'req-stopped' });
    await waitFor(() => team.inputs.length === 1, 5_000, 'the run to start');
    expect(await srv.deps.activeRuns.drain(0)).toEqual({ finished: 0, stopped: 1 });
    const stopped = await running;
    expect(stopped.status).toBe(503);
    const message =
      'The server is shutting down and stopped the run; the turn was stored with what the run had produced. Please retry.';
    expect(stopped.body.error).toMatchObject({ code: 'server_shutting_down', message });
    expect(stopped.headers.get('retry-after')).toBe('1'); // as the README says of every server_shutting_down
    const run = await (await fetch(`${srv.baseUrl}/v1/runs/${stopped.body.error.run_id}`)).json();
    expect(run).toMatchObject({ status: 'failed', error: message });
    const conversation = await (await fetch(`${srv.baseUrl}/v1/conversations/slow`)).json();
    expect(conversation.messages[0]).toMatchObject({ role: 'user', content: 'hi' });
    expectLoggedAsRefusal(logsOf('req-stopped'), message);
  });
});
