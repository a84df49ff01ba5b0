// `reasoning_effort` picks the depth of a run: how many delegation rounds the supervisor may take,
// how long the whole run may spend delegating, and whether the writer refines its draft.
import type { ReasoningEffort } from '../orchestrator/types.ts';

export interface Depth {
  effort: 'low' | 'medium' | 'high';
  maxIterations: number;
  /** After this many ms the supervisor stops delegating and answers with what it has. */
  delegationBudgetMs: number;
  /** The writer critiques and rewrites its draft once. */
  refine: boolean;
  /** Most tool-using steps of one specialist. */
  agentSteps: number;
}

export function depthOf(
  requested: ReasoningEffort | undefined,
  fallback: Depth['effort'],
  maxIterations: number,
): Depth {
  const effort = normalise(requested) ?? fallback;
  switch (effort) {
    case 'low':
      return { effort, maxIterations: 1, delegationBudgetMs: 60_000, refine: false, agentSteps: 2 };
    case 'medium':
      return {
        effort,
        maxIterations: Math.min(3, maxIterations),
        delegationBudgetMs: 180_000,
        refine: false,
        agentSteps: 4,
      };
    case 'high':
      return { effort, maxIterations, delegationBudgetMs: 600_000, refine: true, agentSteps: 8 };
  }
}

function normalise(effort: ReasoningEffort | undefined): Depth['effort'] | undefined {
  if (effort === 'none' || effort === 'minimal') return 'low';
  if (effort === 'xhigh') return 'high';
  return effort;
}
