// Event-loop delay (node:perf_hooks monitorEventLoopDelay, p99 and max) of the real server while it
// digests pathological input, next to a normal request of the same kind:
//  - one chat message of 200,000 × "中" (offline engine: token counting of the prompt);
//  - a 4 MB request of 500 messages of random words (the same, message by message);
//  - an upstream model answering BENCH_X_MB megabytes of "x" (token counting of the completion);
//  - fetch_url reading a 660 KB page nested 60,000 levels deep (the researcher's tool);
//  - ingest of that page (in this process, as the CLI runs it).
// The server runs in its own process, the mock upstream and the page's site in this one.
// Run: npm run bench -- event-loop
// BENCH_CPU_PROF=1 runs each server under `--cpu-prof` and prints, for each row, its longest busy
// stretch (the stall that row's "loop max" saw) by function.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { internalName } from '../src/agents/tool-names.ts';
import { openKnowledgeBase } from '../src/kb/create-kb.ts';
import { ingestPath } from '../src/kb/ingest.ts';
import { startMockUpstream } from '../test/support/mock-openai-upstream.ts';
import { busyStretches, nowUs, readMainProfile, type Window } from './lib-busy-stretches.ts';

const X_MB = Number(process.env.BENCH_X_MB ?? 20);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const SERVER = fileURLToPath(new URL('./servers/event-loop-server.ts', import.meta.url));
const NESTED_PAGE = `<title>Deep</title>${'<div>'.repeat(60_000)}bottom of the well${'</div>'.repeat(60_000)}`;
const NORMAL_PAGE = `<title>Plain</title>${'<p>An ordinary paragraph of an ordinary page.</p>'.repeat(400)}`;
const dirs: string[] = [];
/** Servers still running: a failed step stops them too, or they would outlive the bench. */
const running = new Set<() => Promise<void>>();
const profiles: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bench-event-loop-'));
  dirs.push(d);
  return d;
};

interface Stats {
  p50: number;
  p99: number;
  max: number;
}
interface Row extends Stats {
  label: string;
  ms: number;
}

async function startServer(env: Record<string, string>) {
  const profDir = CPU_PROF ? tempDir() : undefined;
  const windows: Window[] = [];
  const args = profDir ? ['--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${profDir}`, SERVER] : [SERVER];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      CORTEX_DATA_DIR: tempDir(),
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SAMPLE_CORPUS: 'false',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const kill = async () => {
    running.delete(kill);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  running.add(kill);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  const url = await next();
  return {
    /** Runs `request` and reports the server's event-loop delays while it ran. */
    async measure(label: string, request: (url: string) => Promise<unknown>): Promise<Row> {
      child.stdin!.write('reset\n');
      await next();
      const fromUs = nowUs();
      const started = performance.now();
      await request(url);
      const ms = Math.round(performance.now() - started);
      if (label !== 'warm-up') windows.push({ label, fromUs, toUs: nowUs() });
      child.stdin!.write('stats\n');
      return { label, ms, ...(JSON.parse(await next()) as Stats) };
    },
    async stop() {
      running.delete(kill);
      child.stdin!.write('exit\n');
      await exited;
      if (profDir) profiles.push(busyStretches(readMainProfile(profDir), windows));
    },
  };
}

const chat = (model: string, content: string) => async (url: string) => {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 2000)}`);
};

// A 4 MB request within every limit: 500 messages of 8,000 characters of random words, each message
// short enough to be counted exactly on its own.
const word = () =>
  Math.random()
    .toString(36)
    .slice(2, 2 + Math.ceil(Math.random() * 8));
const manyMessages = async (url: string) => {
  const messages = Array.from({ length: 500 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: Array.from({ length: 1_100 }, word).join(' ').slice(0, 8_000),
  }));
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', messages }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 2000)}`);
};

/** Delays of this process's event loop while `work` runs (ingest runs in the CLI's process). */
async function measureHere(label: string, work: () => Promise<unknown>): Promise<Row> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  await work();
  const ms = Math.round(performance.now() - started);
  delay.disable();
  const toMs = (ns: number) => Math.round(ns / 1e5) / 10;
  return { label, ms, p50: toMs(delay.percentile(50)), p99: toMs(delay.percentile(99)), max: toMs(delay.max) };
}

const site = createServer((req, res) =>
  res.writeHead(200, { 'content-type': 'text/html' }).end(req.url === '/nested' ? NESTED_PAGE : NORMAL_PAGE),
);
await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
const xRun = 'x'.repeat(X_MB * 1_000_000);
const upstream = await startMockUpstream(({ body }) => {
  const prompt = JSON.stringify(body.messages);
  if (prompt.includes('BENCH-X-RUN')) return { text: xRun, chunkSize: 64 * 1024 };
  const page = /BENCH-FETCH (\S+)/.exec(prompt)?.[1];
  // The server offers its own tools under their internal names (src/agents/tool-names.ts).
  if (page && !body.messages.some((m: { role: string }) => m.role === 'tool'))
    return { toolCalls: [{ name: internalName('fetch_url'), arguments: { url: `${siteUrl}/${page}` } }] };
  return { text: 'A short answer of a few words.' };
});

const rows: Row[] = [];
try {
  const offline = await startServer({ CORTEX_MODEL: '' });
  await offline.measure('warm-up', chat('cortex-flow', 'What is the water cycle?'));
  rows.push(await offline.measure('chat, normal message (offline)', chat('cortex-flow', 'What is the water cycle?')));
  rows.push(await offline.measure('chat, 200,000 × "中" (offline)', chat('cortex-flow', '中'.repeat(200_000))));
  rows.push(await offline.measure('chat, 500 × 8,000 chars random words', manyMessages));
  await offline.stop();

  const team = await startServer({
    CORTEX_MODEL: 'openai:mock',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_FETCH_ALLOW_PRIVATE: 'true',
  });
  await team.measure('warm-up', chat('cortex-flow-supervisor', 'Hello'));
  rows.push(await team.measure('upstream answer, a few words', chat('cortex-flow-supervisor', 'Hello')));
  rows.push(
    await team.measure(`upstream answer, ${X_MB} MB of "x"`, chat('cortex-flow-supervisor', 'BENCH-X-RUN please')),
  );
  rows.push(await team.measure('fetch_url, normal 20 KB page', chat('cortex-flow-researcher', 'BENCH-FETCH normal')));
  rows.push(
    await team.measure('fetch_url, 60,000-level nested page', chat('cortex-flow-researcher', 'BENCH-FETCH nested')),
  );
  await team.stop();

  const dir = tempDir();
  writeFileSync(join(dir, 'normal.html'), NORMAL_PAGE);
  writeFileSync(join(dir, 'nested.html'), NESTED_PAGE);
  const kb = await openKnowledgeBase({ dataDir: join(dir, 'data'), databaseUrl: undefined });
  rows.push(await measureHere('ingest, normal 20 KB page', () => ingestPath(kb, join(dir, 'normal.html'))));
  rows.push(await measureHere('ingest, 60,000-level nested page', () => ingestPath(kb, join(dir, 'nested.html'))));
  await kb.close();
} finally {
  await Promise.all([...running].map((kill) => kill()));
  await upstream.close();
  site.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

console.log(
  `${'input'.padEnd(40)} ${'request ms'.padStart(10)} ${'loop p50'.padStart(9)} ${'loop p99'.padStart(9)} ${'loop max'.padStart(9)}`,
);
for (const r of rows)
  console.log(
    `${r.label.padEnd(40)} ${String(r.ms).padStart(10)} ${String(r.p50).padStart(9)} ${String(r.p99).padStart(9)} ${String(r.max).padStart(9)}`,
  );
if (profiles.length) console.log(`\n${profiles.join('\n\n')}`);
