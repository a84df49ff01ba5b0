// The cost of the team machinery, measured side by side in one run against a mock upstream that
// answers every call after a fixed delay:
//  1. wall time of a full team run divided by its critical path (supervisor -> researcher ‖ analyst
//     -> supervisor -> writer: 4 delays); near 1 means no serial waste, 1.25 would mean the two
//     specialists ran one after the other;
//  1b. the same with a pause for a client tool and a resume (engine in this process, at the run
//     contract): supervisor -> researcher ‖ analyst -> pause | resume -> supervisor -> writer, the
//     same 4 delays over two requests; a resume that redid any specialist would show as 5;
//  2. requests/s and p50/p99 latency of a one-call request through Cortex Flow versus straight to
//     the upstream.
// Run: npm run bench -- team   (or: node bench/team.ts)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createTeam } from '../src/agents/create-team.ts';
import { loadConfig } from '../src/config.ts';
import type { RunEvent, RunEventOf } from '../src/orchestrator/events.ts';
import type { ChatMessage, RunInput } from '../src/orchestrator/types.ts';
import { ToolRegistry } from '../src/tools/types.ts';
import { startPrinting, startServer } from './lib-processes.ts';

const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 100);
const RUNS = Number(process.env.BENCH_TEAM_RUNS ?? 10);
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
  const walls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: `Research question ${i}` }] }),
    });
    const body = (await res.json()) as any;
    if (!res.ok || body.metadata.agents_used.join() !== 'researcher,analyst,writer')
      throw new Error(`unexpected team run: ${JSON.stringify(body).slice(0, 300)}`);
    walls.push(performance.now() - started);
  }
  const criticalPath = 4 * DELAY_MS;
  const wall = median(walls);

  // 1b. A team run paused for a client tool, then resumed from its checkpoint.
  const team = createTeam(
    loadConfig({
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: upstreamUrl,
      CORTEX_LLM_MAX_RETRIES: '0',
    }),
    new ToolRegistry(),
  );
  const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
  const finish = async (input: RunInput) => {
    let done: RunEventOf<'run_finished'> | undefined;
    for await (const e of team.run(input, new AbortController().signal) as AsyncIterable<RunEvent>)
      if (e.type === 'run_finished') done = e;
      else if (e.type === 'run_failed') throw new Error(e.error.message);
    return done!;
  };
  const pausedWalls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const history: ChatMessage[] = [{ role: 'user', content: `BENCH-PAUSE question ${i}` }];
    const base = { conversationId: 'bench', model: 'cortex-flow', generation: {}, tools };
    const started = performance.now();
    const paused = await finish({ ...base, runId: `paused_${i}`, messages: history });
    if (paused.finishReason !== 'tool_calls') throw new Error('the run did not pause for the client tool');
    const resumed = await finish({
      ...base,
      runId: `resumed_${i}`,
      messages: [
        ...history,
        { role: 'assistant', content: '', toolCalls: paused.toolCalls },
        { role: 'tool', content: 'Sunny, 21 C', toolCallId: paused.toolCalls![0].id },
      ],
      resume: JSON.parse(JSON.stringify(paused.checkpoint)),
    });
    if (resumed.agentsUsed.join() !== 'researcher,analyst,writer') throw new Error('unexpected resumed run');
    pausedWalls.push(performance.now() - started);
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
