// A test engine whose answer stops half way until the test opens its gate: a run that is reliably
// still running (followed, deleted under, listed) while the test acts, then ends when told to.
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';

export class GatedOrchestrator implements Orchestrator {
  readonly engine = 'test-gated';
  /** How many text deltas an answer has (a progress event every 100 of them). */
  deltas = 20;
  /** Runs that reached the gate and wait there. */
  waiting = 0;
  private gate: Promise<void> = Promise.resolve();
  private release: () => void = () => {};

  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }

  /** From now on, runs stop half way until open(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release();
    this.gate = Promise.resolve();
  }

  /** The answer every run gives: `d0 d1 ...`. */
  answer(): string {
    return Array.from({ length: this.deltas }, (_, i) => `d${i} `).join('');
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    const half = Math.floor(this.deltas / 2);
    for (let i = 0; i < this.deltas; i++) {
      if (i === half) {
        this.waiting++;
        await Promise.race([this.gate, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
        this.waiting--;
      }
      if (signal.aborted) return;
      yield { type: 'text_delta', text: `d${i} `, at: Date.now() };
      if (i % 100 === 0) yield { type: 'progress', agent: 'writer', text: `step ${i}`, at: Date.now() };
    }
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text: this.answer(),
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at: Date.now(),
    };
  }
}
