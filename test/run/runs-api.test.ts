// Issue 11 "Runs are findable": every chat completion response names its run(s) in
// `x-cortex-run-id` (JSON, SSE and errors alike; errors also in `error.run_id`), and
// GET /v1/runs?conversation_id=... lists a conversation's runs, newest first, in OpenAI's list shape.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { sleep, streamChat } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const team = new RecordingOrchestrator();
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(team, { CORTEX_API_KEYS: 'mine,theirs' });
});
afterAll(() => srv.close());
const mine = { authorization: 'Bearer mine' };
const theirs = { authorization: 'Bearer theirs' };
const get = async (path: string, headers: Record<string, string> = mine) => {
  const res = await fetch(`${srv.baseUrl}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
};
const upstreamDown = {
  message: 'The upstream model failed with status 503.',
  status: 502,
  type: 'server_error',
  code: 'upstream_error',
};

describe('x-cortex-run-id', () => {
  it('names the run of a JSON answer', async () => {
    const r = await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, mine);
    expect(r.headers.get('x-cortex-run-id')).toBe(r.body.metadata.run_id);
  });

  it('is readable with the official openai client', async () => {
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'mine' });
    const { data, response } = await client.chat.completions
      .create({ model: 'cortex-flow', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-cortex-run-id')).toBe((data as any).metadata.run_id);
  });

  it('names the run of a stream', async () => {
    const r = await streamChat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, mine);
    const finish = r.frames.find((f) => f.choices?.[0]?.finish_reason);
    expect(r.headers.get('x-cortex-run-id')).toBe(finish.metadata.run_id);
  });

  it('names the failed run of an error, in the header and in error.run_id', async () => {
    team.options = { failWith: upstreamDown };
    try {
      const r = await chat(
        srv.baseUrl,
        { conversation_id: 'failing', messages: [{ role: 'user', content: 'hi' }] },
        mine,
      );
      expect(r.status).toBe(502);
      expect(r.body.error).toMatchObject({ code: 'upstream_error', run_id: expect.stringMatching(/^run_/) });
      expect(r.headers.get('x-cortex-run-id')).toBe(r.body.error.run_id);
      const run = await get(`/v1/runs/${r.body.error.run_id}`);
      expect(run.body).toMatchObject({ status: 'failed', conversation_id: 'failing' });
      const streamed = await streamChat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, mine);
      expect(streamed.frames.at(-1).error.run_id).toBe(streamed.headers.get('x-cortex-run-id'));
    } finally {
      team.options = {};
    }
  });
});

describe('GET /v1/runs?conversation_id=', () => {
  it("lists a conversation's runs newest first, a page at a time", async () => {
    const ids: string[] = [];
    for (const content of ['one', 'two', 'three']) {
      const r = await chat(srv.baseUrl, { conversation_id: 'listed', messages: [{ role: 'user', content }] }, mine);
      ids.push(r.body.metadata.run_id);
      await sleep(5); // start times a clock tick apart: the order is theirs, not the ids'
    }
    const newestFirst = [...ids].reverse();
    const all = await get('/v1/runs?conversation_id=listed');
    expect(all.body).toMatchObject({
      object: 'list',
      first_id: newestFirst[0],
      last_id: newestFirst[2],
      has_more: false,
    });
    expect(all.body.data.map((r: any) => r.id)).toEqual(newestFirst);
    expect(all.body.data[0]).toMatchObject({ object: 'run', conversation_id: 'listed', status: 'completed' });

    const page1 = await get('/v1/runs?conversation_id=listed&limit=2');
    expect(page1.body.data.map((r: any) => r.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.body.has_more).toBe(true);
    const page2 = await get(`/v1/runs?conversation_id=listed&limit=2&after=${page1.body.last_id}`);
    expect(page2.body.data.map((r: any) => r.id)).toEqual(newestFirst.slice(2));
    expect(page2.body.has_more).toBe(false);
    const oldestFirst = await get('/v1/runs?conversation_id=listed&order=asc');
    expect(oldestFirst.body.data.map((r: any) => r.id)).toEqual(ids);
  });

  it("answers 404 for another key's conversation and asks for the conversation id", async () => {
    await chat(srv.baseUrl, { conversation_id: 'private', messages: [{ role: 'user', content: 'hi' }] }, mine);
    const foreign = await get('/v1/runs?conversation_id=private', theirs);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('conversation_not_found');
    const missing = await get('/v1/runs');
    expect(missing.status).toBe(422);
    expect(missing.body.error.param).toBe('conversation_id');
    const badLimit = await get('/v1/runs?conversation_id=private&limit=0');
    expect(badLimit.status).toBe(400);
  });
});
