// What an operator's shutdown does to the work in flight, beyond the first SIGTERM: a second signal
// during the drain (a second Ctrl-C, `docker stop` after `kill`) and answers written after their run
// was recorded (an MCP tool call's result).
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { startServerProcess } from '../support/server-process.ts';

const ANSWER = 'one two three four five six seven eight nine ten.';
let upstream: MockUpstream;
const dirs: string[] = [];

beforeAll(async () => {
  // About 1.5 s of streaming per answer.
  upstream = await startMockUpstream(() => ({ text: ANSWER, chunkSize: 5, chunkDelayMs: 150 }));
});
afterAll(async () => {
  await upstream.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function startServer(grace: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-drain-'));
  dirs.push(dataDir);
  const server = await startServerProcess(upstream.baseUrl, {
    CORTEX_DATA_DIR: dataDir,
    CORTEX_SHUTDOWN_GRACE_SECONDS: grace,
    CORTEX_SAMPLE_CORPUS: 'false',
  });
  return { ...server, dataDir };
}

async function storedTurn(dataDir: string, conversationId: string) {
  const store = await createStore({ dataDir, databaseUrl: undefined });
  try {
    const messages = await store.getMessages(conversationId);
    const run = messages[1]?.runId ? await store.getRun(messages[1].runId, '') : undefined;
    return { messages: messages.map((m) => [m.role, m.content]), status: run?.status };
  } finally {
    await store.close();
  }
}

describe('a second signal during the drain', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s again stops the runs now, ends their streams with an error, stores them, exits 0',
    async (signal) => {
      const { child, url, dataDir } = await startServer('30');
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'cortex-flow',
          stream: true,
          conversation_id: 'hurried',
          messages: [{ role: 'user', content: 'count to ten' }],
        }),
      });
      expect(res.status).toBe(200);
      const body = res.text();
      await new Promise((r) => setTimeout(r, 400)); // streaming from the upstream now
      const exited = once(child, 'exit');
      child.kill(signal);
      await new Promise((r) => setTimeout(r, 200)); // the drain waits for the run (30 s of grace)
      const asked = performance.now();
      child.kill(signal);
      // Killed by the second signal, the process left the stream cut and the answer unstored.
      const [code, killedBy] = await exited;
      expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });
      expect(performance.now() - asked).toBeLessThan(4_000); // not the 30 s of grace
      const text = await body;
      expect(text).toContain('"code":"server_shutting_down"');
      expect(text).not.toContain('[DONE]');
      const turn = await storedTurn(dataDir, 'hurried');
      expect(turn.status).toBe('failed');
      expect(turn.messages[0]).toEqual(['user', 'count to ten']);
      expect(turn.messages[1][0]).toBe('assistant');
      const partial = turn.messages[1][1] as string;
      expect(partial.length).toBeGreaterThan(0);
      expect(ANSWER.startsWith(partial) && partial !== ANSWER).toBe(true);
    },
  );
});

describe('an MCP tool call in flight at SIGTERM', () => {
  it('is answered and stored, and the process exits right after, not at the 5 s last resort', async () => {
    const { child, url, dataDir } = await startServer('30');
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const call = client.callTool({
      name: 'cortex-flow',
      arguments: { message: 'count to ten', conversation_id: 'mcp' },
    });
    await new Promise((r) => setTimeout(r, 400));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const result = (await call) as { structuredContent?: { answer?: string } };
    const answered = performance.now();
    expect(result.structuredContent?.answer).toBe(ANSWER);
    const [code] = await exited;
    expect(code).toBe(0);
    // Its connection fell idle after the drain closed the idle ones: held until all were cut at 5 s.
    expect(performance.now() - answered).toBeLessThan(2_500);
    expect(await storedTurn(dataDir, 'mcp')).toEqual({
      messages: [
        ['user', 'count to ten'],
        ['assistant', ANSWER],
      ],
      status: 'completed',
    });
    await client.close().catch(() => {});
  });
});
