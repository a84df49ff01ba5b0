// Cortex Flow on its one-call path (`cortex-flow-supervisor`, one upstream call, every turn stored)
// against what a gateway costs, side by side in one run over the same instant mock upstream:
//   straight to the upstream | a bare node:http pass-through proxy | the stored-turn floor (node:http
//   and SQLite, no team: bench/servers/stored-turn-floor.ts) | the Portkey AI gateway | Cortex Flow
// plain and streamed, at 32 connections; then the added median latency at concurrency 1.
// Each case is measured warm: after BENCH_WARMUP_SECONDS of the same load on the same target (JIT
// tiers, heap sizes and connection pools settle over the first seconds; a long-running server is
// measured as it runs). BENCH_WARMUP_SECONDS=0 measures each case from cold, as the first rounds did.
// The targets are then measured in BENCH_ROUNDS rounds, one after another within each round (each
// round starting with the next target): a target's figure is its median round, and a ratio is the
// median of the rounds' ratios, so that a stretch of load from elsewhere on the machine moves one
// round rather than one target. With each target's CPU per request: how busy the whole machine was
// during its case and, for Cortex Flow's threads, how long each waited for a core.
// Run: npm run bench -- gateway   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS)
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuMs,
  freePort,
  machineTicks,
  startPrinting,
  startServer,
  threadCpuMs,
  threadWaitMs,
  type Child,
  mockUpstreamEnv,
} from './lib-processes.ts';
import { load, percentile, printTable, type LoadResult } from './lib-load.ts';
import { Agent, request as httpRequest } from 'node:http';
import { spawn } from 'node:child_process';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const request = (stream: boolean) =>
  JSON.stringify({
    model: 'cortex-flow-supervisor',
    stream,
    messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
  });

const C1_REQUESTS = Number(process.env.BENCH_C1_REQUESTS ?? 1000);

/** One POST over a keep-alive agent, resolved once the whole answer is read. */
function post(agent: Agent, url: URL, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Latency percentiles of C1_REQUESTS requests sent one after another (after 100 to warm up). */
async function sequentialLatency(label: string, target: string, body: string, headers: Record<string, string>) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(target);
  const times: number[] = [];
  for (let i = 0; i < C1_REQUESTS + 100; i++) {
    const started = performance.now();
    const status = await post(agent, url, body, headers);
    if (status !== 200) throw new Error(`${label}: status ${status}`);
    if (i >= 100) times.push(performance.now() - started);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { label, p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99) };
}

/** The Portkey gateway (a devDependency) in its own process, headless, on a free port. */
async function startPortkey(): Promise<Child & { baseUrl: string }> {
  const script = createRequire(import.meta.url).resolve('@portkey-ai/gateway/build/start-server.js');
  const port = await freePort();
  const p = spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`portkey exited with ${p.exitCode}`);
    const up = await fetch(baseUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 300) throw new Error('portkey did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: p,
    baseUrl,
    stop: async () => {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    },
  };
}

const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const proxy = await startPrinting('bench/servers/bare-proxy.ts', { BENCH_UPSTREAM: upstream.line });
const floor = await startPrinting('bench/servers/stored-turn-floor.ts', { BENCH_UPSTREAM: upstream.line });
const portkey = await startPortkey();
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-gateway-'));
const cortex = await startServer(mockUpstreamEnv(upstream.line, dataDir));
const portkeyHeaders = {
  'x-portkey-provider': 'openai',
  'x-portkey-custom-host': upstream.line,
  authorization: 'Bearer sk-bench',
};
// `pid`: the process whose CPU time per request is reported (the gateway's own, upstream excluded).
const targets = [
  {
    label: 'straight to the upstream',
    url: `${upstream.line}/chat/completions`,
    headers: {},
    pid: upstream.process.pid,
  },
  {
    label: 'bare node:http pass-through proxy',
    url: `${proxy.line}/v1/chat/completions`,
    headers: {},
    pid: proxy.process.pid,
  },
  {
    label: 'stored-turn floor (http + SQLite)',
    url: `${floor.line}/v1/chat/completions`,
    headers: {},
    pid: floor.process.pid,
  },
  {
    label: 'Portkey AI gateway',
    url: `${portkey.baseUrl}/v1/chat/completions`,
    headers: portkeyHeaders,
    pid: portkey.process.pid,
  },
  { label: 'Cortex Flow', url: `${cortex.baseUrl}/v1/chat/completions`, headers: {}, pid: cortex.process.pid },
];

const [STRAIGHT, BARE, FLOOR, PORTKEY, CORTEX] = targets;
/** The middle value (of an even count, the lower of the two middle ones). */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (x: number) => x.toFixed(3).padStart(8);

/** One target's rounds: their results, CPU time, the machine's, and (Cortex Flow) both by thread. */
interface Rounds {
  results: LoadResult[];
  cpuMs: number;
  machine: { total: number; idle: number };
  threadMs: Map<string, number>;
  /** Time its threads were ready to run but waited for a core. */
  waitMs: Map<string, number>;
}

/** Adds to `into`, by thread, how far a counter moved over a round (`after` less `before`). */
function addDelta(into: Map<string, number>, before: Map<string, number>, after: Map<string, number>): void {
  for (const [name, ms] of after) into.set(name, (into.get(name) ?? 0) + ms - (before.get(name) ?? 0));
}

try {
  const rows: LoadResult[] = [];
  const cpu: string[] = [];
  const ratios: string[] = [];
  for (const mode of ['plain', 'stream'] as const) {
    const body = request(mode === 'stream');
    const load1 = (t: (typeof targets)[number], label: string, seconds: number) =>
      load(label, t.url, body, { connections: CONNECTIONS, seconds, headers: t.headers });
    if (WARMUP_SECONDS > 0) for (const t of targets) await load1(t, `${t.label}, ${mode} (warm-up)`, WARMUP_SECONDS);
    const rounds = new Map<(typeof targets)[number], Rounds>(
      targets.map((t) => [
        t,
        { results: [], cpuMs: 0, machine: { total: 0, idle: 0 }, threadMs: new Map(), waitMs: new Map() },
      ]),
    );
    for (let round = 0; round < ROUNDS; round++)
      // Each round starts with the next target: none always follows the same one (bench/side-by-side.ts
      // showed the position within a round to matter on this shared machine).
      for (const t of targets.map((_, i) => targets[(round + i) % targets.length])) {
        const r = rounds.get(t)!;
        const before = cpuMs(t.pid);
        const threadsBefore = threadCpuMs(t.pid);
        const waitsBefore = threadWaitMs(t.pid);
        const machineBefore = machineTicks();
        r.results.push(await load1(t, `${t.label}, ${mode}`, SECONDS));
        const machineAfter = machineTicks();
        r.machine.total += machineAfter.total - machineBefore.total;
        r.machine.idle += machineAfter.idle - machineBefore.idle;
        // CPU per request is what a loaded machine distorts least: the others' load slows the wall clock.
        r.cpuMs += (cpuMs(t.pid) ?? NaN) - (before ?? NaN);
        // Cortex Flow's by thread: the event loop, the store's thread (WorkerThread), the rest (GC, libuv).
        if (t === CORTEX) {
          addDelta(r.threadMs, threadsBefore, threadCpuMs(t.pid));
          addDelta(r.waitMs, waitsBefore, threadWaitMs(t.pid));
        }
      }
    for (const t of targets) {
      const { results, cpuMs: spent, machine, threadMs, waitMs } = rounds.get(t)!;
      const requests = results.reduce((n, r) => n + r.rps * SECONDS, 0);
      rows.push({
        label: `${t.label}, ${mode}`,
        rps: median(results.map((r) => r.rps)),
        p50: median(results.map((r) => r.p50)),
        p99: median(results.map((r) => r.p99)),
      });
      // The whole machine's share in use: the load generator, the upstream and the target together.
      const busy = `${(100 * (1 - machine.idle / machine.total)).toFixed(0)}% of the machine busy`;
      if (!Number.isNaN(spent)) cpu.push(`${`${t.label}, ${mode}`.padEnd(44)} ${ms(spent / requests)}   ${busy}`);
      for (const [name, spentByThread] of threadMs) {
        const waited = waitMs.get(name);
        const queue = waited === undefined ? '' : `   waited for a core ${ms(waited / requests).trim()}`;
        cpu.push(`${`  of which ${name}`.padEnd(44)} ${ms(spentByThread / requests)}${queue}`);
      }
    }
    // Per round, Cortex Flow against each reference measured in that same round.
    const rps = (t: (typeof targets)[number]) => rounds.get(t)!.results.map((r) => r.rps);
    const against = (other: (typeof targets)[number]) => {
      const each = rps(CORTEX).map((cf, i) => cf / rps(other)[i]);
      return `${median(each).toFixed(3)} (rounds ${Math.min(...each).toFixed(2)}-${Math.max(...each).toFixed(2)})`;
    };
    ratios.push(
      `${mode}: Cortex Flow / Portkey ${against(PORTKEY)}, / bare proxy ${against(BARE)}, / stored-turn floor ${against(FLOOR)}, / straight ${against(STRAIGHT)}`,
    );
  }
  console.log(`${ROUNDS} round(s) of ${SECONDS} s per case; req/s, p50 and p99: the median round`);
  printTable(rows);
  console.log(`${'CPU of the process serving it'.padEnd(44)} ${'ms/req'.padStart(8)}\n${cpu.join('\n')}`);
  for (const line of ratios) console.log(line);
  // Added latency with nothing else in flight: one request after another over one keep-alive
  // connection, timed with performance.now() (autocannon rounds to whole milliseconds).
  const c1 = [];
  for (const t of [STRAIGHT, CORTEX]) c1.push(await sequentialLatency(t.label, t.url, request(false), t.headers));
  console.log(
    `${'concurrency 1, plain'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
  );
  for (const r of c1) console.log(r.label.padEnd(44), ...[r.p50, r.p90, r.p99].map((ms) => ms.toFixed(2).padStart(8)));
  console.log(`added median latency at concurrency 1: ${(c1[1].p50 - c1[0].p50).toFixed(2)} ms`);
} finally {
  await cortex.stop();
  await portkey.stop();
  await proxy.stop();
  await floor.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
