// Folds a run's event stream into what a response reports: the answer, the agents that worked in
// the order they started, iterations, sources and upstream token usage per agent and in total.
import { AgentOutcomes } from './agent-outcomes.ts';
import type { AgentUsage, RunEvent, RunEventOf, Source } from './events.ts';
import type { RunCheckpoint, TokenUsage, ToolCall } from './types.ts';

export interface UsageTotals extends TokenUsage {
  totalTokens: number;
}

export class RunSummary {
  readonly startedAt = performance.now();
  /** When it finished or failed (performance.now()); a choice's time is its own, not its request's. */
  endedAt: number | undefined;
  text = '';
  agentsUsed: string[] = [];
  iterations = 0;
  sources: Source[] = [];
  notes: string[] = [];
  toolCalls: ToolCall[] | undefined;
  /** What a run paused for client tools needs to resume (with `finishReason: 'tool_calls'`). */
  checkpoint: RunCheckpoint | undefined;
  finishReason: RunEventOf<'run_finished'>['finishReason'] | undefined;
  failure: RunEventOf<'run_failed'>['error'] | undefined;
  readonly usage: AgentUsage[] = [];
  readonly events: RunEvent[] = [];
  private streamedText = '';
  private readonly outcomes = new AgentOutcomes();

  apply(event: RunEvent): void {
    this.events.push(event);
    switch (event.type) {
      case 'agent_started':
        if (!this.agentsUsed.includes(event.agent)) this.agentsUsed.push(event.agent);
        break;
      case 'agent_finished':
        this.outcomes.note(event);
        break;
      case 'text_delta':
        this.streamedText += event.text;
        break;
      case 'usage':
        this.usage.push(event.usage);
        break;
      case 'run_finished':
        this.endedAt = performance.now();
        this.finishReason = event.finishReason;
        // The final text is authoritative; deltas are what a stream saw of it so far.
        this.text = event.text;
        this.toolCalls = event.toolCalls;
        this.checkpoint = event.checkpoint;
        this.iterations = event.iterations;
        this.sources = event.sources;
        this.notes = event.notes ?? [];
        // The engine's list leads: a resumed run's agents worked before this request's (the writer).
        // An agent that only failed did not work for the answer.
        this.agentsUsed = [
          ...event.agentsUsed,
          ...this.outcomes.contributors(this.agentsUsed.filter((a) => !event.agentsUsed.includes(a))),
        ];
        break;
      case 'run_failed':
        this.endedAt = performance.now();
        this.failure = event.error;
        break;
    }
  }

  /** What the client has of the answer, even if the run never finished (kept as a partial turn). */
  get answerSoFar(): string {
    return this.finishReason ? this.text : this.streamedText;
  }

  get done(): boolean {
    return this.finishReason !== undefined || this.failure !== undefined;
  }

  elapsedSeconds(): number {
    return Math.round((this.endedAt ?? performance.now()) - this.startedAt) / 1000;
  }

  /** When it ended as a date, for its record; `fallback` (the record's time) for a run stopped unfinished. */
  endedDate(fallback: Date): Date {
    return this.endedAt === undefined ? fallback : new Date(performance.timeOrigin + this.endedAt);
  }

  usageTotal(): UsageTotals {
    const inputTokens = this.usage.reduce((n, u) => n + u.inputTokens, 0);
    const outputTokens = this.usage.reduce((n, u) => n + u.outputTokens, 0);
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  }

  usageByAgent(): Record<string, UsageTotals & { models: string[] }> {
    // Keyed by agent names, which the agents file chooses (`constructor` is a valid one): no prototype.
    const out: Record<string, UsageTotals & { models: string[] }> = Object.create(null);
    for (const u of this.usage) {
      const a = (out[u.agent] ??= { inputTokens: 0, outputTokens: 0, totalTokens: 0, models: [] });
      a.inputTokens += u.inputTokens;
      a.outputTokens += u.outputTokens;
      a.totalTokens += u.inputTokens + u.outputTokens;
      if (!a.models.includes(u.model)) a.models.push(u.model);
    }
    return out;
  }
}
