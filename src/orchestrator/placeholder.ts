// A stand-in single agent used until the team and the offline engine are wired in: it streams a
// short acknowledgement of the last user message, word by word, through the real event stream.
import type { RunEvent } from './events.ts';
import type { ModelInfo, Orchestrator, RunInput } from './types.ts';

export class PlaceholderOrchestrator implements Orchestrator {
  readonly engine = 'placeholder';
  private readonly modelName: string;
  constructor(modelName: string) {
    this.modelName = modelName;
  }

  models(): ModelInfo[] {
    return [
      { id: this.modelName, description: 'The full team' },
      { id: `${this.modelName}-supervisor`, description: 'The supervisor alone' },
    ];
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    const question = [...input.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const text = `You asked: ${question}`;
    for (const word of text.split(/(?<= )/)) {
      if (signal.aborted) return;
      yield { type: 'text_delta', text: word, at: Date.now() };
    }
    yield { type: 'run_finished', finishReason: 'stop', text, agentsUsed: [], iterations: 0, sources: [], at: Date.now() };
  }
}
