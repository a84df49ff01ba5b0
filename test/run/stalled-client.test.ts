// Issue 19 item 5: a streaming client that stops reading cannot hold its run (and its run slot):
// a frame left unread for CORTEX_STREAM_WRITE_TIMEOUT_SECONDS closes the connection, and
// CORTEX_MAX_RUN_SECONDS ends the run whatever the client does.
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { FloodOrchestrator } from '../support/flood-orchestrator.ts';
import { waitFor } from '../support/http-client.ts';

/** An engine that does not stream: its whole (long) answer comes with run_finished. */
class WholeAnswerTeam implements Orchestrator {
  readonly engine = 'test-whole';
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }
  async *run(input: RunInput): AsyncIterable<RunEvent> {
    // About 17 MB: four times what the kernel's socket buffers took on loopback here (the sender's
    // grow to tcp_wmem's maximum, commonly 4 MB; a receiver that never reads keeps its first size).
    // At 4 MB a CI machine once took the whole answer: the response finished with nothing unread.
    const text = 'lorem ipsum '.repeat(1_400_000);
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text,
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at: Date.now(),
    };
  }
}

const servers: TestServer[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  for (const s of servers) await s.close();
});

/** Sends a streamed chat request, then never reads a byte of the answer. */
async function stalledStream(baseUrl: string, conversationId: string): Promise<void> {
  const { hostname, port } = new URL(baseUrl);
  const body = JSON.stringify({
    model: 'cortex-flow',
    stream: true,
    conversation_id: conversationId,
    messages: [{ role: 'user', content: 'tell me everything' }],
  });
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

async function runOf(srv: TestServer, conversationId: string) {
  const page = await srv.store.listRuns(conversationId, '', { limit: 10 });
  return page.data[0];
}

describe('a streaming client that stops reading', () => {
  it('is disconnected once a frame stays unread past the write time limit; its run stops and is stored', async () => {
    const team = new FloodOrchestrator();
    const srv = await startTestServer(team, { CORTEX_STREAM_WRITE_TIMEOUT_SECONDS: '1' });
    servers.push(srv);
    await stalledStream(srv.baseUrl, 'stalled-write');
    await waitFor(() => team.deltas > 0, 10_000, 'the run to start');
    await waitFor(() => srv.deps.activeRuns.size === 0, 30_000, 'the run to be released');
    expect(srv.deps.gate.running).toBe(0);
    expect(await runOf(srv, 'stalled-write')).toMatchObject({ status: 'cancelled' });
  });

  it('cannot keep its run past CORTEX_MAX_RUN_SECONDS', async () => {
    const team = new FloodOrchestrator();
    const srv = await startTestServer(team, {
      CORTEX_MAX_RUN_SECONDS: '1',
      CORTEX_STREAM_WRITE_TIMEOUT_SECONDS: '600',
    });
    servers.push(srv);
    await stalledStream(srv.baseUrl, 'stalled-run');
    await waitFor(() => team.deltas > 0, 10_000, 'the run to start');
    await waitFor(() => srv.deps.activeRuns.size === 0, 30_000, 'the run limit to end the run');
    expect(srv.deps.gate.running).toBe(0);
    const run = await runOf(srv, 'stalled-run');
    expect(run).toMatchObject({ status: 'failed' });
    expect(run.error).toContain('CORTEX_MAX_RUN_SECONDS');
  });

  it('does not hold up a shutdown', async () => {
    const team = new FloodOrchestrator();
    const srv = await startTestServer(team, { CORTEX_STREAM_WRITE_TIMEOUT_SECONDS: '600' });
    servers.push(srv);
    await stalledStream(srv.baseUrl, 'stalled-shutdown');
    await waitFor(() => team.deltas > 0, 10_000, 'the run to start');
    // What SIGTERM does once the grace period is over: stop the runs and wait for their records.
    expect(await srv.deps.activeRuns.drain(100)).toEqual({ finished: 0, stopped: 1 });
    expect(srv.deps.gate.running).toBe(0);
    const run = await runOf(srv, 'stalled-shutdown');
    expect(run).toMatchObject({ status: 'failed' });
    expect(run.error).toContain('shutting down');
  });

  it('is disconnected when it leaves the last frames of a finished answer unread past the write time limit', async () => {
    const srv = await startTestServer(new WholeAnswerTeam(), { CORTEX_STREAM_WRITE_TIMEOUT_SECONDS: '1' });
    servers.push(srv);
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        srv.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
      );
    await stalledStream(srv.baseUrl, 'stalled-tail');
    await waitFor(
      async () => (await runOf(srv, 'stalled-tail'))?.status === 'completed',
      30_000,
      'the turn to be stored',
    );
    expect(await connections()).toBe(1); // the answer is still queued for it
    await waitFor(async () => (await connections()) === 0, 10_000, 'the connection to be closed');
  });

  it('holds no run slot once its answer is complete, however slowly it takes the last frames', async () => {
    const srv = await startTestServer(new WholeAnswerTeam(), { CORTEX_STREAM_WRITE_TIMEOUT_SECONDS: '600' });
    servers.push(srv);
    await stalledStream(srv.baseUrl, 'stalled-end');
    await waitFor(
      async () => (await runOf(srv, 'stalled-end'))?.status === 'completed',
      30_000,
      'the turn to be stored',
    );
    await waitFor(() => srv.deps.activeRuns.size === 0, 10_000, 'the run to be released');
    expect(srv.deps.gate.running).toBe(0);
  });
});
