// A request still waiting for a run slot when the server starts shutting down is not started
// afterwards (the store is about to close): it gets 503 server_shutting_down, and the run that
// held the slot finishes normally.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const team = new RecordingOrchestrator({ answer: () => 'a slow answer, word by word', delayMs: 150 });
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, { CORTEX_MAX_CONCURRENT_RUNS: '1', CORTEX_QUEUE_TIMEOUT_SECONDS: '30' });
});
afterAll(() => srv.close());
const hi = (conversationId: string) => ({
  conversation_id: conversationId,
  messages: [{ role: 'user', content: 'hi' }],
});

describe('a shutdown and the requests waiting for a slot', () => {
  it('refuses to start them once the drain began', async () => {
    const running = chat(srv.baseUrl, hi('first'));
    await waitFor(() => team.inputs.length === 1, 5_000, 'the first run to start');
    const waiting = chat(srv.baseUrl, hi('second'));
    await waitFor(() => srv.deps.gate.queued === 1, 5_000, 'the second request to queue');
    expect(await srv.deps.activeRuns.drain(10_000)).toEqual({ finished: 1, stopped: 0 });
    expect((await running).status).toBe(200);
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('server_shutting_down');
    expect(team.inputs).toHaveLength(1);
    expect(srv.deps.gate.running).toBe(0);
  });
});
