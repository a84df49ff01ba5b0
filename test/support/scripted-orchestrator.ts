// A test orchestrator that plays a fixed script of run events (progress, answer deltas, usage), so
// that wire-format tests see every kind of event a real team emits.
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../../src/orchestrator/types.ts';

export const SCRIPTED_ANSWER = 'The capital of France is Paris [1].';

export class ScriptedOrchestrator implements Orchestrator {
  readonly engine = 'test-scripted';
  /** A pause before the answer, e.g. longer than the keep-alive interval. */
  pauseMs = 0;
  /** Fail after the first delta instead of finishing. */
  failMidway = false;
  readonly signals: AbortSignal[] = [];

  models(): ModelInfo[] {
    return [
      { id: 'cortex-flow', description: 'team' },
      { id: 'cortex-flow-supervisor', description: 'supervisor' },
    ];
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    this.signals.push(signal);
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    yield { type: 'agent_started', agent: 'researcher', callId: 'c1', task: 'look it up', at };
    yield { type: 'progress', agent: 'researcher', text: 'researcher: looking it up', at };
    yield { type: 'usage', usage: { agent: 'researcher', model: 'mock:model', inputTokens: 30, outputTokens: 10 }, at };
    yield { type: 'agent_finished', agent: 'researcher', callId: 'c1', ok: true, output: 'Paris', at };
    if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
    const pieces = SCRIPTED_ANSWER.match(/.{1,6}/g)!;
    for (const [i, text] of pieces.entries()) {
      if (signal.aborted) return;
      yield { type: 'text_delta', text, at: Date.now() };
      if (this.failMidway && i === 0) {
        yield {
          type: 'run_failed',
          error: {
            message: 'The upstream model failed with status 503.',
            status: 502,
            type: 'server_error',
            code: 'upstream_error',
          },
          at: Date.now(),
        };
        return;
      }
      await new Promise((r) => setImmediate(r));
    }
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text: SCRIPTED_ANSWER,
      agentsUsed: ['researcher', 'writer'],
      iterations: 2,
      sources: [{ index: 1, title: 'Atlas', url: 'kb://doc_1#0' }],
      at: Date.now(),
    };
  }
}
