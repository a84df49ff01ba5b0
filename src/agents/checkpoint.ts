// What a run paused for client tools keeps, so that the request carrying the tool results goes on
// from there: the agent's own turns since the conversation (its tool calls and the results of the
// internal ones), the findings and sources of the team, the rounds taken and the agents used, and
// the hand-over to the writer if the paused turn asked for it. Resuming from it repeats no agent's
// work. Plain JSON (it is stored and may be read by another replica), validated when read back.
import type { ModelMessage } from 'ai';
import { z } from 'zod';
import type { Source } from '../orchestrator/events.ts';
import type { RunCheckpoint, RunInput } from '../orchestrator/types.ts';
import type { Finding } from './run-context.ts';
import type { Assignment } from './specialist.ts';

export const CHECKPOINT_SCHEMA_VERSION = 1;

export interface AgentLoopState {
  /** `team`: the supervisor and its agents; `solo`: one agent answering on its own. */
  mode: 'team' | 'solo';
  /** The agent whose loop paused. */
  agent: string;
  /** Model turns the agent took so far (reported as `iterations`). */
  steps: number;
  /** Turns that delegated to specialists (the depth's round cap counts these). */
  rounds: number;
  findings: Finding[];
  sources: Source[];
  agentsUsed: string[];
  /** The agent's own turns after the conversation: assistant tool calls and internal tool results. */
  messages: ModelMessage[];
  /** The paused turn also handed over to the writer: it writes once the client's results are in. */
  writerTask?: Assignment;
  /** Run time already spent, so that the delegation budget spans both requests. */
  elapsedMs: number;
}

const stateSchema = z.object({
  mode: z.enum(['team', 'solo']),
  agent: z.string(),
  steps: z.number().int().min(0),
  rounds: z.number().int().min(0),
  findings: z.array(z.object({ agent: z.string(), task: z.string(), output: z.string() })),
  sources: z.array(z.object({ index: z.number(), title: z.string(), url: z.string(), snippet: z.string().optional() })),
  agentsUsed: z.array(z.string()),
  messages: z.array(z.record(z.string(), z.unknown())),
  writerTask: z.object({ task: z.string(), context: z.string().optional() }).optional(),
  elapsedMs: z.number().min(0),
});

export function writeCheckpoint(input: RunInput, pendingToolCallIds: string[], state: AgentLoopState): RunCheckpoint {
  return {
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    runId: input.runId,
    model: input.model,
    pendingToolCallIds,
    // A JSON round trip drops what JSON cannot hold (undefined fields), as the store will.
    state: JSON.parse(JSON.stringify(state)) as Record<string, unknown>,
  };
}

/** The state to resume from, or undefined when the checkpoint is not one this engine can resume. */
export function readCheckpoint(input: RunInput): AgentLoopState | undefined {
  const c = input.resume;
  if (!c || c.schemaVersion !== CHECKPOINT_SCHEMA_VERSION || c.model !== input.model) return undefined;
  const parsed = stateSchema.safeParse(c.state);
  return parsed.success ? (parsed.data as unknown as AgentLoopState) : undefined;
}
