// The cost of the team machinery, measured side by side in one run against a mock upstream that
// answers every call after a fixed delay:
//  1. wall time of a full team run divided by its critical path (supervisor -> researcher ‖ analyst
//     -> supervisor -> writer: 4 delays); near 1 means no serial waste, 1.25 would mean the two
//     specialists ran one after the other;
//  1b. the same with a pause for a client tool and a resume, over HTTP as an OpenAI client does it
//     (the second request resends the whole history with the tool result and no conversation_id;
//     the checkpoint is found in the store by the tool-call id): supervisor -> researcher ‖ analyst
//     -> pause | resume -> supervisor -> writer, the same 4 delays over two requests; a resume that
//     redid any specialist would show as 5;
//  Each measurement follows WARMUP runs that are not counted (JIT, first statements, pools).
//  2. requests/s and p50/p99 latency of a one-call request through Cortex Flow versus straight to
//     the upstream.
// Run: npm run bench -- team   (or: node bench/team.ts)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startPrinting, startServer } from './lib-processes.ts';

const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 100);
const RUNS = Number(process.env.BENCH_TEAM_RUNS ?? 10);
const WARMUP = 3;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: String(DELAY_MS) });
  const upstreamUrl = upstream.line;
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-team-'));
  const server = await startServer({
    CORTEX_MODEL: 'openai:mock',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: upstreamUrl,
    CORTEX_DATA_DIR: dataDir,
    CORTEX_LLM_MAX_RETRIES: '0',
  });
  const base = server.baseUrl;

  // 1. Critical path of a team run.
  const chat = async (body: unknown) => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as any;
    if (!res.ok) throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 300)}`);
    return answer;
  };
  const walls: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const started = performance.now();
    const body = await chat({ model: 'cortex-flow', messages: [{ role: 'user', content: `Research question ${i}` }] });
    if (body.metadata.agents_used.join() !== 'researcher,analyst,writer')
      throw new Error(`unexpected team run: ${JSON.stringify(body).slice(0, 300)}`);
    if (i >= WARMUP) walls.push(performance.now() - started);
  }
  const criticalPath = 4 * DELAY_MS;
  const wall = median(walls);

  // 1b. A team run paused for a client tool, then resumed from its stored checkpoint.
  const tools = [
    {
      type: 'function',
      function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    },
  ];
  const pausedWalls: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const history: unknown[] = [{ role: 'user', content: `BENCH-PAUSE question ${i}` }];
    const started = performance.now();
    const paused = await chat({ model: 'cortex-flow', messages: history, tools });
    const call = paused.choices[0].message.tool_calls?.[0];
    if (paused.choices[0].finish_reason !== 'tool_calls' || !call)
      throw new Error('the run did not pause for the client tool');
    const resumed = await chat({
      model: 'cortex-flow',
      tools,
      messages: [
        ...history,
        paused.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 C' },
      ],
    });
    if (resumed.metadata.agents_used.join() !== 'researcher,analyst,writer')
      throw new Error(`unexpected resumed run: ${JSON.stringify(resumed.metadata)}`);
    if (i >= WARMUP) pausedWalls.push(performance.now() - started);
  }
  const pausedWall = median(pausedWalls);

  // 2. One-call request: through Cortex Flow versus straight to the upstream.
  const oneCall = JSON.stringify({
    model: 'cortex-flow',
    messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
  });
  const load = (url: string) =>
    autocannon({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: oneCall,
      connections: CONNECTIONS,
      duration: SECONDS,
    });
  const direct = await load(`${upstreamUrl}/chat/completions`);
  const through = await load(`${base}/v1/chat/completions`);
  for (const r of [direct, through])
    if (r.non2xx || r.errors) throw new Error(`load run had ${r.non2xx} non-2xx and ${r.errors} errors`);

  await server.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });

  console.log(
    `upstream delay ${DELAY_MS} ms per call; ${RUNS} team runs; load ${CONNECTIONS} connections x ${SECONDS} s`,
  );
  console.log(
    `team run: median wall ${wall.toFixed(0)} ms, critical path ${criticalPath} ms, serial sum ${5 * DELAY_MS} ms`,
  );
  console.log(`  wall / critical path = ${(wall / criticalPath).toFixed(3)}`);
  console.log(
    `team run paused for a client tool and resumed: median wall ${pausedWall.toFixed(0)} ms over both requests, critical path ${criticalPath} ms`,
  );
  console.log(`  wall / critical path = ${(pausedWall / criticalPath).toFixed(3)}`);
  console.log('one-call request        req/s     p50 ms   p99 ms');
  console.log(
    `  straight to upstream  ${direct.requests.average.toFixed(0).padStart(7)}  ${String(direct.latency.p50).padStart(7)}  ${String(direct.latency.p99).padStart(7)}`,
  );
  console.log(
    `  through Cortex Flow   ${through.requests.average.toFixed(0).padStart(7)}  ${String(through.latency.p50).padStart(7)}  ${String(through.latency.p99).padStart(7)}`,
  );
  console.log(
    `  ratios (Cortex Flow / upstream): req/s ${(through.requests.average / direct.requests.average).toFixed(3)}, p50 ${(through.latency.p50 / direct.latency.p50).toFixed(3)}, p99 ${(through.latency.p99 / direct.latency.p99).toFixed(3)}`,
  );
}

await main();
