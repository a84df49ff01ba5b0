// DELETE /v1/conversations/{id} while one of its runs is running and followed: the delete waits
// for the turn (as a turn waits for its conversation), so the conversation does not come back when
// the run stores its answer, and the run's followers see it end; a turn that outlasts the wait is
// a 409 conversation_busy, the conversation kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { GatedOrchestrator } from '../support/gated-orchestrator.ts';
import { waitFor } from '../support/http-client.ts';

const team = new GatedOrchestrator();
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, { CORTEX_API_KEYS: 'mine,theirs', CORTEX_CONVERSATION_WAIT_SECONDS: '1' });
});
afterAll(() => srv.close());

const headers = (key = 'mine') => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const call = (method: string, path: string, key = 'mine') =>
  fetch(`${srv.baseUrl}${path}`, { method, headers: headers(key) });

/** A streamed turn of `conversation` held at the gate: its run id and its whole body once it ends. */
async function startHeldTurn(conversation: string) {
  team.hold();
  const res = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      model: 'cortex-flow',
      stream: true,
      conversation_id: conversation,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  expect(res.status).toBe(200);
  const body = res.text();
  await waitFor(() => team.waiting > 0, 5000, 'the run to reach the gate');
  return { runId: res.headers.get('x-cortex-run-id')!, body };
}

describe('deleting a conversation while its run is running', () => {
  it('waits for the run, then deletes it for good; its follower sees the run end', async () => {
    const { runId, body } = await startHeldTurn('doomed');
    const follower = call('GET', `/v1/runs/${runId}/events`).then((r) => r.text());
    const deleting = call('DELETE', '/v1/conversations/doomed');
    setTimeout(() => team.open(), 200);
    const deleted = await deleting;
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id: 'doomed', object: 'conversation.deleted', deleted: true });
    expect(await body).toMatch(/data: \[DONE\]\n\n$/);
    const followed = await follower;
    expect(followed).toContain('"type":"run_finished"');
    expect(followed).toMatch(/data: \[DONE\]\n\n$/);

    // Gone, and it stays gone: the run's answer did not bring it back.
    expect((await call('GET', '/v1/conversations/doomed')).status).toBe(404);
    expect((await call('GET', `/v1/runs/${runId}`)).status).toBe(404);
    const list = (await (await call('GET', '/v1/conversations?limit=100')).json()) as any;
    expect(list.data.map((c: any) => c.id)).not.toContain('doomed');
  });

  it('answers 409 conversation_busy when the run outlasts the wait, and keeps the conversation', async () => {
    const { runId, body } = await startHeldTurn('busy');
    try {
      const refused = await call('DELETE', '/v1/conversations/busy');
      expect(refused.status).toBe(409);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as any).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'conversation_busy',
        param: 'conversation_id',
      });
      // Another key neither deletes it nor learns that it is busy.
      const foreign = await call('DELETE', '/v1/conversations/busy', 'theirs');
      expect(foreign.status).toBe(404);
    } finally {
      team.open();
    }
    await body;
    const run = (await (await call('GET', `/v1/runs/${runId}`)).json()) as any;
    expect(run.status).toBe('completed');
    const conversation = (await (await call('GET', '/v1/conversations/busy')).json()) as any;
    expect(conversation.messages.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'hi'],
      ['assistant', team.answer()],
    ]);
    expect((await call('DELETE', '/v1/conversations/busy')).status).toBe(200);
    expect((await call('GET', '/v1/conversations/busy')).status).toBe(404);
  });
});
