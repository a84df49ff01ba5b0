// One configured MCP server, kept connected: started (stdio) or reached (Streamable HTTP, SSE for
// old servers) with the SDK's client, its tools listed and refreshed on `tools/list_changed`. When
// it cannot start or goes away, its tools are withdrawn, the failure is logged once per outage,
// and it is tried again with exponential backoff; the team goes on without it meanwhile. One attempt
// (start, initialize, list) has one deadline, whatever the server does or does not say.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { VERSION } from '../version.ts';
import type { McpServerConfig } from './config.ts';
import { clip, MAX_LIST_PAGES, MAX_LISTED_TOOLS, MAX_REASON_CHARS, offerable } from './tool-limits.ts';

export type McpServerState = 'connecting' | 'ready' | 'failed' | 'closed';

export interface McpLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface McpConnectionOptions {
  log: McpLog;
  /** Called whenever the server's tools change (listed, refreshed, withdrawn). */
  onToolsChanged: () => void;
  /** Longest start-up (connect and list the tools) may take. */
  connectTimeoutMs: number;
  /** First and longest wait between two attempts to reconnect. */
  retryMinMs: number;
  retryMaxMs: number;
}

// Structured content is shown to the model, never relied on by code, so it is not checked against
// the tool's output schema. The SDK's default (Ajv) compiles and runs a server's schema on the one
// thread every request shares: 20,000 patterns take seconds to compile at each listing, and a
// backtracking pattern took 10 s to check one result, while nothing else was answered.
const unchecked: jsonSchemaValidator = {
  getValidator: () => (input) => ({ valid: true, data: input as never, errorMessage: undefined }),
};

export class McpConnection {
  readonly config: McpServerConfig;
  state: McpServerState = 'connecting';
  /** Why the server is not available, while it is not. */
  error: string | undefined;
  tools: Tool[] = [];
  /** `streamable-http` or `sse` once an HTTP server answered; `stdio` for a command. */
  transportKind: 'stdio' | 'streamable-http' | 'sse';

  private readonly options: McpConnectionOptions;
  private client: Client | undefined;
  /** The client of the attempt in flight, closed by close() too (it may hold a started process). */
  private pending: Client | undefined;
  /** A list_changed refresh is running, and another was asked for meanwhile. */
  private refreshing = false;
  private refreshAgain = false;
  /** The last note on tools left out, so that it is logged when it changes only. */
  private leftOut: string | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stderrTail = '';

  constructor(config: McpServerConfig, options: McpConnectionOptions) {
    this.config = config;
    this.options = options;
    this.transportKind = config.transport.kind === 'stdio' ? 'stdio' : 'streamable-http';
  }

  get name(): string {
    return this.config.name;
  }

  /** Closed by close(): asked as a method, since it may change while a connect() awaits. */
  private get closed(): boolean {
    return this.state === 'closed';
  }

  /** One attempt; a failure is recorded (and retried later), never thrown. */
  async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client(
      { name: 'cortex-flow', version: VERSION },
      {
        jsonSchemaValidator: unchecked,
        listChanged: {
          // Only told, not refreshed by the SDK: its refresh reads the first page alone.
          tools: { debounceMs: 50, autoRefresh: false, onChanged: () => void this.refresh(client) },
        },
      },
    );
    this.pending = client;
    try {
      const tools = await this.withinDeadline(client);
      if (this.closed) return void (await client.close());
      client.onclose = () => this.lost(client, new Error('the connection closed'));
      this.client = client;
      const wasFailed = this.state === 'failed';
      this.state = 'ready';
      this.error = undefined;
      this.attempt = 0;
      this.setTools(tools);
      this.options.log.info(
        { mcpServer: this.name, tools: tools.length },
        `MCP server '${this.name}' ${wasFailed ? 'is back' : 'connected'} (${tools.length} tools)`,
      );
    } catch (err) {
      await client.close().catch(() => {});
      this.failed(err);
    } finally {
      if (this.pending === client) this.pending = undefined;
    }
  }

  /** Calls one tool with the run's cancellation and a time limit. */
  async callTool(tool: string, args: unknown, signal: AbortSignal, timeoutMs: number): Promise<CallToolResult> {
    const client = this.client;
    if (this.state !== 'ready' || !client) throw new Error(`the MCP server '${this.name}' is not available now`);
    const result = await client.callTool(
      { name: tool, arguments: (args ?? {}) as Record<string, unknown> },
      undefined,
      {
        signal,
        timeout: timeoutMs,
        maxTotalTimeout: timeoutMs,
      },
    );
    return result as CallToolResult;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const clients = [this.client, this.pending];
    this.client = this.pending = undefined;
    await Promise.all(clients.map((c) => c?.close().catch(() => {})));
  }

  /**
   * Opens and lists under one deadline. The SDK's timeouts cover requests only: the SSE transport
   * waits for its `endpoint` event without one, so a server that opens the stream and says nothing
   * held start-up for good (and Streamable HTTP then SSE took the limit twice).
   */
  private async withinDeadline(client: Client): Promise<Tool[]> {
    const ms = this.options.connectTimeoutMs;
    const attempt = { over: false };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        attempt.over = true;
        reject(new Error(`timed out: no ready server within ${ms / 1000} s`));
      }, ms);
    });
    try {
      return await Promise.race([this.open(client, attempt).then(() => this.listTools(client)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(client: Client, attempt: { over: boolean }): Promise<void> {
    const t = this.config.transport;
    const timeout = this.options.connectTimeoutMs;
    if (t.kind === 'stdio') {
      this.stderrTail = '';
      const transport = new StdioClientTransport({
        command: t.command,
        args: t.args,
        env: { ...getDefaultEnvironment(), ...t.env },
        cwd: t.cwd,
        stderr: 'pipe',
      });
      // Read (so the child never blocks on a full pipe) and keep the end for the error message.
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString()).slice(-500);
      });
      return client.connect(transport, { timeout });
    }
    const init = { requestInit: { headers: t.headers } };
    try {
      await client.connect(new StreamableHTTPClientTransport(t.url, init) as Transport, { timeout });
      this.transportKind = 'streamable-http';
    } catch (err) {
      // Servers of the 2024-11-05 protocol speak only SSE: the SDK's documented fallback.
      if (this.state === 'closed' || attempt.over) throw err;
      await client.connect(new SSEClientTransport(t.url, init), { timeout });
      this.transportKind = 'sse';
    }
  }

  /** Every page, up to the limits of tool-limits.ts; the tools left out are logged. */
  private async listTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.options.connectTimeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && ++pages < MAX_LIST_PAGES && tools.length <= MAX_LISTED_TOOLS);
    const usable = offerable(tools, cursor !== undefined);
    if (usable.leftOut && usable.leftOut !== this.leftOut)
      this.options.log.warn(
        { mcpServer: this.name, leftOut: usable.leftOut },
        `MCP server '${this.name}': some tools are not offered (${usable.leftOut})`,
      );
    this.leftOut = usable.leftOut;
    return usable.tools;
  }

  /** On list_changed (debounced by the SDK): one listing at a time, and one more if asked meanwhile. */
  private async refresh(client: Client): Promise<void> {
    if (this.refreshing) return void (this.refreshAgain = true);
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        const tools = await this.listTools(client).catch(() => undefined); // the old list stays
        if (tools && this.client === client) this.setTools(tools);
      } while (this.refreshAgain && this.client === client);
    } finally {
      this.refreshing = false;
    }
  }

  private setTools(tools: Tool[]): void {
    this.tools = tools;
    this.options.onToolsChanged();
  }

  private lost(client: Client, err: Error): void {
    if (this.client !== client || this.state === 'closed') return;
    this.client = undefined;
    this.failed(err);
  }

  private failed(err: unknown): void {
    if (this.state === 'closed') return;
    const stderr = this.stderrTail.trim().split('\n').pop();
    // What the server said is cut: it is logged and shown on the public /ready.
    const message = clip((err as Error)?.message ?? String(err), MAX_REASON_CHARS);
    const reason = `${message}${stderr ? ` (stderr: ${stderr})` : ''}`;
    // Reported once per outage: the retries that fail again are not news.
    if (this.state !== 'failed')
      this.options.log.warn(
        { mcpServer: this.name, err: reason },
        `MCP server '${this.name}' is unavailable, its tools are withdrawn: ${reason}`,
      );
    this.state = 'failed';
    this.error = reason;
    if (this.tools.length) this.setTools([]);
    const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => void this.connect(), delay).unref();
  }
}
