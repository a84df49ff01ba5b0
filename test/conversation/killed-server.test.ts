// kill -9 in the middle of a turn: the question and its run were written when the run started, and
// the restarted server marks the run `interrupted` at once (the lease its dead predecessor held on
// the conversation is recognised as dead: same host, that process is gone).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holderIsDead, newHolder } from '../../src/conversation/lease-holder.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { startServerProcess } from '../support/server-process.ts';

let upstream: MockUpstream;
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-killed-'));

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ fault: 'hang' })); // the run stays in progress
});
afterAll(async () => {
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const startServer = () => startServerProcess(upstream.baseUrl, { CORTEX_DATA_DIR: dataDir });

describe('a server killed mid-turn', () => {
  it('leaves the question and an interrupted run, marked at restart', async () => {
    const first = await startServer();
    const res = await fetch(`${first.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow-supervisor',
        stream: true,
        messages: [{ role: 'user', content: 'A question nobody will answer' }],
      }),
    });
    const conversationId = res.headers.get('x-conversation-id')!;
    const runId = res.headers.get('x-cortex-run-id')!;
    expect(conversationId).toBeTruthy();
    expect(runId).toBeTruthy();
    // The run is in progress (the upstream never answers) and already stored.
    const running = await (await fetch(`${first.url}/v1/runs/${runId}`)).json();
    expect(running).toMatchObject({ id: runId, status: 'running' });
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    void res.body?.cancel().catch(() => {});

    const second = await startServer();
    try {
      const run = await (await fetch(`${second.url}/v1/runs/${runId}`)).json();
      expect(run).toMatchObject({ id: runId, conversation_id: conversationId, status: 'interrupted' });
      const conversation = await (await fetch(`${second.url}/v1/conversations/${conversationId}`)).json();
      expect(conversation.messages).toMatchObject([{ role: 'user', content: 'A question nobody will answer' }]);
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
  });

  it('tells a lease of a dead process on this host from a live one', async () => {
    expect(holderIsDead(newHolder())).toBe(false); // this process
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    const [host, , started, id] = newHolder().split('|');
    expect(holderIsDead([host, child.pid, started, id].join('|'))).toBe(true);
    expect(holderIsDead([host, process.pid, Number(started) - 60_000, id].join('|'))).toBe(true); // an earlier me
    expect(holderIsDead(['another-host', child.pid, started, id].join('|'))).toBe(false); // cannot tell: wait
  });
});
