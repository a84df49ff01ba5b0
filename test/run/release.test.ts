// Issue 19 item 3: whatever fails after a request was admitted (memory preparation, the engine at
// its call, the response headers), the run gives back its slot, the conversation's lock and its
// shutdown entry. With two run slots, a stream of such failures must leave the server serving.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredMemory } from '../../src/conversation/stored.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { streamChat } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const faults = { prepare: false, engine: false };

/** The recording team, or one that throws when it is called (a bug, not a failed upstream). */
class FaultyTeam implements Orchestrator {
  readonly engine = 'test-faulty';
  private readonly inner = new RecordingOrchestrator();
  models(): ModelInfo[] {
    return this.inner.models();
  }
  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    if (faults.engine) throw new Error('engine bug');
    return this.inner.run(input, signal);
  }
}

const failingPrepare = (memory: StoredMemory) =>
  new Proxy(memory, {
    get(target, prop) {
      if (prop === 'prepare' && faults.prepare) return async () => Promise.reject(new Error('disk on fire'));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(
    new FaultyTeam(),
    { CORTEX_MAX_CONCURRENT_RUNS: '2', CORTEX_QUEUE_TIMEOUT_SECONDS: '0.2', CORTEX_CONVERSATION_WAIT_SECONDS: '0.5' },
    {},
    {
      wrapMemory: failingPrepare,
      // A header Node refuses to write, set before the stream takes over the socket.
      configure: (server) =>
        server.addHook('onRequest', async (request, reply) => {
          if (request.headers['x-test-bad-header']) reply.header('x-test-echo', '会话');
        }),
    },
  );
});
afterAll(() => srv.close());

const hi = (stream: boolean) => ({ conversation_id: 'shared', stream, messages: [{ role: 'user', content: 'hi' }] });

async function expectServing() {
  // A run that answered from inside its lifecycle (a stream's own error body) gives its resources
  // back as it is disposed, right after that answer: a store call or two later, not before.
  await vi.waitFor(
    () => {
      expect(srv.deps.gate.running).toBe(0);
      expect(srv.deps.activeRuns.size).toBe(0);
    },
    { timeout: 2000, interval: 5 },
  );
  // The conversation's lock was released too: a new turn on it is served at once.
  const ok = await chat(srv.baseUrl, hi(false));
  expect(ok.status).toBe(200);
  expect(ok.body.choices[0].message.content).toBe('Echo: hi');
}

describe('a run releases its slot, lock and shutdown entry whatever fails', () => {
  it('when preparing the memory fails (JSON and stream)', async () => {
    faults.prepare = true;
    try {
      for (let i = 0; i < 3; i++) {
        const plain = await chat(srv.baseUrl, hi(false));
        expect(plain.status).toBe(500);
        expect(plain.body.error.type).toBe('server_error');
        const streamed = await streamChat(srv.baseUrl, hi(true));
        expect(streamed.status).toBe(500);
      }
    } finally {
      faults.prepare = false;
    }
    await expectServing();
  });

  it('when the engine throws at its call (JSON and stream), naming the failed run', async () => {
    faults.engine = true;
    try {
      for (let i = 0; i < 3; i++) {
        const plain = await chat(srv.baseUrl, hi(false));
        expect(plain.status).toBe(500);
        expect(plain.body.error.run_id).toMatch(/^run_/);
        expect(plain.headers.get('x-cortex-run-id')).toBe(plain.body.error.run_id);
        // ...and the conversation that holds the failed turn, which a retry can name.
        const held = await fetch(`${srv.baseUrl}/v1/runs?conversation_id=${plain.headers.get('x-conversation-id')}`);
        expect(((await held.json()) as any).data.map((r: any) => r.id)).toContain(plain.body.error.run_id);
        const streamed = await streamChat(srv.baseUrl, hi(true));
        expect(streamed.frames.at(-1).error).toMatchObject({ type: 'server_error', run_id: expect.any(String) });
        expect(streamed.done).toBe(false);
      }
    } finally {
      faults.engine = false;
    }
    await expectServing();
  });

  it('when writing the stream headers fails after the socket was taken over', async () => {
    for (let i = 0; i < 3; i++) {
      const streamed = await streamChat(srv.baseUrl, hi(true), { 'x-test-bad-header': '1' });
      expect(streamed.status).toBe(500);
      expect(JSON.parse(streamed.text).error).toMatchObject({ type: 'server_error', run_id: expect.any(String) });
    }
    await expectServing();
  });

  it('answers a streamed request whose conversation id Node cannot put in a header, and keeps serving', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await streamChat(srv.baseUrl, { ...hi(true), conversation_id: '会话-1' });
      // Refused at the edge (a documented id charset), or served with the id percent-encoded.
      expect([200, 400]).toContain(r.status);
      if (r.status === 200) {
        expect(decodeURIComponent(r.headers.get('x-conversation-id')!)).toBe('会话-1');
        expect(r.done).toBe(true);
      }
      const plain = await chat(srv.baseUrl, { ...hi(false), conversation_id: '会话-1' });
      expect([200, 400]).toContain(plain.status);
      expect(plain.body.error ?? plain.body.conversation_id).toBeTruthy(); // the envelope or an answer
    }
    await expectServing();
  });

  it('leaves a shutdown nothing to wait for (run last: the drain closes the server to new runs)', async () => {
    expect(await srv.deps.activeRuns.drain(0)).toEqual({ finished: 0, stopped: 0 });
  });
});
