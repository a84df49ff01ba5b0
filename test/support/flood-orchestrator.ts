// A test engine whose answer never ends: 64 KB text deltas for as long as it is read and not
// aborted, to fill the socket of a client that stopped reading.
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';

// Words, not one endless run of a letter: the answer is counted in tokens when it is recorded.
const BLOCK = 'lorem ipsum '.repeat(5462);

export class FloodOrchestrator implements Orchestrator {
  readonly engine = 'test-flood';
  /** Deltas handed out so far. */
  deltas = 0;

  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    while (!signal.aborted) {
      this.deltas++;
      yield { type: 'text_delta', text: BLOCK, at: Date.now() };
      await new Promise((r) => setImmediate(r));
    }
  }
}
