// How a response ends when its run does not simply complete: a failed run (an error envelope for
// JSON, response.failed when streamed, stored as failed either way) and an answer cut at
// max_output_tokens (incomplete, with the reason).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectEventShape, expectResponseShape, parseSse } from '../support/open-responses-schemas.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

/** Answers "one two three" cut short: finish reason `length`, as the writer's max_tokens makes it. */
class CutShortOrchestrator implements Orchestrator {
  readonly engine = 'test-cut-short';
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'team' }];
  }
  async *run(input: RunInput): AsyncIterable<RunEvent> {
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    yield { type: 'text_delta', text: 'one two', at };
    yield {
      type: 'run_finished',
      finishReason: 'length',
      text: 'one two',
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at,
    };
  }
}

let failing: TestServer;
let cutShort: TestServer;

beforeAll(async () => {
  const scripted = new ScriptedOrchestrator();
  scripted.failMidway = true;
  failing = await startTestServer(scripted);
  cutShort = await startTestServer(new CutShortOrchestrator());
});
afterAll(async () => {
  await Promise.all([failing?.close(), cutShort?.close()]);
});

const post = (srv: TestServer, body: Record<string, unknown>) =>
  fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', input: 'What is the capital of France?', ...body }),
  });

describe('a response whose run fails', () => {
  it('JSON: the upstream error in the envelope, naming the run, stored as failed', async () => {
    const res = await post(failing, {});
    const body = (await res.json()) as any;
    expect(res.status).toBe(502);
    expect(body.error).toMatchObject({ type: 'server_error', code: 'upstream_error', run_id: expect.any(String) });
    const runs = await failing.store.getRun(body.error.run_id, '');
    expect(runs?.status).toBe('failed');
  });

  it('streamed: response.failed with the error, after the text that was streamed', async () => {
    const events = parseSse(await (await post(failing, { stream: true })).text());
    for (const e of events) expectEventShape(e);
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect(last.response).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_error', message: 'The upstream model failed with status 503.' },
    });
    expect(last.response.output.at(-1)).toMatchObject({ type: 'message', status: 'incomplete' });
    const stored = await failing.store.getResponse(last.response.id, '');
    expect(stored?.status).toBe('failed');
    // Stored as sent: the final event's response, byte for byte.
    expect(JSON.parse(stored!.body)).toEqual(last.response);
    expectResponseShape(JSON.parse(stored!.body));
  });
});

describe('an answer cut at max_output_tokens', () => {
  it('JSON: status incomplete, reason max_output_tokens, the message incomplete', async () => {
    const body = (await (await post(cutShort, { max_output_tokens: 16 })).json()) as any;
    expectResponseShape(body);
    expect(body).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      max_output_tokens: 16,
    });
    expect(body.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });

  it('streamed: ends with response.incomplete', async () => {
    const events = parseSse(await (await post(cutShort, { stream: true })).text());
    for (const e of events) expectEventShape(e);
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
    });
  });
});
