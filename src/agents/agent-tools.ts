// The registry's tools as AI SDK tools for one agent of one run: each call and result is reported
// on the run's event stream, and a failing tool answers the model with its error instead of
// ending the run (the model can try something else).
import { tool, type ToolSet } from 'ai';
import type { ToolRegistry } from '../tools/types.ts';
import type { RunContext } from './run-context.ts';
import { internalName } from './tool-names.ts';
import { toolSchema } from './tool-schema.ts';
import { newToolSet } from './tool-set.ts';

export interface AgentToolOptions {
  /** Offer the tools under the reserved prefix: for an agent that also sees the client's tools. */
  namespaced?: boolean;
  /** The agent's own cancellation (its time limit), when narrower than the run's. */
  signal?: AbortSignal;
}

export function agentToolSet(
  names: string[],
  registry: ToolRegistry,
  run: RunContext,
  agent: string,
  options: AgentToolOptions = {},
): ToolSet {
  const signal = options.signal ?? run.signal;
  const set = newToolSet();
  // The agent's named tools, then those an MCP server offers it (namespaced: they cannot clash).
  const tools = [...names.map((name) => registry.get(name)), ...registry.extraFor(agent)];
  for (const t of tools) {
    if (!t) continue; // e.g. web_search when no search provider is configured
    const name = t.name;
    const mcp = t.mcp ? { mcp: t.mcp } : {};
    set[options.namespaced ? internalName(name) : name] = tool({
      description: t.description,
      inputSchema: toolSchema(t.inputSchema),
      execute: async (input: unknown, { toolCallId }: { toolCallId: string }) => {
        run.emit({ type: 'tool_call', agent, toolCallId, toolName: name, input, ...mcp });
        run.progress(agent, `${agent} → ${name} ${summarise(input)}`);
        const started = performance.now();
        const durationMs = () => Math.round(performance.now() - started);
        try {
          // Not waited for past the agent's signal: a tool that ignores it (a hung request without
          // a timeout, a library that takes no signal) would hold its agent, and the run, for good.
          const output = await untilAborted(t.execute(input, run.toolContext(signal)), signal);
          run.emit({
            type: 'tool_result',
            agent,
            toolCallId,
            toolName: name,
            output,
            isError: false,
            ...mcp,
            durationMs: durationMs(),
          });
          return output;
        } catch (err) {
          // The run stopped: its lifecycle closes the stored trace, this call with it, saying why.
          if (run.signal.aborted) throw err;
          // The agent stopped (its time limit) while the run goes on: the call still ends in the
          // trace, or the run's timeline would show the tool running for good.
          const stopped = signal.aborted;
          const error = stopped
            ? `The ${agent} was stopped by its time limit before the tool finished.`
            : ((err as Error).message ?? String(err));
          const result = { output: { error }, isError: true, ...mcp, durationMs: durationMs() };
          run.emit({ type: 'tool_result', agent, toolCallId, toolName: name, ...result });
          if (stopped) throw err;
          return { error };
        }
      },
    });
  }
  return set;
}

/** `work`'s outcome, or `signal`'s reason as soon as it aborts (the work itself goes on unheard). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

function summarise(input: unknown): string {
  const text = JSON.stringify(input) ?? '';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
