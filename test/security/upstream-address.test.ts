// An upstream that cannot be reached: API clients learn that, and the error code, but not where the
// server calls its model (internal hosts, ports and paths of the operator's network). The operator
// reads the address in the server's log.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { streamChat } from '../support/http-client.ts';

let app: App;
let baseUrl: string;
let dataDir: string;
let upstreamUrl: string;
const logLines: string[] = [];

/** A loopback port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-upstream-address-'));
  upstreamUrl = `http://127.0.0.1:${await closedPort()}/internal-llm-gateway/v1`;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:primary',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstreamUrl,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'warn',
      CORTEX_SSE_KEEPALIVE_SECONDS: '0',
      CORTEX_LLM_MAX_RETRIES: '0',
    }),
    { logStream: sink },
  );
  baseUrl = await app.server.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const client = () => new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'x', maxRetries: 0 });
const hidden = () => [new URL(upstreamUrl).host, 'internal-llm-gateway'];

describe('an unreachable upstream', () => {
  it('answers a 502 upstream_unreachable naming the error code, not the address', async () => {
    const err: any = await client()
      .chat.completions.create({ model: 'cortex-flow-supervisor', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ type: 'server_error', code: 'upstream_unreachable' });
    expect(err.error.message).toMatch(/ECONNREFUSED/);
    for (const part of hidden()) expect(JSON.stringify(err.error)).not.toContain(part);
  });

  it('keeps the address out of the streamed error and the stored run trace, and logs it', async () => {
    const { headers, text: stream } = await streamChat(baseUrl, {
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const runId = headers.get('x-cortex-run-id');
    expect(stream).toContain('upstream_unreachable');
    const run = await (await fetch(`${baseUrl}/v1/runs/${runId}`)).text();
    expect(run).toContain('upstream_unreachable');
    for (const part of hidden()) {
      expect(stream).not.toContain(part);
      expect(run).not.toContain(part);
    }
    // The operator's view: the log line of the failed run names where the call went and why.
    const logged = logLines.map((l) => JSON.parse(l)).filter((l) => l.code === 'upstream_unreachable');
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged[0].detail).toContain(`${upstreamUrl}/chat/completions`);
    expect(logged[0].detail).toMatch(/ECONNREFUSED/);
  });
});
