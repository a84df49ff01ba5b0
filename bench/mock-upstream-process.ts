// The mock OpenAI upstream as its own process, so that benchmarks do not share its event loop with
// the server being measured. Prints its base URL on stdout, answers every call after
// BENCH_UPSTREAM_DELAY_MS, and plays the team script of bench/team.ts (with or without a pause for
// a client tool) and the tool round trip of bench/tools.ts.
import { agentOf, startMockUpstream, type Reply } from '../test/support/mock-openai-upstream.ts';

const delayMs = Number(process.env.BENCH_UPSTREAM_DELAY_MS ?? 100);

function reply(body: any): Reply {
  const agent = agentOf(body);
  if (JSON.stringify(body.messages).includes('BENCH-ONE-CALL')) return { delayMs, text: 'Hello from upstream.' };
  // BENCH-TOOL (bench/tools.ts): call the client's tool, then answer from its result.
  if (JSON.stringify(body.messages).includes('BENCH-TOOL')) {
    const result = body.messages.findLast((m: any) => m.role === 'tool')?.content;
    if (result) return { delayMs, text: `The weather: ${result}` };
    return { delayMs, toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
  }
  if (agent === 'supervisor') {
    const delegated = body.messages.some((m: any) => m.role === 'tool');
    // BENCH-PAUSE: the first turn also calls the client's tool, pausing the run until its result.
    const pause = JSON.stringify(body.messages).includes('BENCH-PAUSE');
    if (!delegated)
      return {
        delayMs,
        toolCalls: [
          { name: 'cortex__ask_researcher', arguments: { task: 'Find the facts' } },
          { name: 'cortex__ask_analyst', arguments: { task: 'Compute the figures' } },
          ...(pause ? [{ name: 'get_weather', arguments: { city: 'Paris' } }] : []),
        ],
      };
    return { delayMs, toolCalls: [{ name: 'cortex__ask_writer', arguments: { task: 'Write the answer' } }] };
  }
  return { delayMs, text: `${agent} report: the facts and the figures.` };
}

const upstream = await startMockUpstream((req) => reply(req.body));
console.log(upstream.baseUrl);
process.on('SIGTERM', () => void upstream.close().then(() => process.exit(0)));
