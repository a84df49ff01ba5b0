// Cortex Flow's HTTP layer with a fixed answer and no memory: what remains is the wire format
// (validation, JSON or SSE rendering, token counting, metrics). Prints its URL.
import { loadConfig } from '../../src/config.ts';
import { StatelessMemory } from '../../src/conversation/stateless.ts';
import { assembleDeps } from '../../src/http/deps.ts';
import { buildServer } from '../../src/http/server.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { Orchestrator, RunInput } from '../../src/orchestrator/types.ts';
import { TokenCounter } from '../../src/tokens.ts';

export const FIXED_ANSWER = 'Paris is the capital and largest city of France, on the Seine. '.repeat(4).trim();

class FixedAnswer implements Orchestrator {
  readonly engine = 'bench-fixed';
  models() {
    return [{ id: 'cortex-flow', description: 'fixed' }];
  }
  async *run(input: RunInput): AsyncIterable<RunEvent> {
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    for (const word of FIXED_ANSWER.match(/\S+\s*/g)!) yield { type: 'text_delta', text: word, at };
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text: FIXED_ANSWER,
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at,
    };
  }
}

const config = loadConfig({
  ...process.env,
  CORTEX_LOG_LEVEL: 'silent',
  CORTEX_SSE_KEEPALIVE_SECONDS: '0',
  CORTEX_MAX_CONCURRENT_RUNS: '10000',
});
const tokens = new TokenCounter(config.tokenModel);
const server = buildServer(
  assembleDeps({ config, orchestrator: new FixedAnswer(), memory: new StatelessMemory(), tokens, version: 'bench' }),
);
console.log(await server.listen({ host: '127.0.0.1', port: 0 }));
process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
