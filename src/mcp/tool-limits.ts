// How much of what an MCP server says is taken: its tools are read into every request the agents
// make, and its messages end up in logs, /ready and the trace, so a server that lists without end,
// offers thousands of tools or writes a megabyte of error cannot flood any of them.

/** Upstream APIs take a bounded number of tools per request (OpenAI: 128), the agent's own included. */
export const MAX_MCP_TOOLS_PER_AGENT = 100;
/** Listing stops at this many tools or pages: a server that pages without end is not read for good. */
export const MAX_LISTED_TOOLS = MAX_MCP_TOOLS_PER_AGENT;
export const MAX_LIST_PAGES = 20;
/** A tool whose input schema is longer than this would fill the model's context on every turn. */
export const MAX_SCHEMA_CHARS = 20_000;
/** A server's message where it is logged or shown (`/ready`). */
export const MAX_REASON_CHARS = 500;

export interface ListedTool {
  name: string;
  inputSchema: unknown;
}

/** The tools that can be offered, and a sentence on those left out (or undefined). */
export function offerable<T extends ListedTool>(tools: T[], more: boolean): { tools: T[]; leftOut?: string } {
  const seen = new Set<string>();
  const kept: T[] = [];
  const huge: string[] = [];
  for (const t of tools) {
    if (seen.has(t.name)) continue; // a name listed twice is one tool
    seen.add(t.name);
    if ((JSON.stringify(t.inputSchema) ?? '').length > MAX_SCHEMA_CHARS) huge.push(t.name);
    else kept.push(t);
  }
  const reasons = [
    ...(huge.length ? [`input schema over ${MAX_SCHEMA_CHARS} characters: ${clip(huge.join(', '), 200)}`] : []),
    ...(kept.length > MAX_LISTED_TOOLS || more
      ? [`more than ${MAX_LISTED_TOOLS} tools or ${MAX_LIST_PAGES} pages`]
      : []),
  ];
  return { tools: kept.slice(0, MAX_LISTED_TOOLS), ...(reasons.length ? { leftOut: reasons.join('; ') } : {}) };
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}
