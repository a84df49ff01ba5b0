// What the console's overview shows about a window of runs, computed from the stored runs (so that
// every replica answers the same): how many ran, how many failed, upstream tokens per agent, and
// the p50/p95 of their durations.
import type { RunEvent } from '../orchestrator/events.ts';

export interface RunStats {
  /** Start of the window (ISO 8601). */
  since: string;
  runs: number;
  /** Runs that ended `failed` or `interrupted`. */
  errors: number;
  byStatus: Record<string, number>;
  /** Upstream tokens per agent, from the runs' `usage` events. */
  tokensByAgent: Record<string, { inputTokens: number; outputTokens: number }>;
  /** Durations of the runs that are over, in seconds; null when none is. */
  latency: { p50: number | null; p95: number | null };
}

export interface RunStatsRow {
  status: string;
  started_at: string;
  finished_at: string | null;
  /** The run's upstream tokens per agent (JSON of `agentUsage()`); null for runs stored before it was kept. */
  agent_usage: string | null;
  /** The trace, read only for those older runs. */
  events: string | null;
}

type TokensByAgent = RunStats['tokensByAgent'];

/**
 * A run's upstream tokens per agent, from its `usage` events: kept with the run (`runs.agent_usage`)
 * so that the overview reads a few bytes per run, not every trace of its window (tens of KB each).
 */
export function agentUsage(events: readonly RunEvent[]): TokensByAgent {
  // Keyed by agent names, which the agents file chooses (`constructor` is a valid one): no prototype.
  const byAgent: TokensByAgent = Object.create(null);
  for (const event of events) {
    if (event.type !== 'usage') continue;
    const t = (byAgent[event.usage.agent] ??= { inputTokens: 0, outputTokens: 0 });
    t.inputTokens += event.usage.inputTokens;
    t.outputTokens += event.usage.outputTokens;
  }
  return byAgent;
}

const ERRORS = new Set(['failed', 'interrupted']);

export function runStats(since: string, rows: readonly RunStatsRow[]): RunStats {
  const byStatus: Record<string, number> = {};
  const tokensByAgent: TokensByAgent = Object.create(null);
  const durations: number[] = [];
  for (const row of rows) {
    byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    if (row.status !== 'running' && row.finished_at)
      durations.push((Date.parse(row.finished_at) - Date.parse(row.started_at)) / 1000);
    const own: TokensByAgent =
      row.agent_usage !== null
        ? JSON.parse(row.agent_usage)
        : agentUsage(row.events ? (JSON.parse(row.events) as RunEvent[]) : []);
    for (const [agent, used] of Object.entries(own)) {
      const t = (tokensByAgent[agent] ??= { inputTokens: 0, outputTokens: 0 });
      t.inputTokens += used.inputTokens;
      t.outputTokens += used.outputTokens;
    }
  }
  durations.sort((a, b) => a - b);
  return {
    since,
    runs: rows.length,
    errors: rows.filter((r) => ERRORS.has(r.status)).length,
    byStatus,
    tokensByAgent,
    latency: { p50: percentile(durations, 0.5), p95: percentile(durations, 0.95) },
  };
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
