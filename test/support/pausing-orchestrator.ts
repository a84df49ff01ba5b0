// A test engine that pauses for a client tool and resumes from its checkpoint: the first request
// has the "researcher" find something and then asks the client to run `lookup_order`; a request
// carrying the tool result and `resume` answers from the stored findings without researching again.
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunCheckpoint, RunInput } from '../../src/orchestrator/types.ts';

export class PausingOrchestrator implements Orchestrator {
  readonly engine = 'test-pausing';
  readonly inputs: RunInput[] = [];
  /** How many times the (expensive) research was done. */
  researchCalls = 0;
  private calls = 0;

  models(): ModelInfo[] {
    return [
      { id: 'cortex-flow', description: 'team' },
      { id: 'cortex-flow-supervisor', description: 'supervisor' },
    ];
  }

  async *run(input: RunInput): AsyncIterable<RunEvent> {
    this.inputs.push(input);
    const at = Date.now();
    yield { type: 'run_started', runId: input.runId, model: input.model, at };
    if (input.resume) {
      const findings = (input.resume.state.findings as string[]).join('; ');
      const results = input.messages
        .filter((m) => m.role === 'tool' && input.resume!.pendingToolCallIds.includes(m.toolCallId!))
        .map((m) => m.content)
        .join('; ');
      yield* this.answer(`From earlier research (${findings}) and your tool (${results}).`);
      return;
    }
    this.researchCalls++;
    yield { type: 'agent_started', agent: 'researcher', callId: 'r1', task: 'find order 42', at };
    yield { type: 'agent_finished', agent: 'researcher', callId: 'r1', ok: true, output: 'order 42 exists', at };
    if (input.messages.at(-1)?.role === 'tool') {
      yield* this.answer('Researched everything again.');
      return;
    }
    const id = `call_${++this.calls}_${input.runId.slice(-6)}`;
    const checkpoint: RunCheckpoint = {
      schemaVersion: 1,
      runId: input.runId,
      model: input.model,
      pendingToolCallIds: [id],
      state: { findings: ['order 42 exists'], round: 1 },
    };
    yield {
      type: 'run_finished',
      finishReason: 'tool_calls',
      text: '',
      toolCalls: [{ id, name: 'lookup_order', arguments: '{"id":42}' }],
      checkpoint,
      agentsUsed: ['researcher'],
      iterations: 1,
      sources: [],
      at: Date.now(),
    };
  }

  private async *answer(text: string): AsyncIterable<RunEvent> {
    yield { type: 'text_delta', text, at: Date.now() };
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
