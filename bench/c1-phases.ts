// Where one request's time goes at concurrency 1 on the one-call path (`cortex-flow-supervisor`
// against the instant mock upstream): requests sent one after another, each phase read from the
// run's own trace (`GET /v1/runs/{id}`, millisecond timestamps) against the client's clock, medians
// over BENCH_C1_REQUESTS requests: admission (parse, plan, lock, gate, context) up to
// `run_started`, the upstream call up to its `usage`, the team's end up to `run_finished`, and the
// rest (the turn recorded, the answer rendered and on its way). The trace's timestamps are whole milliseconds: the medians
// of phases under a millisecond read 0 or 1; their means (also printed) are the figure to read.
// Printed first, measured side by side in the same run: the median straight to the mock upstream
// and through Cortex Flow (the added latency), and Cortex Flow's CPU per request by thread.
// Run: node bench/c1-phases.ts   (BENCH_C1_REQUESTS)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrinting, startServer, threadCpuMs, mockUpstreamEnv } from './lib-processes.ts';

const REQUESTS = Number(process.env.BENCH_C1_REQUESTS ?? 600);
const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-c1-'));
const cortex = await startServer(mockUpstreamEnv(upstream.line, dataDir));
const body = JSON.stringify({
  model: 'cortex-flow-supervisor',
  messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
});

/**
 * The server's CPU ms per request by thread, and the median wall time, over `n` requests sent one
 * after another (no trace read); `to` the upstream itself instead, for the wall time alone.
 */
async function cpuPerRequest(n: number, to: 'cortex' | 'upstream' = 'cortex') {
  const send = to === 'cortex' ? post : postUpstream;
  const before = threadCpuMs(cortex.process.pid);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await (await send()).arrayBuffer();
    times.push(performance.now() - started);
  }
  const after = threadCpuMs(cortex.process.pid);
  const per = (thread: string) => ((after.get(thread) ?? 0) - (before.get(thread) ?? 0)) / n;
  return { p50: median(times), main: per('MainThread'), store: per('WorkerThread'), rest: per('other threads') };
}

const json = { 'content-type': 'application/json' };
const post = () => fetch(`${cortex.baseUrl}/v1/chat/completions`, { method: 'POST', headers: json, body });
const postUpstream = () => fetch(`${upstream.line}/chat/completions`, { method: 'POST', headers: json, body });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Phases = { total: number; admission: number; upstream: number; team: number; rest: number };
const rows: Phases[] = [];
let cpu: Awaited<ReturnType<typeof cpuPerRequest>>;
let straight: Awaited<ReturnType<typeof cpuPerRequest>>;
try {
  await cpuPerRequest(300); // warm-up: the JIT, the store's caches, the connection pools
  await cpuPerRequest(300, 'upstream');
  straight = await cpuPerRequest(REQUESTS, 'upstream');
  cpu = await cpuPerRequest(REQUESTS);
  for (let i = 0; i < REQUESTS; i++) {
    const sent = Date.now();
    const started = performance.now();
    const res = await post();
    const answer = (await res.json()) as { id: string; cortex_run_id?: string; metadata?: Record<string, string> };
    const total = performance.now() - started;
    const runId = res.headers.get('x-cortex-run-id') ?? answer.cortex_run_id;
    if (!runId) throw new Error(`no run id in ${JSON.stringify(answer).slice(0, 300)}`);
    const run = (await (await fetch(`${cortex.baseUrl}/v1/runs/${runId}`)).json()) as {
      events: { type: string; at: number }[];
    };
    const at = (type: string) => run.events.find((e) => e.type === type)!.at;
    const admission = at('run_started') - sent;
    const upstreamMs = at('usage') - at('run_started');
    const team = at('run_finished') - at('usage');
    rows.push({ total, admission, upstream: upstreamMs, team, rest: total - admission - upstreamMs - team });
  }
} finally {
  await cortex.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `p50 ms: straight to the upstream ${straight.p50.toFixed(2)}, through Cortex Flow ${cpu.p50.toFixed(2)}, added ${(cpu.p50 - straight.p50).toFixed(2)}`,
);
console.log(
  `Cortex Flow's CPU ms per request: event loop ${cpu.main.toFixed(3)}, store thread ${cpu.store.toFixed(3)}, the rest ${cpu.rest.toFixed(3)}`,
);
console.log('phases, from the run trace (ms):');
for (const key of ['total', 'admission', 'upstream', 'team', 'rest'] as const) {
  const xs = rows.map((r) => r[key]);
  console.log(
    `${key.padEnd(10)} median ${median(xs).toFixed(2).padStart(6)} ms   mean ${mean(xs).toFixed(2).padStart(6)} ms`,
  );
}
