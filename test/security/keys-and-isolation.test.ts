// API keys and what they own: a missing or wrong key gets 401 invalid_api_key; another key's
// conversations and runs are "not found" to read, continue or delete, and a conversation id a client
// chose names that key's own conversation; limits per key.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer;
const STATIC_KEY = 'sk-static-alice-0123456789';
let storedKey: string;

const orchestrator = new RecordingOrchestrator();

beforeAll(async () => {
  srv = await startTestServer(orchestrator, { CORTEX_API_KEYS: STATIC_KEY });
  storedKey = generateApiKey();
  await srv.store.createApiKey({ id: 'key_bob', name: 'bob', hash: hashApiKey(storedKey) });
});
afterAll(() => srv.close());

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys', () => {
  it('rejects a missing or wrong key with 401 invalid_api_key on every /v1 route', async () => {
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const err: any = await client.models.list().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
    expect(JSON.stringify(err.error)).not.toContain('sk-wrong');
    for (const [method, path] of [
      ['GET', '/v1/models'],
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/conversations'],
      ['GET', '/v1/runs/x'],
    ]) {
      const res = await fetch(`${srv.baseUrl}${path}`, { method, body: method === 'POST' ? '{}' : undefined });
      expect(res.status, path).toBe(401);
    }
    expect((await fetch(`${srv.baseUrl}/health`)).status).toBe(200);
  });

  it('accepts a static key and a stored key', async () => {
    expect((await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, as(STATIC_KEY))).status).toBe(200);
    expect((await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, as(storedKey))).status).toBe(200);
  });

  it('stops accepting a revoked key', async () => {
    const key = generateApiKey();
    await srv.store.createApiKey({ id: 'key_tmp', name: 'tmp', hash: hashApiKey(key) });
    expect((await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, as(key))).status).toBe(200);
    await srv.store.revokeApiKey('tmp');
    expect((await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'hi' }] }, as(key))).status).toBe(401);
  });
});

describe('isolation between keys', () => {
  it("never lets one key read, continue or delete another key's conversation", async () => {
    const mine = await chat(
      srv.baseUrl,
      { messages: [{ role: 'user', content: 'My secret is 1234' }] },
      as(STATIC_KEY),
    );
    expect(mine.status).toBe(200);
    const runId = mine.body.metadata.run_id;
    const id = mine.body.conversation_id;

    const read = await fetch(`${srv.baseUrl}/v1/conversations/${id}`, { headers: as(storedKey) });
    expect(read.status).toBe(404);
    const body = await read.text();
    expect(body).not.toContain('1234');

    const list = (await (await fetch(`${srv.baseUrl}/v1/conversations`, { headers: as(storedKey) })).json()) as any;
    expect(list.data.map((c: any) => c.id)).not.toContain(id);

    const run = await fetch(`${srv.baseUrl}/v1/runs/${runId}`, { headers: as(storedKey) });
    expect(run.status).toBe(404);
    const runs = await fetch(`${srv.baseUrl}/v1/runs?conversation_id=${id}`, { headers: as(storedKey) });
    expect(runs.status).toBe(404);

    const cont = await chat(
      srv.baseUrl,
      { conversation_id: id, messages: [{ role: 'user', content: 'What was my secret?' }] },
      as(storedKey),
    );
    expect(cont.status).toBe(404);
    expect(cont.body.error.code).toBe('conversation_not_found');

    const del = await fetch(`${srv.baseUrl}/v1/conversations/${id}`, { method: 'DELETE', headers: as(storedKey) });
    expect(del.status).toBe(404);

    // Still there, untouched, for its owner.
    const own = (await (
      await fetch(`${srv.baseUrl}/v1/conversations/${id}`, { headers: as(STATIC_KEY) })
    ).json()) as any;
    expect(own.messages.map((m: any) => m.content)).toEqual(['My secret is 1234', 'Echo: My secret is 1234']);
    expect((await fetch(`${srv.baseUrl}/v1/runs/${runId}`, { headers: as(STATIC_KEY) })).status).toBe(200);
  });

  it("lets no key create a conversation under an id of the form the server mints (not found, as another key's is)", async () => {
    const minted = (await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'mint me one' }] }, as(STATIC_KEY)))
      .body.conversation_id;
    expect(minted).toMatch(/^conv_[0-9a-f-]{36}$/);
    // Shaped like the server's ids, but never made by it: a key could otherwise take it before its
    // owner, or tell from a 404 that another key holds it. Both read the same now.
    const unknown = `conv_${minted.slice(5, -12)}${'0'.repeat(12)}`;
    const ask = (id: string) => ({ conversation_id: id, messages: [{ role: 'user', content: 'hi' }] });
    const made = await chat(srv.baseUrl, ask(unknown), as(storedKey));
    const foreign = await chat(srv.baseUrl, ask(minted), as(storedKey));
    for (const r of [made, foreign]) {
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'conversation_not_found', param: 'conversation_id' });
    }
    expect(made.body.error.message.replace(unknown, 'ID')).toBe(foreign.body.error.message.replace(minted, 'ID'));
    // Its owner continues it.
    expect((await chat(srv.baseUrl, ask(minted), as(STATIC_KEY))).status).toBe(200);
  });

  it('pages through the conversations of a key with keys on, past ids the client chose', async () => {
    const key = generateApiKey();
    await srv.store.createApiKey({ id: 'key_pager', name: 'pager', hash: hashApiKey(key) });
    const ask = (conversation_id?: string) => ({ conversation_id, messages: [{ role: 'user', content: 'page me' }] });
    const made: string[] = [];
    for (const id of ['pg-a', undefined, 'pg-b', 'pg-c'])
      made.push((await chat(srv.baseUrl, ask(id), as(key))).body.conversation_id);
    for (const order of ['desc', 'asc']) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const url = `${srv.baseUrl}/v1/conversations?limit=1&order=${order}${after ? `&after=${after}` : ''}`;
        const list = (await (await fetch(url, { headers: as(key) })).json()) as any;
        seen.push(...list.data.map((c: any) => c.id));
        if (!list.has_more) break;
        after = list.last_id;
      }
      expect(seen, order).toEqual(order === 'asc' ? made : [...made].reverse());
    }
  });

  it('gives each key a conversation of its own under an id both chose, on every surface', async () => {
    const convId = 'user_123_conv_1';
    const alice = await chat(
      srv.baseUrl,
      { conversation_id: convId, messages: [{ role: 'user', content: 'My PIN is 4321' }] },
      as(STATIC_KEY),
    );
    expect(alice.status).toBe(200);
    // Another key choosing the same id neither learns that it is taken nor reads what is in it.
    const bob = await chat(
      srv.baseUrl,
      { conversation_id: convId, messages: [{ role: 'user', content: 'What is my PIN?' }] },
      as(storedKey),
    );
    expect(bob.status).toBe(200);
    expect(bob.body.conversation_id).toBe(convId);
    expect(bob.headers.get('x-conversation-id')).toBe(convId);
    const bobInput = orchestrator.inputs.find((i) => i.runId === bob.body.metadata.run_id)!;
    expect(JSON.stringify(bobInput.messages)).not.toContain('4321');

    // Streamed, through the official client: the id the client chose comes back as it was sent.
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: storedKey, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'Again?' }],
      stream: true,
      // @ts-expect-error: the conversation_id extension
      conversation_id: convId,
    });
    const ids = new Set<string>();
    for await (const chunk of stream) ids.add((chunk as any).conversation_id);
    expect([...ids]).toEqual([convId]);

    const read = async (key: string) =>
      (await (await fetch(`${srv.baseUrl}/v1/conversations/${convId}`, { headers: as(key) })).json()) as any;
    const aliceView = await read(STATIC_KEY);
    expect(aliceView.id).toBe(convId);
    expect(aliceView.messages.map((m: any) => m.content)).toEqual(['My PIN is 4321', 'Echo: My PIN is 4321']);
    const bobView = await read(storedKey);
    expect(bobView.id).toBe(convId);
    expect(bobView.messages.map((m: any) => m.content)).toEqual([
      'What is my PIN?',
      'Echo: What is my PIN?',
      'Again?',
      'Echo: Again?',
    ]);
    const listed = (await (await fetch(`${srv.baseUrl}/v1/conversations`, { headers: as(storedKey) })).json()) as any;
    expect(listed.data.filter((c: any) => c.id === convId)).toHaveLength(1);

    const runs = (await (
      await fetch(`${srv.baseUrl}/v1/runs?conversation_id=${convId}`, { headers: as(storedKey) })
    ).json()) as any;
    expect(runs.data).toHaveLength(2);
    expect(runs.data.every((r: any) => r.conversation_id === convId)).toBe(true);
    const run = (await (
      await fetch(`${srv.baseUrl}/v1/runs/${alice.body.metadata.run_id}`, { headers: as(STATIC_KEY) })
    ).json()) as any;
    expect(run.conversation_id).toBe(convId);

    // Deleting one key's conversation leaves the other's.
    const del = await fetch(`${srv.baseUrl}/v1/conversations/${convId}`, { method: 'DELETE', headers: as(storedKey) });
    expect(await del.json()).toEqual({ id: convId, object: 'conversation.deleted', deleted: true });
    expect((await fetch(`${srv.baseUrl}/v1/conversations/${convId}`, { headers: as(storedKey) })).status).toBe(404);
    expect((await read(STATIC_KEY)).messages).toHaveLength(2);
  });
});
