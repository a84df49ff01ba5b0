// Functions the client declared in `tools`: offered to the model without an implementation, so a
// call to one pauses the run (`finish_reason: "tool_calls"` and a checkpoint, see team.ts). The
// client runs it and sends the result as a `tool` message; the next request resumes the run.
import { randomUUID } from 'node:crypto';
import { jsonSchema, tool, type ToolSet } from 'ai';
import type { ClientTool, ToolChoice } from '../orchestrator/types.ts';
import { hasTool, newToolSet } from './tool-set.ts';

export function clientToolSet(tools: ClientTool[] | undefined, choice: ToolChoice | undefined): ToolSet {
  const set = newToolSet();
  if (!tools?.length || choice === 'none') return set;
  for (const t of tools) {
    set[t.name] = tool({
      description: t.description,
      inputSchema: jsonSchema(t.parameters as Parameters<typeof jsonSchema>[0]),
      ...(t.strict === undefined ? {} : { strict: t.strict }),
    });
  }
  return set;
}

/** The tool choice of the first step: the client may require a call (to one tool or any of its own). */
export function firstStepChoice(set: ToolSet, choice: ToolChoice | undefined) {
  const names = Object.keys(set);
  if (!names.length || choice === undefined || choice === 'auto' || choice === 'none') return undefined;
  if (choice === 'required') return { toolChoice: 'required' as const, activeTools: names };
  return { toolChoice: { type: 'tool' as const, toolName: choice.name }, activeTools: [choice.name] };
}

/** A turn's calls with at most one call to a client tool (the first), for `parallel_tool_calls: false`. */
export function oneClientCall<T extends { name: string }>(calls: T[], client: ToolSet): T[] {
  let seen = false;
  return calls.filter((c) => {
    if (!hasTool(client, c.name)) return true;
    if (seen) return false;
    seen = true;
    return true;
  });
}

/** An id for a call of a client tool: the client answers with it, and the answer finds the paused run. */
export const newToolCallId = (): string => `call_${randomUUID().replaceAll('-', '')}`;
