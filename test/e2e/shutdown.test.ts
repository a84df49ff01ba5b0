// SIGTERM: stop accepting, let in-flight runs finish up to the grace period, store what they
// produced, exit 0. A run longer than the grace period is stopped, told so, and still stored.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
let upstream: MockUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  // About 1.5 s of streaming per answer.
  upstream = await startMockUpstream(() => ({
    text: 'one two three four five six seven eight nine ten.',
    chunkSize: 5,
    chunkDelayMs: 150,
  }));
});
afterAll(async () => {
  await upstream.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function startServer(grace: string, env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-shutdown-'));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      OPENAI_COMPAT_PORT: '0',
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'info',
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_SHUTDOWN_GRACE_SECONDS: grace,
      CORTEX_SAMPLE_CORPUS: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[\d.:]+)\/v1/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(out)));
  });
  return { child, url, dataDir };
}

const ask = (url: string, id: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      conversation_id: id,
      messages: [{ role: 'user', content: 'count to ten' }],
    }),
  });

describe('SIGTERM', () => {
  it('lets an in-flight run finish, stores it, refuses new work, and exits 0', async () => {
    const { child, url, dataDir } = await startServer('30');
    const inflight = ask(url, 'drained');
    await new Promise((r) => setTimeout(r, 300)); // the run is streaming from the upstream now
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const refused = await ask(url, 'late').then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(refused);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).choices[0].message.content).toBe(
      'one two three four five six seven eight nine ten.',
    );
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const store = await createStore({ dataDir, databaseUrl: undefined });
    expect((await store.getMessages('drained')).map((m) => m.role)).toEqual(['user', 'assistant']);
    await store.close();
  });

  it('stops a run that outlasts the grace period, tells the client, stores the partial turn, exits 0', async () => {
    const { child, url, dataDir } = await startServer('0.4');
    const inflight = ask(url, 'cut');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const res = await inflight;
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.code).toBe('server_shutting_down');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const store = await createStore({ dataDir, databaseUrl: undefined });
    const messages = await store.getMessages('cut');
    expect(messages[0].content).toBe('count to ten');
    expect(await store.getRun(messages[1].runId!, '')).toMatchObject({ status: 'failed' });
    await store.close();
  });

  it('does not wait for a connection that never carried a request (a browser preconnects one)', async () => {
    const { child, url } = await startServer('30');
    const { hostname, port } = new URL(url);
    const idle = connect(Number(port), hostname);
    await once(idle, 'connect');
    const closed = once(idle, 'close');
    const asked = performance.now();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    await closed;
    // Without being closed, such a connection held the shutdown until its 5 s last resort.
    expect(performance.now() - asked).toBeLessThan(4_000);
  });

  it('keeps serving, and exits 0, after streams whose conversation id cannot go into a header', async () => {
    // Such a stream once hung, holding its run slot, lock and shutdown entry for good.
    const { child, url } = await startServer('30', { CORTEX_MAX_CONCURRENT_RUNS: '2' });
    for (const id of ['会话-1', '会话-2', '会话-3']) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'cortex-flow',
          stream: true,
          conversation_id: id,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      expect([200, 400]).toContain(res.status); // served (id percent-encoded in the header) or refused at the edge
      await res.text();
    }
    const after = await ask(url, 'after');
    expect(after.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
