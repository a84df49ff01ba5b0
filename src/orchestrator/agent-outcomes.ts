// Which agents worked for an answer: those that finished a task, and those still unreported; not an
// agent whose every task failed (a researcher that timed out contributed nothing). Shared by the
// engine (its run_finished list) and the run summary (what it adds to that list).
import type { RunEvent } from './events.ts';

export class AgentOutcomes {
  private readonly delivered = new Set<string>();
  private readonly failed = new Set<string>();

  note(event: Pick<RunEvent, 'type'> & { agent?: string; ok?: boolean }): void {
    if (event.type === 'agent_finished' && event.agent) (event.ok ? this.delivered : this.failed).add(event.agent);
  }

  /** `agents` (in their order) without those that only failed. */
  contributors(agents: readonly string[]): string[] {
    return agents.filter((a) => this.delivered.has(a) || !this.failed.has(a));
  }
}
