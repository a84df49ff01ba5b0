// A test double for the team: it records every RunInput it receives and answers with a function of
// it, streaming the answer in small deltas (optionally slowly, or failing part way).
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';

export interface RecordingOptions {
  answer?: (input: RunInput) => string;
  /** Delay between deltas. */
  delayMs?: number;
  /** Fail with this error after the first delta. */
  failWith?: { message: string; status: number; type: string; code: string | null };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class RecordingOrchestrator implements Orchestrator {
  readonly engine = 'test-recording';
  readonly inputs: RunInput[] = [];
  options: RecordingOptions;

  constructor(options: RecordingOptions = {}) {
    this.options = options;
  }

  models(): ModelInfo[] {
    return [{ id: 'cortex-flow', description: 'test team' }];
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    this.inputs.push(input);
    const text = (this.options.answer ?? ((i) => `Echo: ${i.messages.at(-1)?.content}`))(input);
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    const pieces = text.match(/.{1,4}/gs) ?? [];
    for (const [i, piece] of pieces.entries()) {
      if (signal.aborted) return;
      if (this.options.delayMs) await sleep(this.options.delayMs, signal);
      if (signal.aborted) return;
      yield { type: 'text_delta', text: piece, at: Date.now() };
      if (i === 0 && this.options.failWith) {
        yield { type: 'run_failed', error: this.options.failWith, at: Date.now() };
        return;
      }
    }
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text,
      agentsUsed: ['writer'],
      iterations: 1,
      sources: [],
      at: Date.now(),
    };
  }
}
