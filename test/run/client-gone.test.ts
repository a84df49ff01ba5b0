// A client that goes away before its answer, at the moments the other suites do not reach: while
// the Responses route is still looking up what the request names (previous_response_id), and just
// before it sends the same request again (an SDK's retry after its timeout, a regenerate) while the
// abandoned run is still winding down. The run is stopped, its slot freed, and the resend continues
// the abandoned turn's conversation instead of storing its question a second time beside it.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { sleep, waitFor } from '../support/http-client.ts';

/** How long an agent's work in flight takes to stop once the run is (a tool call finishing). */
const WIND_DOWN_MS = 600;

/** Answers at once, or (`hang`) puts the researcher to work until the run is stopped. */
class HangingTeam implements Orchestrator {
  readonly engine = 'test-hanging';
  readonly inputs: RunInput[] = [];
  hang = false;
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }
  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    this.inputs.push(input);
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    if (this.hang) {
      yield { type: 'agent_started', agent: 'researcher', callId: 'r1', task: 'dig', at };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await sleep(WIND_DOWN_MS);
      return;
    }
    const text = `Answer to: ${input.messages.at(-1)?.content}`;
    yield { type: 'text_delta', text, at };
    yield { type: 'run_finished', finishReason: 'stop', text, agentsUsed: ['writer'], iterations: 1, sources: [], at };
  }
}

const team = new HangingTeam();
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, {
    CORTEX_MAX_CONCURRENT_RUNS: '1',
    CORTEX_QUEUE_TIMEOUT_SECONDS: '2',
    CORTEX_MAX_RUN_SECONDS: '10',
  });
});
afterAll(() => srv?.close());
beforeEach(() => {
  team.hang = false;
});

const asked = (content: string) => team.inputs.some((i) => i.messages.at(-1)?.content === content);
const post = (path: string, body: Record<string, unknown>, signal?: AbortSignal) =>
  fetch(`${srv.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', ...body }),
    signal,
  });

describe('a client that leaves before its run started', () => {
  it('while its Responses request looks up previous_response_id: no run starts, no slot is held', async () => {
    const first: any = await (await post('/v1/responses', { input: 'first' })).json();
    expect(first.status).toBe('completed');
    team.hang = true;
    // The store is slow to answer (a busy database): the client gives up meanwhile.
    const store = srv.store;
    const getResponse = store.getResponse.bind(store);
    let lookingUp = false;
    store.getResponse = async (...args) => {
      lookingUp = true;
      await sleep(300);
      return getResponse(...args);
    };
    try {
      const leave = new AbortController();
      const request = post('/v1/responses', { input: 'second', previous_response_id: first.id }, leave.signal).catch(
        () => undefined,
      );
      await waitFor(() => lookingUp, 5_000, 'the previous response to be looked up');
      leave.abort();
      await request;
      await sleep(500); // the lookup answers; a run that (wrongly) started for nobody would be running now
    } finally {
      store.getResponse = getResponse;
    }
    expect(asked('second')).toBe(false);
    // The only run slot is free: the next request is served, not refused after the queue's wait.
    team.hang = false;
    const next = await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'next' }] });
    expect(next.status).toBe(200);
    const stored = await (await fetch(`${srv.baseUrl}/v1/conversations/${first.metadata.conversation_id}`)).json();
    expect(stored.messages.map((m: any) => m.content)).not.toContain('second');
  });
});

describe('a client that hangs up and sends the same request again at once', () => {
  it('continues the abandoned turn in its conversation while its run still winds down: the question is kept once', async () => {
    const question = 'What changed in the last release?';
    team.hang = true;
    const leave = new AbortController();
    const request = post('/v1/chat/completions', { messages: [{ role: 'user', content: question }] }, leave.signal);
    const holders = async () => {
      const list: any = await (await fetch(`${srv.baseUrl}/v1/conversations?limit=100`)).json();
      return list.data.filter((c: any) => c.title === question).map((c: any) => c.id);
    };
    // The turn is stored (the question, a running run) and the run is at work.
    await waitFor(async () => asked(question) && (await holders()).length === 1, 5_000, 'the turn to begin');
    const [abandoned] = await holders();
    leave.abort();
    await request.catch(() => undefined);
    // The SDK's retry (no conversation id: the client resends its history) while the stopped run
    // is still winding down, its turn not recorded yet.
    team.hang = false;
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const again: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: question }],
    });
    expect(again.choices[0].message.content).toBe(`Answer to: ${question}`);

    // One conversation holds the question: the retry went on in the abandoned turn's conversation.
    expect(again.conversation_id).toBe(abandoned);
    expect(await holders()).toEqual([abandoned]);
    const stored: any = await (await fetch(`${srv.baseUrl}/v1/conversations/${again.conversation_id}`)).json();
    expect(stored.messages.map((m: any) => `${m.role}: ${m.content}`)).toEqual([
      `user: ${question}`,
      `assistant: Answer to: ${question}`,
    ]);
    const runs: any = await (await fetch(`${srv.baseUrl}/v1/runs?conversation_id=${again.conversation_id}`)).json();
    expect(runs.data.map((r: any) => r.status)).toEqual(['completed', 'cancelled']);
  });
});
