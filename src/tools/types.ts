// A tool an agent can use, in a shape both engines share: the LLM team wraps it as an AI SDK tool,
// the offline engine calls `execute` directly. Sources found by tools are numbered once per run so
// that answers can cite them as [1], [2], ...
import type { FlexibleSchema } from 'ai';
import type { McpToolRef, Source } from '../orchestrator/events.ts';
import type { ChatMessage } from '../orchestrator/types.ts';

export interface ToolContext {
  signal: AbortSignal;
  conversationId: string;
  /** The conversation context of the run (a tool may search it). */
  messages: ChatMessage[];
  owner?: string;
  sources: SourceCollector;
}

export interface AgentTool<I = any, O = unknown> {
  name: string;
  description: string;
  /** A zod schema, or a JSON schema (`jsonSchema()`) for tools described by others (MCP servers). */
  inputSchema: FlexibleSchema<I>;
  /** Set for a tool of an MCP server: its real name there, for the trace. */
  mcp?: McpToolRef;
  execute(input: I, ctx: ToolContext): Promise<O>;
}

/** Tools that come and go while the server runs (an MCP server's), offered per agent. */
export interface ToolSource {
  toolsFor(agent: string): AgentTool[];
}

/** Numbers the sources of one run; the same URL is cited with the same number. */
export class SourceCollector {
  private readonly byUrl = new Map<string, Source>();

  add(source: Omit<Source, 'index'>): number {
    const known = this.byUrl.get(source.url);
    if (known) return known.index;
    const index = this.byUrl.size + 1;
    this.byUrl.set(source.url, { ...source, index });
    return index;
  }

  list(): Source[] {
    return [...this.byUrl.values()];
  }

  /** The sources an answer actually cites as [n]. */
  citedIn(text: string): Source[] {
    if (!this.byUrl.size) return []; // nothing to cite: a long answer is not scanned for [n]
    const cited = new Set([...text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
    return this.list().filter((s) => cited.has(s.index));
  }
}

export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();
  private readonly sources: ToolSource[] = [];

  register(tool: AgentTool): this {
    this.tools.set(tool.name, tool);
    return this;
  }

  get(name: string): AgentTool | undefined {
    return this.tools.get(name);
  }

  list(): AgentTool[] {
    return [...this.tools.values()];
  }

  /** Adds tools an agent gets besides the ones its spec names (asked at each of its turns). */
  attach(source: ToolSource): this {
    this.sources.push(source);
    return this;
  }

  /** The tools of the attached sources for one agent, as they are now. */
  extraFor(agent: string): AgentTool[] {
    return this.sources.flatMap((s) => s.toolsFor(agent));
  }
}
