// A stand-in for the run lifecycle's checkpoint store, so that the engine's pause and resume can be
// driven through the real HTTP route today: it keeps each checkpoint a run writes when it pauses,
// keyed by the pending tool-call ids, and hands it back (RunInput.resume) to the request whose
// `tool` messages answer those calls, as the lifecycle does with its store.
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { Orchestrator, RunCheckpoint, RunInput, RunRequest } from '../../src/orchestrator/types.ts';

export class CheckpointingOrchestrator implements Orchestrator {
  readonly engine: string;
  private readonly inner: Orchestrator;
  private readonly saved = new Map<string, RunCheckpoint>();

  constructor(inner: Orchestrator) {
    this.inner = inner;
    this.engine = inner.engine;
  }

  models() {
    return this.inner.models();
  }

  refuse(request: RunRequest) {
    return this.inner.refuse?.(request);
  }

  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    const answered = input.messages.filter((m) => m.role === 'tool').map((m) => m.toolCallId ?? '');
    const resume = input.resume ?? answered.map((id) => this.saved.get(id)).find(Boolean);
    const events = this.inner.run({ ...input, resume }, signal);
    const saved = this.saved;
    return (async function* () {
      for await (const event of events) {
        if (event.type === 'run_finished' && event.checkpoint)
          for (const id of event.checkpoint.pendingToolCallIds) saved.set(id, event.checkpoint);
        yield event;
      }
    })();
  }
}
