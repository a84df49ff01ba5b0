// A response while its run is still going: its id is known from `response.created` (or to anyone who
// lists runs) before the store has it. Continuing it waits for it to end, as a turn of its conversation
// would; deleting it deletes it even when its final write is already under way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMemory } from '../../src/conversation/stored.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { parseSse } from '../support/open-responses-schemas.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { until } from '../support/team-script.ts';
import { callApi } from '../support/http-client.ts';

let srv: TestServer;
let team: RecordingOrchestrator;
/** How long the final write of a turn is held up before it happens (0: not at all). */
let recordDelayMs = 0;

beforeAll(async () => {
  team = new RecordingOrchestrator();
  srv = await startTestServer(
    team,
    { CORTEX_API_KEYS: 'mine,theirs', CORTEX_CONVERSATION_WAIT_SECONDS: '1' },
    {},
    {
      // A store that takes its time to write the turn: the window in which a response has ended but is
      // not stored yet.
      wrapMemory: (memory: StoredMemory) => {
        const record = memory.record.bind(memory);
        memory.record = async (turn) => {
          if (recordDelayMs) await new Promise((r) => setTimeout(r, recordDelayMs));
          return record(turn);
        };
        return memory;
      },
    },
  );
});
afterAll(() => srv?.close());

const call = (method: string, path: string, body?: unknown, key?: string) =>
  callApi(srv.baseUrl, method, path, body, key);

/** Starts a streamed response and returns its id (from response.created) and the rest of its stream. */
async function startStreaming(input: string) {
  const res = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { authorization: 'Bearer mine', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', input, stream: true }),
  });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  const id: string = parseSse(text.slice(0, text.indexOf('\n\n') + 2))[0].response.id;
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    return parseSse(text);
  })();
  return { id, rest };
}

describe('previous_response_id naming a response still running', () => {
  it('waits for it to end, then continues it with its answer in the context', async () => {
    team.options = { delayMs: 40, answer: () => 'The first answer, in a few parts.' };
    try {
      const first = await startStreaming('first question');
      expect((await call('GET', `/v1/responses/${first.id}`)).body.status).toBe('in_progress');
      team.options = {};
      const next = await call('POST', '/v1/responses', {
        model: 'cortex-flow',
        input: 'and then?',
        previous_response_id: first.id,
      });
      expect(next.status).toBe(200);
      expect(next.body).toMatchObject({ status: 'completed', previous_response_id: first.id });
      // The previous response's turn, whole, is the context of the new one.
      expect(team.inputs.at(-1)!.messages.map((m) => [m.role, m.content])).toEqual([
        ['user', 'first question'],
        ['assistant', 'The first answer, in a few parts.'],
        ['user', 'and then?'],
      ]);
      expect((await first.rest).at(-1)!.type).toBe('response.completed');
      // Another key's running response is not waited for: it is not found, at once.
      team.options = { delayMs: 40, answer: () => 'Another answer, written slowly.' };
      const other = await startStreaming('private');
      const theirs = await call(
        'POST',
        '/v1/responses',
        { model: 'cortex-flow', input: 'x', previous_response_id: other.id },
        'theirs',
      );
      expect(theirs.status).toBe(400);
      expect(theirs.body.error.code).toBe('previous_response_not_found');
      await other.rest;
    } finally {
      team.options = {};
    }
  });

  it('that does not end within the conversation wait: a 409 naming previous_response_id, to retry', async () => {
    team.options = {
      delayMs: 60,
      answer: () => 'A long answer that takes well over a second to be written out. '.repeat(4),
    };
    try {
      const first = await startStreaming('slow question');
      const next = await call('POST', '/v1/responses', {
        model: 'cortex-flow',
        input: 'and then?',
        previous_response_id: first.id,
      });
      expect(next.status).toBe(409);
      expect(next.body.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'previous_response_id',
        code: 'conversation_busy',
      });
      expect(next.body.error.message).toContain(first.id);
      await call('POST', `/v1/responses/${first.id}/cancel`);
      await first.rest;
    } finally {
      team.options = {};
    }
  });
});

describe('DELETE of a running response', () => {
  it('whose final write is already under way: the response is gone once DELETE has answered', async () => {
    recordDelayMs = 400;
    const started = team.inputs.length;
    try {
      const creating = call('POST', '/v1/responses', { model: 'cortex-flow', input: 'delete me soon' });
      await until(() => team.inputs.length > started, 'the run started');
      // The run is over in an instant; its turn, and the response with it, is being written.
      const id = `resp_${team.inputs.at(-1)!.runId.slice(4).replaceAll('-', '')}`;
      await new Promise((r) => setTimeout(r, 100));
      const deleted = await call('DELETE', `/v1/responses/${id}`);
      expect(deleted.body).toEqual({ id, object: 'response', deleted: true });
      await creating;
      expect((await call('GET', `/v1/responses/${id}`)).status).toBe(404);
      expect(await srv.store.getResponse(id, 'mine')).toBeUndefined();
    } finally {
      recordDelayMs = 0;
    }
  });
});
