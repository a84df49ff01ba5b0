// Everything one run of the team shares: its input, its event channel, the sources found so far,
// the findings of the agents, and the settings every upstream call is made with.
import type { ResolvedModel } from '../llm/providers.ts';
import { RetryWatch, watchRetries } from '../llm/retry-watch.ts';
import { AgentOutcomes } from '../orchestrator/agent-outcomes.ts';
import type { RunEvent, Source } from '../orchestrator/events.ts';
import type { RunInput } from '../orchestrator/types.ts';
import { SourceCollector, type ToolContext } from '../tools/types.ts';
import type { Depth } from './depth.ts';
import { EventChannel } from './event-channel.ts';

export interface Finding {
  agent: string;
  task: string;
  output: string;
}

export interface CallLimits {
  maxRetries: number;
  /** Longest one specialist task may take, all its turns and tools included. */
  agentTimeoutMs: number;
}

export class RunContext {
  readonly input: RunInput;
  readonly signal: AbortSignal;
  readonly depth: Depth;
  readonly limits: CallLimits;
  readonly events = new EventChannel();
  readonly sources = new SourceCollector();
  readonly findings: Finding[] = [];
  readonly agentsUsed: string[] = [];
  private readonly outcomes = new AgentOutcomes();
  /** When the run started; earlier for a resumed run, by the time its first part took. */
  startedAt = Date.now();
  /** The final answer as streamed so far. */
  answer = '';
  private callSeq = 0;

  constructor(input: RunInput, signal: AbortSignal, depth: Depth, limits: CallLimits) {
    this.input = input;
    this.signal = signal;
    this.depth = depth;
    this.limits = limits;
  }

  emit(event: DistributiveOmit<RunEvent, 'at'>): void {
    this.outcomes.note(event);
    this.events.push({ ...event, at: Date.now() } as RunEvent);
  }

  /** The agents that worked for the answer (in the order they started): not those that only failed. */
  contributors(): string[] {
    return this.outcomes.contributors(this.agentsUsed);
  }

  progress(agent: string, text: string): void {
    this.emit({ type: 'progress', agent, text });
  }

  /** A piece of the final answer, streamed to the client as it is written. */
  answerDelta(text: string): void {
    if (!text) return;
    this.answer += text;
    this.emit({ type: 'text_delta', text });
  }

  agentStarted(agent: string, task: string, callId = `${agent}_${++this.callSeq}`): string {
    if (!this.agentsUsed.includes(agent)) this.agentsUsed.push(agent);
    this.emit({ type: 'agent_started', agent, callId, task });
    return callId;
  }

  usage(
    agent: string,
    model: string,
    usage: { inputTokens: number | undefined; outputTokens: number | undefined },
  ): void {
    this.emit({
      type: 'usage',
      usage: { agent, model, inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 },
    });
  }

  /** What one upstream call of `agent` tells of its retries, traced as `upstream_retry`. */
  retryWatch(agent: string, model: ResolvedModel): RetryWatch {
    return new RetryWatch(this.limits.maxRetries, (retry) =>
      this.emit({ type: 'upstream_retry', agent, model: model.name, ...retry }),
    );
  }

  /**
   * Settings of a `streamText` call of `agent` in this run: retries (traced) and cancellation (by
   * the run's signal, or a narrower one, e.g. an agent's own time limit). The time limit of a call
   * is its upstream's silence, which the model's guard (src/llm/stream-guard.ts) enforces; there is
   * no total.
   */
  callSettings(agent: string, model: ResolvedModel, signal: AbortSignal = this.signal) {
    return {
      model: watchRetries(model.model, this.retryWatch(agent, model)),
      maxRetries: this.limits.maxRetries,
      abortSignal: signal,
    };
  }

  /** Takes over what a paused run had: findings, sources, agents used, time spent. */
  restore(from: { findings: Finding[]; sources: Source[]; agentsUsed: string[]; elapsedMs: number }): void {
    this.findings.push(...from.findings);
    for (const s of [...from.sources].sort((a, b) => a.index - b.index)) this.sources.add(s);
    this.agentsUsed.push(...from.agentsUsed);
    this.startedAt -= from.elapsedMs;
  }

  toolContext(signal: AbortSignal = this.signal): ToolContext {
    return {
      signal,
      conversationId: this.input.conversationId,
      messages: this.input.messages,
      owner: this.input.owner,
      sources: this.sources,
    };
  }

  /** The findings and sources of this run, as material for the next agent. */
  material(): string {
    const parts: string[] = [];
    if (this.findings.length) {
      parts.push('Findings of the team so far:');
      for (const f of this.findings) parts.push(`--- ${f.agent} (task: ${f.task})\n${f.output}`);
    }
    const sources = this.sources.list();
    if (sources.length) {
      parts.push('Sources (cite them by number):');
      for (const s of sources) parts.push(`[${s.index}] ${s.title} - ${s.url}`);
    }
    return parts.join('\n');
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
