// What the Responses API costs beyond a chat completion, in microseconds of CPU per request: the
// whole server path (routing, request mapping, the run lifecycle, the turn and the response stored
// in SQLite, rendering) in one process, with an engine that answers at once, so that only the
// server's own work is measured. Requests are injected (no sockets) in batches of CONCURRENCY at a
// time (the store commits a batch's turns together, as under load), a chat batch and a Responses
// batch alternately: both paths see the same machine at the same moments, which an HTTP load on a
// shared machine cannot give. CPU time is the process's (user + system) over each batch.
// Run: node bench/responses-overhead.ts   (BENCH_BATCHES, BENCH_CONCURRENCY)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { StoredMemory } from '../src/conversation/stored.ts';
import { assembleDeps } from '../src/http/deps.ts';
import { buildServer } from '../src/http/server.ts';
import type { RunEvent } from '../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../src/orchestrator/types.ts';
import { createStore } from '../src/store/create-store.ts';
import { TokenCounter } from '../src/tokens.ts';
import { percentile } from './lib-load.ts';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PROMPT = 'BENCH-ONE-CALL hello';
const ANSWER = 'Hello from upstream.';

/** The one-call path's events (an answer streamed in one delta, with its usage) without an upstream. */
class InstantOrchestrator implements Orchestrator {
  readonly engine = 'bench-instant';
  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'team' }];
  }
  async *run(input: RunInput): AsyncIterable<RunEvent> {
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    yield { type: 'text_delta', text: ANSWER, at };
    yield { type: 'usage', usage: { agent: 'supervisor', model: 'mock', inputTokens: 12, outputTokens: 5 }, at };
    yield { type: 'run_finished', finishReason: 'stop', text: ANSWER, agentsUsed: [], iterations: 1, sources: [], at };
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-overhead-'));
const config = loadConfig({ CORTEX_LOG_LEVEL: 'silent', CORTEX_DATA_DIR: dataDir });
const store = await createStore(config);
const tokens = new TokenCounter(config.tokenModel);
const memory = new StoredMemory(store, tokens, config.maxContextTokens);
const deps = assembleDeps({ config, orchestrator: new InstantOrchestrator(), memory, tokens, version: 'bench', store });
const server = buildServer(deps);
await server.ready();

const paths = {
  chat: (stream: boolean) => ({
    url: '/v1/chat/completions',
    payload: { model: 'cortex-flow', messages: [{ role: 'user', content: PROMPT }], stream },
  }),
  responses: (stream: boolean) => ({ url: '/v1/responses', payload: { model: 'cortex-flow', input: PROMPT, stream } }),
};
type Path = keyof typeof paths;

/** CPU µs per request of one batch. */
async function batch(path: Path, stream: boolean): Promise<number> {
  const { url, payload } = paths[path](stream);
  const before = process.cpuUsage();
  const replies = await Promise.all(
    Array.from({ length: CONCURRENCY }, () => server.inject({ method: 'POST', url, payload })),
  );
  const used = process.cpuUsage(before);
  for (const r of replies)
    if (r.statusCode !== 200 || !r.body.includes(ANSWER)) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
  return (used.user + used.system) / CONCURRENCY;
}

try {
  console.log(
    `one-call request, an engine that answers at once, ${BATCHES} batches of ${CONCURRENCY} per path, alternating`,
  );
  console.log(
    '  server CPU µs per request (median of batches, p25-p75): chat | responses | responses - chat (paired batches), ratio',
  );
  for (const stream of [false, true]) {
    const cpu: Record<Path, number[]> = { chat: [], responses: [] };
    for (let i = 0; i < 50; i++) for (const p of ['chat', 'responses'] as const) await batch(p, stream); // warm-up
    for (let i = 0; i < BATCHES; i++)
      for (const p of (i % 2 ? ['chat', 'responses'] : ['responses', 'chat']) as Path[])
        cpu[p].push(await batch(p, stream));
    // Each Responses batch against the chat batch beside it: a drift of the machine's load cancels out.
    const diffs = cpu.responses.map((r, i) => r - cpu.chat[i]).sort((a, b) => a - b);
    const [c, r] = [cpu.chat, cpu.responses].map((xs) => xs.sort((a, b) => a - b));
    const show = (xs: number[]) =>
      `${percentile(xs, 50).toFixed(0).padStart(5)} (${percentile(xs, 25).toFixed(0)}-${percentile(xs, 75).toFixed(0)})`;
    console.log(
      `  ${(stream ? 'streamed' : 'JSON').padEnd(9)} ${show(c)} | ${show(r)} | ${show(diffs)} µs, ` +
        `${(percentile(c, 50) / percentile(r, 50)).toFixed(3)} (chat / responses)`,
    );
  }
} finally {
  // As the app shuts down: a stream's run is released after its last frame, so wait for the runs first.
  await deps.activeRuns.drain(5000);
  await server.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
