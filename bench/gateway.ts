// Cortex Flow on its one-call path (`cortex-flow-supervisor`, one upstream call, every turn stored)
// against what a gateway costs, side by side in one run over the same instant mock upstream:
//   straight to the upstream | a bare node:http pass-through proxy | the Portkey AI gateway | Cortex Flow
// plain and streamed, at 32 connections; then the added median latency at concurrency 1.
// Run: npm run bench -- gateway
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPrinting, startServer, type Child } from './lib-processes.ts';
import { load, printTable, ratio, type LoadResult } from './lib-load.ts';
import { spawn } from 'node:child_process';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

const request = (stream: boolean) =>
  JSON.stringify({
    model: 'cortex-flow-supervisor',
    stream,
    messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
  });

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
const portkey = await startPortkey();
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-gateway-'));
const cortex = await startServer({
  CORTEX_MODEL: 'openai:mock',
  OPENAI_API_KEY: 'sk-bench',
  OPENAI_BASE_URL: upstream.line,
  CORTEX_DATA_DIR: dataDir,
  CORTEX_LLM_MAX_RETRIES: '0',
});
const portkeyHeaders = {
  'x-portkey-provider': 'openai',
  'x-portkey-custom-host': upstream.line,
  authorization: 'Bearer sk-bench',
};
const targets = [
  { label: 'straight to the upstream', url: `${upstream.line}/chat/completions`, headers: {} },
  { label: 'bare node:http pass-through proxy', url: `${proxy.line}/v1/chat/completions`, headers: {} },
  { label: 'Portkey AI gateway', url: `${portkey.baseUrl}/v1/chat/completions`, headers: portkeyHeaders },
  { label: 'Cortex Flow', url: `${cortex.baseUrl}/v1/chat/completions`, headers: {} },
];

try {
  const rows: Record<'plain' | 'stream', LoadResult[]> = { plain: [], stream: [] };
  for (const mode of ['plain', 'stream'] as const)
    for (const t of targets)
      rows[mode].push(
        await load(`${t.label}, ${mode}`, t.url, request(mode === 'stream'), {
          connections: CONNECTIONS,
          seconds: SECONDS,
          headers: t.headers,
        }),
      );
  printTable([...rows.plain, ...rows.stream]);
  for (const mode of ['plain', 'stream'] as const) {
    const [straight, bare, pk, cf] = rows[mode];
    console.log(
      `${mode}: Cortex Flow / Portkey ${ratio(cf.rps, pk.rps)}, / bare proxy ${ratio(cf.rps, bare.rps)}, / straight ${ratio(cf.rps, straight.rps)}`,
    );
  }
  // Added latency with nothing else in flight.
  const one = [];
  for (const t of [targets[0], targets[3]])
    one.push(
      await load(`${t.label}, plain, 1 connection`, t.url, request(false), {
        connections: 1,
        seconds: SECONDS,
        headers: t.headers,
      }),
    );
  printTable(one);
  console.log(`added median latency at concurrency 1: ${(one[1].p50 - one[0].p50).toFixed(2)} ms`);
} finally {
  await cortex.stop();
  await portkey.stop();
  await proxy.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
