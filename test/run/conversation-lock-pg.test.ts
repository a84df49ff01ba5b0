// Item 6 across replicas on PostgreSQL: a turn waiting for a conversation that another replica is
// answering holds no run slot on its own replica, gives up when its client leaves, and is served
// once the other replica's turn is over (it then sees that turn).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { sleep, waitFor } from '../support/http-client.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const slowTeam = new RecordingOrchestrator({ answer: () => 'a slow answer, word by word', delayMs: 150 });
const otherTeam = new RecordingOrchestrator();
let schema: TestSchema;
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  schema = await freshSchema('lockpg');
  const env = {
    CORTEX_DATABASE_URL: schema.url,
    CORTEX_MAX_CONCURRENT_RUNS: '1',
    CORTEX_QUEUE_TIMEOUT_SECONDS: '0.2',
    CORTEX_CONVERSATION_WAIT_SECONDS: '10',
  };
  a = await startTestServer(slowTeam, env, {}, { schema: schema.schema });
  b = await startTestServer(otherTeam, env, {}, { schema: schema.schema });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await schema?.drop().catch(() => {});
});

const turn = (srv: TestServer, conversationId: string, content: string, signal?: AbortSignal) =>
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

describe('a conversation busy on another replica', () => {
  it('is waited for without a run slot, abandoned when the client leaves, then served in order', async () => {
    const slow = turn(a, 'shared', 'first');
    await waitFor(() => slowTeam.inputs.length === 1, 5_000, 'the first turn to start on replica A');

    const leaving = new AbortController();
    const abandoned = turn(b, 'shared', 'never mind', leaving.signal).catch(() => 'aborted');
    const waiting = chat(b.baseUrl, { conversation_id: 'shared', messages: [{ role: 'user', content: 'second' }] });
    await sleep(200);
    // Replica B has one run slot: the turns waiting for `shared` do not hold it.
    const elsewhere = await chat(b.baseUrl, { conversation_id: 'other', messages: [{ role: 'user', content: 'hi' }] });
    expect(elsewhere.status).toBe(200);
    leaving.abort();
    expect(await abandoned).toBe('aborted');

    expect((await slow).status).toBe(200);
    const second = await waiting;
    expect(second.status).toBe(200);
    const seen = otherTeam.inputs.find((i) => i.conversationId === 'shared')!;
    expect(seen.messages.map((m) => m.content)).toEqual(['first', 'a slow answer, word by word', 'second']);
    expect(otherTeam.inputs.some((i) => i.messages.at(-1)?.content === 'never mind')).toBe(false);
    expect((await a.store.getMessages('shared')).map((m) => m.content)).not.toContain('never mind');
  });
});
