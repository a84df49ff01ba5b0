// Two (or more) versions of Cortex Flow on the one-call path, side by side: each checkout's server
// against the same instant mock upstream, warmed up, then measured in alternating rounds, so that a
// change is judged against its base under the same load from the rest of the machine rather than
// minutes apart. Prints req/s, latency and CPU per request by thread (event loop / store thread /
// the rest) per round. How the hot path's changes are measured since its fourth round (BENCHMARKS.md).
// Run: BENCH_CHECKOUTS="<dir>|<dir>" node bench/side-by-side.ts
//   (each <dir> a checkout with node_modules, e.g. `git worktree add ../base HEAD~1` and a link to
//   this checkout's node_modules; BENCH_STREAM=1, BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ROOT, startPrinting, startServer, threadCpuMs, type Child, mockUpstreamEnv } from './lib-processes.ts';
import { load } from './lib-load.ts';

const CHECKOUTS = (process.env.BENCH_CHECKOUTS ?? ROOT).split('|').map((dir) => resolve(dir));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const STREAM = process.env.BENCH_STREAM === '1';
const body = JSON.stringify({
  model: 'cortex-flow-supervisor',
  stream: STREAM,
  messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
});

/** CPU ms by thread: the event loop (`MainThread`), the store's thread (`WorkerThread`), the rest. */
function cpuByThread(pid: number) {
  const ms = threadCpuMs(pid);
  return { main: ms.get('MainThread') ?? 0, store: ms.get('WorkerThread') ?? 0, rest: ms.get('other threads') ?? 0 };
}

interface Contender {
  label: string;
  url: string;
  server: Child;
  dataDir: string;
  rounds: string[];
}

async function startCheckout(dir: string, upstream: string): Promise<Contender> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-side-'));
  const server = await startServer(mockUpstreamEnv(upstream, dataDir), dir);
  return { label: basename(dir), url: `${server.baseUrl}/v1/chat/completions`, server, dataDir, rounds: [] };
}

const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const contenders: Contender[] = [];
try {
  for (const dir of CHECKOUTS) contenders.push(await startCheckout(dir, upstream.line));
  for (const c of contenders)
    if (WARMUP_SECONDS > 0)
      await load(`${c.label} (warm-up)`, c.url, body, { connections: CONNECTIONS, seconds: WARMUP_SECONDS });
  for (let round = 0; round < ROUNDS; round++)
    // Each round starts with the next contender: none always follows the same one.
    for (const c of contenders.map((_, i) => contenders[(round + i) % contenders.length])) {
      const before = cpuByThread(c.server.process.pid!);
      const r = await load(c.label, c.url, body, { connections: CONNECTIONS, seconds: SECONDS });
      const after = cpuByThread(c.server.process.pid!);
      const per = (k: keyof typeof after) => ((after[k] - before[k]) / (r.rps * SECONDS)).toFixed(3);
      c.rounds.push(`${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms (${per('main')} / ${per('store')} / ${per('rest')})`);
    }
  console.log(
    `${STREAM ? 'stream' : 'plain'}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s; CPU ms per request: event loop / store thread / rest`,
  );
  for (const c of contenders) console.log(`${c.label}\n  ${c.rounds.join('\n  ')}`);
} finally {
  for (const c of contenders) {
    await c.server.stop();
    rmSync(c.dataDir, { recursive: true, force: true });
  }
  await upstream.stop();
}
