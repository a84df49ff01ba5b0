// Issue 11 "Timeouts mean what they say": CORTEX_MAX_RUN_SECONDS bounds a run's work, never the
// delivery of an answer that was completed: such a stream ends with finish_reason and [DONE].
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
