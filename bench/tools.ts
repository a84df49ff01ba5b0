// The cost of a client tool round trip through Cortex Flow: the request that offers the tool and
// gets `tool_calls` back, then the request that resends the whole history with the tool's result
// and gets the answer (as the `openai` package's runTools does), run by every connection in turn.
// Measured through Cortex Flow (`cortex-flow-supervisor`: the agent's turn, the pause with its
// checkpoint stored, the resume) and straight to the mock upstream; reported as round trips per
// second and their ratio.
// Run: npm run bench -- tools   (or: node bench/tools.ts)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startPrinting, startServer } from './lib-processes.ts';

const DELAY_MS = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);

const tools = [
  {
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
];
let trip = 0;

/**
 * The two requests of one round trip; the second answers the call the first one got back. Each
 * round trip asks its own question, as distinct users would (an identical history would be read
 * as the same conversation).
 */
function roundTrip(model: string) {
  return [
    {
      method: 'POST' as const,
      setupRequest: (req: any, context: any) => {
        context.question = { role: 'user', content: `BENCH-TOOL weather in Paris? (${++trip})` };
        return { ...req, body: JSON.stringify({ model, messages: [context.question], tools }) };
      },
    },
    {
      method: 'POST' as const,
      setupRequest: (req: any, context: any) => ({
        ...req,
        body: JSON.stringify({
          model,
          tools,
          messages: [
            context.question,
            { role: 'assistant', content: null, tool_calls: [context.call] },
            { role: 'tool', tool_call_id: context.call.id, content: 'Sunny, 21 C' },
          ],
        }),
      }),
    },
  ].map((r, i) =>
    i === 0
      ? {
          ...r,
          onResponse: (status: number, body: string, context: any) => {
            const call = JSON.parse(body).choices?.[0]?.message?.tool_calls?.[0];
            if (status !== 200 || !call) throw new Error(`no tool call: ${status} ${body.slice(0, 200)}`);
            context.call = call;
          },
        }
      : r,
  );
}

async function main() {
  const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: String(DELAY_MS) });
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-bench-tools-'));
  const server = await startServer({
    CORTEX_MODEL: 'openai:mock',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: upstream.line,
    CORTEX_DATA_DIR: dataDir,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_RATE_LIMIT_RPM: '0',
  });
  const load = (url: string, model: string) =>
    autocannon({
      url,
      headers: { 'content-type': 'application/json' },
      requests: roundTrip(model),
      connections: CONNECTIONS,
      duration: SECONDS,
    });
  const direct = await load(`${upstream.line}/chat/completions`, 'mock');
  const through = await load(`${server.baseUrl}/v1/chat/completions`, 'cortex-flow-supervisor');
  for (const r of [direct, through])
    if (r.non2xx || r.errors) throw new Error(`load run had ${r.non2xx} non-2xx and ${r.errors} errors`);
  await server.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });

  // Each round trip is two requests.
  const trips = (r: autocannon.Result) => r.requests.average / 2;
  console.log(`upstream delay ${DELAY_MS} ms per call; ${CONNECTIONS} connections x ${SECONDS} s`);
  console.log('tool round trip (2 requests)   trips/s   p50 ms   p99 ms (per request)');
  for (const [name, r] of [
    ['straight to upstream', direct],
    ['through Cortex Flow ', through],
  ] as const)
    console.log(
      `  ${name}         ${trips(r).toFixed(0).padStart(7)}  ${String(r.latency.p50).padStart(7)}  ${String(r.latency.p99).padStart(7)}`,
    );
  console.log(`  ratio (Cortex Flow / upstream): trips/s ${(trips(through) / trips(direct)).toFixed(3)}`);
}

await main();
