// Authentication is decided on the route the router matched, deny by default: no spelling of a
// protected URL (percent-encoded, absolute-form, doubled slashes, other case, trailing junk) reaches
// its handler without a key, and once any key has existed, keys stay required.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { exchange, isErrorEnvelope, portOf, request } from './raw-http.ts';

const KEY = 'sk-edge-owner-0123456789';
const SECRET = 'my secret is 4242';
let srv: TestServer;
let orchestrator: RecordingOrchestrator;

beforeAll(async () => {
  orchestrator = new RecordingOrchestrator();
  srv = await startTestServer(orchestrator, { CORTEX_API_KEYS: KEY });
  const r = await chat(
    srv.baseUrl,
    { conversation_id: 'conv_private', messages: [{ role: 'user', content: SECRET }] },
    { authorization: `Bearer ${KEY}` },
  );
  expect(r.status).toBe(200);
});
afterAll(() => srv.close());

const chatBody = JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'free ride?' }] });
const json = { 'Content-Type': 'application/json' };

describe('authentication on the matched route', () => {
  it.each([
    ['GET', '/%761/conversations'],
    ['GET', '/%76%31/conversations/conv_private'],
    ['GET', '/v1/%63onversations/conv_private'],
    ['GET', 'http://x/v1/conversations/conv_private'],
    ['GET', 'HTTP://X/v1/conversations'],
    ['DELETE', 'http://x/v1/conversations/conv_private'],
    ['DELETE', '/%761/conversations/conv_private'],
    ['GET', '//v1/conversations'],
    ['GET', '/V1/conversations'],
    ['GET', '/v1/conversations/'],
    ['GET', '/v1/conversations?next=/health'],
    ['GET', '/v1/conversations;/health'],
    ['GET', '/health/../v1/conversations'],
    ['GET', '/v1/runs/%72un_x'],
    ['GET', '/%761/models'],
    ['GET', '/no/such/route'],
  ])('refuses %s %s without a key: 401 in the envelope', async (method, target) => {
    const { response } = await exchange(portOf(srv.baseUrl), request(method, target));
    expect(response?.status).toBe(401);
    expect(isErrorEnvelope(response!.body)).toBe(true);
    expect(JSON.parse(response!.body).error.code).toBe('invalid_api_key');
    expect(response!.body).not.toContain(SECRET);
  });

  it('never runs a completion for a percent-encoded or absolute-form target without a key', async () => {
    const runsBefore = orchestrator.inputs.length;
    for (const target of ['/%761/chat/completions', 'http://x/v1/chat/completions', '/v1/chat/%63ompletions']) {
      const { response } = await exchange(portOf(srv.baseUrl), request('POST', target, json, chatBody));
      expect(response?.status, target).toBe(401);
    }
    expect(orchestrator.inputs.length).toBe(runsBefore);
    // And the attacks above deleted nothing.
    const kept = await fetch(`${srv.baseUrl}/v1/conversations/conv_private`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(((await kept.json()) as any).messages.map((m: any) => m.content)).toContain(SECRET);
  });

  it('serves the same encodings to a caller with the key (the router does match them)', async () => {
    const auth = { Authorization: `Bearer ${KEY}` };
    const { response } = await exchange(portOf(srv.baseUrl), request('GET', '/%761/conversations/conv_private', auth));
    expect(response?.status).toBe(200);
    expect(response!.body).toContain(SECRET);
  });

  it('answers an unknown URL 401 without a key and 404 with one', async () => {
    expect((await fetch(`${srv.baseUrl}/v2/secrets`)).status).toBe(401);
    const known = await fetch(`${srv.baseUrl}/v2/secrets`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(known.status).toBe(404);
    expect(((await known.json()) as any).error.code).toBe('unknown_url');
  });

  it('keeps /health, /ready and /metrics public, in every spelling the router matches', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/%68ealth', 'http://x/ready']) {
      const { response } = await exchange(portOf(srv.baseUrl), request('GET', path));
      expect(response?.status, path).toBe(200);
    }
    // Load balancers often probe with HEAD.
    expect((await fetch(`${srv.baseUrl}/health`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${srv.baseUrl}/v1/models`, { method: 'HEAD' })).status).toBe(401);
  });
});

describe('auth mode', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'auth-mode-'));
    dirs.push(d);
    return d;
  };
  const hi = { messages: [{ role: 'user', content: 'hi' }] };

  it('keeps keys required after the last stored key is revoked (also after a restart)', async () => {
    const dir = dataDir();
    const key = generateApiKey();
    const first = await startTestServer(new RecordingOrchestrator(), { CORTEX_DATA_DIR: dir });
    await first.store.createApiKey({ id: 'key_only', name: 'only', hash: hashApiKey(key) });
    expect((await chat(first.baseUrl, hi, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect(await first.store.revokeApiKey('only')).toBe(true);
    await first.close();

    const restarted = await startTestServer(new RecordingOrchestrator(), { CORTEX_DATA_DIR: dir });
    try {
      expect((await chat(restarted.baseUrl, hi)).status).toBe(401);
      expect((await chat(restarted.baseUrl, hi, { authorization: `Bearer ${key}` })).status).toBe(401);
      expect(await restarted.deps.auth.status()).toMatchObject({ required: true });
    } finally {
      await restarted.close();
    }
  });

  it('requires a key with CORTEX_AUTH=required even before any key exists', async () => {
    const s = await startTestServer(new RecordingOrchestrator(), { CORTEX_AUTH: 'required' });
    try {
      expect((await chat(s.baseUrl, hi)).status).toBe(401);
      expect((await fetch(`${s.baseUrl}/health`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('checks no key with CORTEX_AUTH=off, even with keys configured', async () => {
    const s = await startTestServer(new RecordingOrchestrator(), { CORTEX_AUTH: 'off', CORTEX_API_KEYS: 'sk-x' });
    try {
      expect((await chat(s.baseUrl, hi)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('is open while no key has ever existed', async () => {
    const s = await startTestServer(new RecordingOrchestrator());
    try {
      expect((await chat(s.baseUrl, hi)).status).toBe(200);
      expect(await s.deps.auth.status()).toMatchObject({ required: false });
    } finally {
      await s.close();
    }
  });
});
