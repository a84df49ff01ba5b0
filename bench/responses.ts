// The Responses API against the chat completions API on the same one-call request (the supervisor
// answers at once: one upstream call), through the same server, as one JSON body and as a stream.
// Both paths run the same ChatRun; what differs is the request mapping, the renderer and the
// events the Responses API streams. Reported as ratios Responses / chat (goal: req/s >= 0.9), under
// two load generators: autocannon, and fetch (undici, what the openai package and the AI SDK use).
// Either load saturates the server, so req/s is the share of a core the server gets divided by its
// CPU time per request; on a shared machine that share swings from run to run, and a req/s ratio
// with it. So the server's CPU time per request (Linux: /proc) and autocannon's latency percentiles
// are printed beside the rates: the CPU ratio is the stable one.
// Run: node bench/responses.ts   (BENCH_UPSTREAM_DELAY_MS, BENCH_SECONDS, BENCH_CONNECTIONS)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startPrinting, startServer } from './lib-processes.ts';

const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const FETCH_REQUESTS = Number(process.env.BENCH_FETCH_REQUESTS ?? 500);
const PROMPT = 'BENCH-ONE-CALL hello';

/** CPU time (user + system, ms) a process has used so far; NaN where /proc is not there. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

async function main() {
  const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: String(DELAY_MS) });
  const chat = (stream: boolean) =>
    JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: PROMPT }], stream });
  const responses = (stream: boolean) => JSON.stringify({ model: 'cortex-flow', input: PROMPT, stream });

  // Each measurement on a fresh server and store: the second path must not pay for the rows of the first.
  const measure = async (path: string, body: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-responses-'));
    const server = await startServer({
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: upstream.line,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LLM_MAX_RETRIES: '0',
    });
    try {
      const url = `${server.baseUrl}${path}`;
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const text = await res.text();
      const ended = ['Hello from upstream.', 'data: [DONE]', 'event: response.completed'].some((end) =>
        text.includes(end),
      );
      if (!res.ok || !ended) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
      const load = (duration: number) =>
        autocannon({
          url,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          connections: CONNECTIONS,
          duration,
        });
      await load(1); // warm-up
      const cpuBefore = cpuMs(server.process.pid);
      const result = await load(SECONDS);
      const serverCpuMs = (cpuMs(server.process.pid) - cpuBefore) / result.requests.total;
      if (result.non2xx || result.errors)
        throw new Error(`${path}: ${result.non2xx} non-2xx and ${result.errors} errors under load`);
      // The same load from fetch (undici), the HTTP client of the openai package and the AI SDK on Node.
      let sent = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (sent++ < FETCH_REQUESTS) {
            const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
            if (!r.ok) throw new Error(`${path}: ${r.status}`);
            await r.arrayBuffer();
          }
        }),
      );
      return {
        autocannon: result.requests.average,
        fetch: FETCH_REQUESTS / ((performance.now() - started) / 1000),
        cpu: serverCpuMs,
        p50: result.latency.p50,
        p99: result.latency.p99,
      };
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  type Rates = { autocannon: number; fetch: number; cpu: number; p50: number; p99: number };
  const rows: [string, Rates, Rates][] = [];
  try {
    for (const stream of [false, true]) {
      const viaChat = await measure('/v1/chat/completions', chat(stream));
      const viaResponses = await measure('/v1/responses', responses(stream));
      rows.push([stream ? 'streamed' : 'JSON', viaChat, viaResponses]);
    }
  } finally {
    await upstream.stop();
  }

  console.log(
    `one-call request, upstream delay ${DELAY_MS} ms, ${CONNECTIONS} connections: autocannon ${SECONDS} s, ` +
      `then ${FETCH_REQUESTS} requests from fetch, per path`,
  );
  console.log(
    '              req/s: chat (autocannon, fetch) | responses (autocannon, fetch) | ratio (autocannon, fetch)',
  );
  const f = (n: number, w = 6) => n.toFixed(0).padStart(w);
  for (const [name, c, r] of rows)
    console.log(
      `  ${name.padEnd(9)} ${f(c.autocannon, 17)} ${f(c.fetch)} | ${f(r.autocannon, 22)} ${f(r.fetch)} |` +
        ` ${(r.autocannon / c.autocannon).toFixed(3).padStart(18)} ${(r.fetch / c.fetch).toFixed(3).padStart(6)}`,
    );
  console.log(
    '  under autocannon: server CPU ms per request, chat | responses | ratio chat/responses; latency p50/p99 ms',
  );
  for (const [name, c, r] of rows)
    console.log(
      `  ${name.padEnd(9)} ${c.cpu.toFixed(2).padStart(6)} | ${r.cpu.toFixed(2).padStart(6)} | ` +
        `${(c.cpu / r.cpu).toFixed(3).padStart(6)}; chat ${c.p50}/${c.p99}, responses ${r.p50}/${r.p99}`,
    );
}

await main();
