// API keys created and revoked while replicas run: the first key ever created turns keys on within
// a second on every replica sharing the store (no request passes without a key after that), a revoked key
// is refused at its next request everywhere, and `keys revoke` revokes exactly the key it names.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { keysCommand } from '../../src/commands/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { waitFor } from '../support/http-client.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const hi = { messages: [{ role: 'user', content: 'hi' }] };
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('keys created and revoked while two replicas share PostgreSQL', () => {
  let schema: TestSchema;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    schema = await freshSchema('keys');
    const env = { CORTEX_DATABASE_URL: schema.url };
    a = await startTestServer(new RecordingOrchestrator(), env, {}, { schema: schema.schema });
    b = await startTestServer(new RecordingOrchestrator(), env, {}, { schema: schema.schema });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await schema?.drop().catch(() => {});
  });

  it('requires keys on every replica within a second of the first key existing', async () => {
    // No key has ever existed: both replicas are open (and have looked at the key table).
    for (const s of [a, b]) expect((await chat(s.baseUrl, hi)).status).toBe(200);
    const key = generateApiKey();
    await a.store.createApiKey({ id: 'key_first', name: 'first', hash: hashApiKey(key) });
    const created = Date.now();
    for (const s of [a, b]) {
      // Both replicas believed "no key" for at most a second (they do not read the table per request).
      await waitFor(async () => (await chat(s.baseUrl, hi)).status === 401, 1_500, 'keys to be required');
      const open = await chat(s.baseUrl, hi);
      expect(open.status).toBe(401);
      expect(open.body.error.code).toBe('invalid_api_key');
      expect((await chat(s.baseUrl, hi, as(key))).status).toBe(200);
    }
    expect(Date.now() - created).toBeLessThan(1_500);
  });

  it('accepts a new key and refuses a revoked one at the next request on every replica', async () => {
    const key = generateApiKey();
    await b.store.createApiKey({ id: 'key_rotating', name: 'rotating', hash: hashApiKey(key) });
    for (const s of [a, b]) expect((await chat(s.baseUrl, hi, as(key))).status).toBe(200);
    expect(await a.store.revokeApiKey('key_rotating')).toBe(true);
    for (const s of [b, a]) expect((await chat(s.baseUrl, hi, as(key))).status).toBe(401);
  });
});

describe('keys revoke', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const keys = async (action: string, args: { name?: string; target?: string }) => {
    const lines: string[] = [];
    const config = loadConfig({ CORTEX_DATA_DIR: dir, CORTEX_LOG_LEVEL: 'silent' });
    await keysCommand(config, action, args, (l) => lines.push(l));
    return lines;
  };
  const created = async (name: string) => (await keys('create', { name }))[0].split(' ')[3];
  const status = async (id: string) => (await keys('list', {})).find((l) => l.startsWith(`${id}\t`))!.split('\t')[3];

  it('revokes by an id only that key, never another key named like that id', async () => {
    const old = await created('bot');
    // An operator names the replacement after the key it replaces.
    const replacement = await created(old);
    await keys('revoke', { target: old });
    expect(await status(old)).toMatch(/^revoked /);
    expect(await status(replacement)).toBe('active');
    // Revoking the old id again names no active key: the replacement stays.
    await expect(keys('revoke', { target: old })).rejects.toThrow(/No active API key/);
    expect(await status(replacement)).toBe('active');
  });
});
