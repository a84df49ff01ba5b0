// API keys and what they own: a missing or wrong key gets 401 invalid_api_key; another key's
// conversations and runs are "not found" to read, continue or delete; limits per key.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer;
const STATIC_KEY = 'sk-static-alice-0123456789';
let storedKey: string;

beforeAll(async () => {
  srv = await startTestServer(new RecordingOrchestrator(), { CORTEX_API_KEYS: STATIC_KEY });
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
      { conversation_id: 'conv_alice_private', messages: [{ role: 'user', content: 'My secret is 1234' }] },
      as(STATIC_KEY),
    );
    expect(mine.status).toBe(200);
    const runId = mine.body.metadata.run_id;

    const read = await fetch(`${srv.baseUrl}/v1/conversations/conv_alice_private`, { headers: as(storedKey) });
    expect(read.status).toBe(404);
    const body = await read.text();
    expect(body).not.toContain('1234');

    const list = (await (await fetch(`${srv.baseUrl}/v1/conversations`, { headers: as(storedKey) })).json()) as any;
    expect(list.data.map((c: any) => c.id)).not.toContain('conv_alice_private');

    const run = await fetch(`${srv.baseUrl}/v1/runs/${runId}`, { headers: as(storedKey) });
    expect(run.status).toBe(404);

    const cont = await chat(
      srv.baseUrl,
      { conversation_id: 'conv_alice_private', messages: [{ role: 'user', content: 'What was my secret?' }] },
      as(storedKey),
    );
    expect(cont.status).toBe(404);
    expect(cont.body.error.code).toBe('conversation_not_found');

    const del = await fetch(`${srv.baseUrl}/v1/conversations/conv_alice_private`, {
      method: 'DELETE',
      headers: as(storedKey),
    });
    expect(del.status).toBe(404);

    // Still there, untouched, for its owner.
    const own = (await (
      await fetch(`${srv.baseUrl}/v1/conversations/conv_alice_private`, { headers: as(STATIC_KEY) })
    ).json()) as any;
    expect(own.messages.map((m: any) => m.content)).toEqual(['My secret is 1234', 'Echo: My secret is 1234']);
    expect((await fetch(`${srv.baseUrl}/v1/runs/${runId}`, { headers: as(STATIC_KEY) })).status).toBe(200);
  });
});
