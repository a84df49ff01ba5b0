// The cost of the team's MCP plumbing: one `read_text_file` call to the registry's filesystem server
// (stdio), made
//  A. directly with the SDK's client (what any MCP client pays: JSON-RPC over the child's pipes), and
//  B. by the researcher in a team run, measured at the upstream: from the researcher's request that
//     gets the tool call as its answer to its next request, which carries the result. That
//     span is all the team adds around the call: the AI SDK's tool step, the namespaced tool's
//     execute, the events and the trace, the result's conversion, the next request's assembly.
//  C. the same span for a built-in tool (search_knowledge_base on an empty knowledge base): what any
//     tool step costs, so B - C is what MCP adds inside the team.
// Reported as medians and the ratio B/A. The mock upstream answers at once, so only Cortex Flow's
// own work and the MCP server's are in the figures.
// Run: npm run bench -- mcp   (or: node bench/mcp.ts)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { startMockUpstream, type UpstreamRequest } from '../test/support/mock-openai-upstream.ts';
import { ask, supervisorTurn, tagOf } from '../test/support/team-script.ts';

const CALLS = Number(process.env.BENCH_MCP_CALLS ?? 200);
const RUNS = Number(process.env.BENCH_MCP_RUNS ?? 30);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-bench-mcp-'));
  const files = join(dir, 'files');
  mkdirSync(files);
  const path = join(files, 'notes.txt');
  writeFileSync(path, 'The launch code is 1234.\n'.repeat(40)); // ~1 KB
  const server = {
    command: process.execPath,
    args: [resolve('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js'), files],
  };

  // A. Directly with the SDK client.
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ ...server, stderr: 'ignore' }));
  for (let i = 0; i < 20; i++) await client.callTool({ name: 'read_text_file', arguments: { path } }); // warm-up
  const direct: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await client.callTool({ name: 'read_text_file', arguments: { path } });
    direct.push(performance.now() - t);
  }
  await client.close();

  // B. The same call made by the researcher in team runs.
  const seen = new Map<string, number[]>(); // researcher requests per run, performance.now() on arrival
  const upstream = await startMockUpstream((req: UpstreamRequest) => {
    const tag = tagOf(req)!;
    if (req.agent === 'researcher') seen.set(tag, [...(seen.get(tag) ?? []), performance.now()]);
    if (req.agent === 'supervisor')
      return supervisorTurn(req) === 1
        ? { toolCalls: [ask('researcher', `Read the notes [[${tag}]]`)] }
        : { toolCalls: [ask('writer', `Write it [[${tag}]]`)] };
    if (req.agent === 'researcher') {
      const hasResult = req.body.messages.some((m: any) => m.role === 'tool');
      return hasResult
        ? { text: `Read. [[${tag}]]` }
        : tag.startsWith('builtin')
          ? { toolCalls: [{ name: 'search_knowledge_base', arguments: { query: 'launch code' } }] }
          : { toolCalls: [{ name: 'mcp__files__read_text_file', arguments: { path } }] };
    }
    return { text: `Done. [[${tag}]]` };
  });
  writeFileSync(join(dir, 'mcp.json'), JSON.stringify({ mcpServers: { files: server } }));
  const app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_DATA_DIR: dir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SAMPLE_CORPUS: 'false',
      CORTEX_MCP_CONFIG: join(dir, 'mcp.json'),
    }),
  );
  const base = await app.server.listen({ host: '127.0.0.1', port: 0 });
  const spans: number[] = [];
  const builtin: number[] = [];
  const traced: number[] = [];
  for (let i = 0; i < 2 * (RUNS + 5); i++) {
    // Alternated, so that both kinds see the same machine.
    const kind = i % 2 ? 'builtin' : 'mcp';
    const tag = `${kind}-${i}`;
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: `Go [[${tag}]]` }] }),
    });
    const runId = res.headers.get('x-cortex-run-id');
    if (!res.ok) throw new Error(`run failed: ${await res.text()}`);
    await res.json();
    if (i < 10) continue; // warm-up
    const [asked, next] = seen.get(tag)!;
    if (kind === 'builtin') {
      builtin.push(next - asked);
      continue;
    }
    spans.push(next - asked);
    const trace = (await (await fetch(`${base}/v1/runs/${runId}`)).json()) as any;
    const result = trace.events.find((e: any) => e.type === 'tool_result' && e.mcp);
    if (result.isError) throw new Error(`the MCP call failed: ${JSON.stringify(result.output)}`);
    traced.push(result.durationMs);
  }
  await app.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });

  const a = pct(direct, 0.5);
  const b = pct(spans, 0.5);
  console.log(`MCP tool call (server-filesystem read_text_file, ~1 KB, stdio)`);
  console.log(`  A. SDK client directly:      median ${ms(a)}, p90 ${ms(pct(direct, 0.9))} (${CALLS} calls)`);
  console.log(`  B. through the team:         median ${ms(b)}, p90 ${ms(pct(spans, 0.9))} (${RUNS} runs)`);
  console.log(
    `  C. built-in tool, same span: median ${ms(pct(builtin, 0.5))}, p90 ${ms(pct(builtin, 0.9))} (${RUNS} runs)`,
  );
  console.log(`     of which the call itself: median ${ms(pct(traced, 0.5))} (durationMs in the trace; ms resolution)`);
  console.log(`  ratio B/A: ${(b / a).toFixed(2)}; team overhead per call: ${ms(b - a)}`);
}

await main();
