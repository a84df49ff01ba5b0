// Issue 19 item 6: a request waiting for its conversation's lock holds no run slot, stops waiting
// when its client leaves, and waits at most CORTEX_CONVERSATION_WAIT_SECONDS (then 409).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { sleep, waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const team = new RecordingOrchestrator();
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, {
    CORTEX_MAX_CONCURRENT_RUNS: '2',
    CORTEX_QUEUE_TIMEOUT_SECONDS: '0.2',
    CORTEX_CONVERSATION_WAIT_SECONDS: '1',
  });
});
afterAll(() => srv.close());
beforeEach(() => {
  team.inputs.length = 0;
});

const turn = (conversationId: string, content: string, signal?: AbortSignal) =>
  fetch(`${srv.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      conversation_id: conversationId,
      messages: [{ role: 'user', content }],
    }),
    signal,
  });

/** A turn that streams slowly (about 1.5 s), holding its conversation and one run slot. */
async function startSlowTurn(conversationId: string) {
  team.options = {
    answer: (i) => (i.messages.at(-1)?.content === 'slow' ? 'a slow answer, word by word' : 'quick'),
    delayMs: 200,
  };
  const slow = turn(conversationId, 'slow');
  await waitFor(() => team.inputs.length === 1, 5_000, 'the slow turn to start');
  return { slow }; // not the promise itself: an async function would wait for it
}

describe('waiting for a busy conversation', () => {
  it('holds no run slot: other conversations are served while turns wait for the busy one', async () => {
    const { slow } = await startSlowTurn('busy-1');
    const waiters = [new AbortController(), new AbortController()];
    const waiting = waiters.map((c) => turn('busy-1', 'me too', c.signal).catch(() => undefined));
    await sleep(100);
    // Two turns wait for busy-1; one slot of two is taken: another conversation still gets the other.
    const other = await chat(srv.baseUrl, {
      conversation_id: 'elsewhere',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(other.status).toBe(200);
    waiters.forEach((c) => c.abort());
    await Promise.all(waiting);
    expect((await slow).status).toBe(200);
  });

  it('stops waiting when its client leaves: the abandoned turn is never run nor stored', async () => {
    const { slow } = await startSlowTurn('busy-2');
    const leaving = new AbortController();
    const abandoned = turn('busy-2', 'never mind', leaving.signal).catch(() => 'aborted');
    await sleep(100);
    leaving.abort();
    expect(await abandoned).toBe('aborted');
    expect((await slow).status).toBe(200);
    await sleep(300); // time for a turn that (wrongly) still waited to run
    expect(team.inputs.map((i) => `${i.conversationId}: ${i.messages.at(-1)?.content}`)).toEqual(['busy-2: slow']);
    const stored = (await srv.store.getMessages('busy-2')).map((m) => m.content);
    expect(stored).not.toContain('never mind');
    expect(srv.deps.gate.running).toBe(0);
  });

  it('gives up after CORTEX_CONVERSATION_WAIT_SECONDS with 409 conversation_busy', async () => {
    team.options = { answer: () => 'a very slow answer that takes some seconds to write', delayMs: 200 };
    const slow = turn('busy-3', 'slow');
    await waitFor(() => team.inputs.length === 1, 5_000, 'the slow turn to start');
    const refused = await chat(srv.baseUrl, {
      conversation_id: 'busy-3',
      messages: [{ role: 'user', content: 'again' }],
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'conversation_busy', param: 'conversation_id' });
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect((await slow).status).toBe(200);
  });
});
