// The Responses API against the chat completions API on the same one-call request (the supervisor
// answers at once: one upstream call), as one JSON body and as a stream. Both paths run the same
// ChatRun; what differs is the request mapping, the renderer, the events the Responses API streams
// and the stored response. Reported as ratios Responses / chat (goal: req/s >= 0.9), under two load
// generators: autocannon, and fetch (undici, what the openai package and the AI SDK use). Each path
// has a server of its own and both are loaded at the same time, round after round.
// Either load saturates the server, so req/s is the share of a core the server gets divided by its
// CPU time per request; on a shared machine that share swings from run to run, and a req/s ratio
// with it. So the server's CPU time per request (Linux: /proc) and autocannon's latency percentiles
// are printed beside the rates: the CPU ratio is the stable one.
// Run: node bench/responses.ts   (BENCH_UPSTREAM_DELAY_MS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startPrinting, startServer, mockUpstreamEnv } from './lib-processes.ts';

const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const FETCH_REQUESTS = Number(process.env.BENCH_FETCH_REQUESTS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

  // Each path on a server and store of its own (neither pays for the other's rows), both loaded at
  // the same time: on a machine shared with other work, the two measurements of a pair then see the
  // same conditions, and their ratio is not the drift of the machine's load between two moments.
  const start = async (path: string, body: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-responses-'));
    const server = await startServer(mockUpstreamEnv(upstream.line, dataDir));
    const url = `${server.baseUrl}${path}`;
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    const ended = ['Hello from upstream.', 'data: [DONE]', 'event: response.completed'].some((end) =>
      text.includes(end),
    );
    if (!res.ok || !ended) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
    const autocannonLoad = (duration: number) =>
      autocannon({
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS,
        duration,
      });
    return {
      warm: () => autocannonLoad(1),
      /** Autocannon's load, with the server's CPU time per request meanwhile. */
      autocannon: async () => {
        const cpuBefore = cpuMs(server.process.pid);
        const result = await autocannonLoad(SECONDS);
        if (result.non2xx || result.errors)
          throw new Error(`${path}: ${result.non2xx} non-2xx and ${result.errors} errors under load`);
        return { result, cpu: (cpuMs(server.process.pid) - cpuBefore) / result.requests.total };
      },
      /** The same load from fetch (undici), the HTTP client of the openai package and the AI SDK on Node: req/s. */
      fetch: async () => {
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
        return FETCH_REQUESTS / ((performance.now() - started) / 1000);
      },
      stop: async () => {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };

  type Rates = { autocannon: number; fetch: number; cpu: number; p50: number; p99: number };
  type Pair = { round: number; chat: Rates; responses: Rates };
  const pairs: Record<'JSON' | 'streamed', Pair[]> = { JSON: [], streamed: [] };
  const measurePair = async (stream: boolean): Promise<{ chat: Rates; responses: Rates }> => {
    const servers = await Promise.all([
      start('/v1/chat/completions', chat(stream)),
      start('/v1/responses', responses(stream)),
    ]);
    try {
      await Promise.all(servers.map((s) => s.warm()));
      const loads = await Promise.all(servers.map((s) => s.autocannon()));
      const fetched = await Promise.all(servers.map((s) => s.fetch()));
      const [c, r] = loads.map(({ result, cpu }, i) => ({
        autocannon: result.requests.average,
        fetch: fetched[i],
        cpu,
        p50: result.latency.p50,
        p99: result.latency.p99,
      }));
      return { chat: c, responses: r };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  };
  try {
    for (let round = 1; round <= ROUNDS; round++)
      for (const stream of [false, true])
        pairs[stream ? 'streamed' : 'JSON'].push({ round, ...(await measurePair(stream)) });
  } finally {
    await upstream.stop();
  }

  console.log(
    `one-call request, upstream delay ${DELAY_MS} ms, ${CONNECTIONS} connections: autocannon ${SECONDS} s, ` +
      `then ${FETCH_REQUESTS} requests from fetch, per path, both paths loaded at once; ${ROUNDS} rounds`,
  );
  const f = (n: number, w = 6) => n.toFixed(0).padStart(w);
  const x = (n: number, w = 6) => n.toFixed(3).padStart(w);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(
    '  round       req/s: chat (autocannon, fetch) | responses (autocannon, fetch) | ratio (autocannon, fetch)' +
      ' | server CPU ms/request: chat, responses, ratio chat/responses',
  );
  for (const [name, rows] of Object.entries(pairs)) {
    for (const { round, chat: c, responses: r } of rows)
      console.log(
        `  ${`${name} ${round}`.padEnd(11)} ${f(c.autocannon, 15)} ${f(c.fetch)} | ${f(r.autocannon, 22)} ${f(r.fetch)} |` +
          ` ${x(r.autocannon / c.autocannon, 18)} ${x(r.fetch / c.fetch)} |` +
          ` ${c.cpu.toFixed(2).padStart(24)} ${r.cpu.toFixed(2).padStart(6)} ${x(c.cpu / r.cpu)}` +
          `; p50/p99 ms chat ${c.p50}/${c.p99}, responses ${r.p50}/${r.p99}`,
      );
    console.log(
      `  ${`${name} median`.padEnd(11)} ${' '.repeat(58)}| ${x(median(rows.map((p) => p.responses.autocannon / p.chat.autocannon)), 18)}` +
        ` ${x(median(rows.map((p) => p.responses.fetch / p.chat.fetch)))} |` +
        ` ${median(rows.map((p) => p.chat.cpu))
          .toFixed(2)
          .padStart(24)} ${median(rows.map((p) => p.responses.cpu))
          .toFixed(2)
          .padStart(6)}` +
        ` ${x(median(rows.map((p) => p.chat.cpu / p.responses.cpu)))}`,
    );
  }
}

await main();
