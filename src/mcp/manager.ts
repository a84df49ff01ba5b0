// The MCP servers of CORTEX_MCP_CONFIG, as a source of agent tools: each server's tools are offered
// to the agents its entry names, under namespaced names, for as long as the server is available.
import { jsonSchema } from 'ai';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentTool, ToolSource } from '../tools/types.ts';
import type { McpServerConfig } from './config.ts';
import { McpConnection, type McpLog, type McpServerState } from './connection.ts';
import { clip, MAX_MCP_TOOLS_PER_AGENT } from './tool-limits.ts';
import { McpToolError, toolOutput } from './tool-result.ts';
import { mcpToolName } from './tool-names.ts';

export interface McpLimits {
  /** Longest one tool call may take. */
  callTimeoutMs: number;
  /** Most characters of one result the model is shown. */
  maxResultChars: number;
  connectTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'streamable-http' | 'sse';
  state: McpServerState;
  error?: string;
  agents: string[];
  tools: { name: string; offeredAs: string; description?: string }[];
}

/** Tool descriptions longer than this are cut: they are read by every model turn of the agent. */
const MAX_DESCRIPTION = 1024;

export class McpManager implements ToolSource {
  private readonly connections: McpConnection[];
  private readonly limits: McpLimits;
  private readonly log: McpLog;
  private byAgent = new Map<string, AgentTool[]>();
  /** The last note on agents given fewer tools than their servers offer: logged when it changes. */
  private overLimit = '';

  private constructor(servers: McpServerConfig[], limits: McpLimits, log: McpLog) {
    this.limits = limits;
    this.log = log;
    this.connections = servers.map(
      (s) =>
        new McpConnection(s, {
          log,
          onToolsChanged: () => this.rebuild(),
          connectTimeoutMs: limits.connectTimeoutMs,
          retryMinMs: limits.retryMinMs,
          retryMaxMs: limits.retryMaxMs,
        }),
    );
  }

  /** Connects every server (in parallel); one that fails is retried in the background. */
  static async start(servers: McpServerConfig[], limits: McpLimits, log: McpLog): Promise<McpManager> {
    const manager = new McpManager(servers, limits, log);
    await Promise.all(manager.connections.map((c) => c.connect()));
    return manager;
  }

  toolsFor(agent: string): AgentTool[] {
    return this.byAgent.get(agent) ?? [];
  }

  status(): McpServerStatus[] {
    return this.connections.map((c) => ({
      name: c.name,
      transport: c.transportKind,
      state: c.state,
      ...(c.error ? { error: c.error } : {}),
      agents: c.config.agents,
      tools: c.tools.map((t) => ({ name: t.name, offeredAs: mcpToolName(c.name, t.name), description: t.description })),
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }

  /** Each agent's tools, servers in the file's order, up to the number a model's request takes. */
  private rebuild(): void {
    const byAgent = new Map<string, AgentTool[]>();
    const over = new Set<string>();
    for (const c of this.connections) {
      for (const t of c.tools) {
        const agentTool = this.agentTool(c, t);
        for (const agent of c.config.agents) {
          const tools = byAgent.get(agent) ?? [];
          if (tools.length < MAX_MCP_TOOLS_PER_AGENT) byAgent.set(agent, [...tools, agentTool]);
          else over.add(`${agent} (from '${c.name}' on)`);
        }
      }
    }
    this.byAgent = byAgent;
    const note = [...over].join(', ');
    if (note && note !== this.overLimit)
      this.log.warn(
        { agents: [...over] },
        `MCP tools beyond ${MAX_MCP_TOOLS_PER_AGENT} per agent are not offered: ${note}`,
      );
    this.overLimit = note;
  }

  private agentTool(c: McpConnection, t: Tool): AgentTool {
    const { callTimeoutMs, maxResultChars } = this.limits;
    const description = `${t.description ?? t.title ?? t.name}`.slice(0, MAX_DESCRIPTION);
    return {
      name: mcpToolName(c.name, t.name),
      description: `${description} (tool '${t.name}' of the MCP server '${c.name}')`,
      inputSchema: jsonSchema(t.inputSchema as Parameters<typeof jsonSchema>[0]),
      mcp: { server: c.name, tool: t.name },
      execute: async (input, ctx) => {
        const result = await c.callTool(t.name, input, ctx.signal, callTimeoutMs).catch((err: unknown) => {
          // A protocol error's message is the server's too: held to the same limit as its results.
          throw new McpToolError(clip((err as Error)?.message ?? String(err), maxResultChars), { cause: err });
        });
        return toolOutput(result, maxResultChars);
      },
    };
  }
}
