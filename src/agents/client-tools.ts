// Functions the client declared in `tools`: offered to the model without an implementation, so a
// call to one pauses the run (`finish_reason: "tool_calls"` and a checkpoint, see team.ts). The
// client runs it and sends the result as a `tool` message; the next request resumes the run.
import { randomUUID } from 'node:crypto';
import { jsonSchema, tool, type ToolSet } from 'ai';
import type { ClientTool, ToolChoice } from '../orchestrator/types.ts';
import type { ValidateFunction } from 'ajv';
import { compileAnswerSchema, schemaMismatch } from './answer-schema.ts';
import { hasTool, newToolSet } from './tool-set.ts';

export function clientToolSet(tools: ClientTool[] | undefined, choice: ToolChoice | undefined): ToolSet {
  const set = newToolSet();
  if (!tools?.length || choice === 'none') return set;
  for (const t of tools) {
    const parameters = t.parameters as Parameters<typeof jsonSchema>[0];
    set[t.name] = tool({
      description: t.description,
      inputSchema: t.strict ? strictSchema(parameters) : jsonSchema(parameters),
      ...(t.strict === undefined ? {} : { strict: t.strict }),
    });
  }
  return set;
}

/**
 * A `strict: true` function's parameters, with a validator: OpenAI guarantees that a strict
 * function's arguments fit its schema, and clients rely on it (they parse them with the schema), but
 * an upstream that ignores `strict` (another provider, a local model) may write anything. A call
 * that does not fit is then a bad tool call (asked for once more, else `upstream_bad_tool_call`,
 * model-step.ts), never handed to the client. The schema is compiled when a call to the function
 * arrives, not with the request: ajv generates code per schema (about a millisecond each), and a
 * client sends all its tools with every request but calls few. A schema the validator cannot compile
 * (a pattern RE2 cannot run) is passed on unchecked, as before.
 */
function strictSchema(parameters: Parameters<typeof jsonSchema>[0]) {
  /** Compiled on first use; null when it cannot be. */
  let validate: ValidateFunction | null | undefined;
  return jsonSchema(parameters, {
    validate: (value) => {
      if (validate === undefined)
        validate = compileAnswerSchema(parameters as Record<string, unknown>).validate ?? null;
      const mismatch = validate ? schemaMismatch(validate, value) : undefined;
      return mismatch ? { success: false, error: new Error(mismatch) } : { success: true, value };
    },
  });
}

/**
 * The tool choice of a request's first model turn (a fresh run's or a resumed one's): the client may
 * require a call (to one tool or any of its own). Later turns of the request are the team's own.
 */
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
