// Tools the server implements (delegation to an agent, the registry's tools) and tools the client
// declares share one namespace in a model's request. So that no client tool can shadow an internal
// one, and no internal call is ever mistaken for the client's, internal tools are offered under a
// reserved prefix, and a client tool whose name starts with it is refused with a 400.
import type { ClientTool, RunRefusal } from '../orchestrator/types.ts';

/** OpenAI tool names are `[a-zA-Z0-9_-]{1,64}`: a double underscore is the least likely prefix to clash. */
export const INTERNAL_PREFIX = 'cortex__';

export const internalName = (name: string): string => `${INTERNAL_PREFIX}${name}`;
export const delegationName = (agent: string): string => internalName(`ask_${agent}`);
export const isInternalName = (name: string): boolean => name.startsWith(INTERNAL_PREFIX);
/** The registry name of an internal tool name, as traces report it. */
export const plainName = (name: string): string => (isInternalName(name) ? name.slice(INTERNAL_PREFIX.length) : name);

export function refuseReservedNames(tools: ClientTool[] | undefined): RunRefusal | undefined {
  const i = tools?.findIndex((t) => isInternalName(t.name)) ?? -1;
  if (i < 0) return undefined;
  return {
    message: `Invalid tools[${i}].function.name '${tools![i].name}': names starting with '${INTERNAL_PREFIX}' are reserved for the server's own tools.`,
    param: `tools[${i}].function.name`,
    code: 'reserved_tool_name',
  };
}
