// `cortex-flow mcp list` (the agents' MCP servers: state and tools) and `cortex-flow mcp serve`
// (the team as an MCP server over stdio, for desktop clients that start a command).
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, type Config } from '../config.ts';
import { createApp } from '../app.ts';
import { startMcp } from '../mcp/start.ts';
import { createTeamMcpServer } from '../mcp/team-server.ts';
import { handleShutdownSignals } from '../ops/shutdown-signals.ts';

export async function mcpCommand(
  config: Config,
  sub: string | undefined,
  print: (line: string) => void,
): Promise<void> {
  if (sub === 'list') return listServers(config, print);
  if (sub === 'serve') return serveStdio(config);
  throw new ConfigError(`mcp needs a subcommand: cortex-flow mcp list|serve`);
}

async function listServers(config: Config, print: (line: string) => void): Promise<void> {
  if (!config.mcpConfig) return print('No MCP servers configured: set CORTEX_MCP_CONFIG to an mcp.json file.');
  const quiet = { info() {}, warn() {} }; // the states are printed below, with the reasons
  const manager = await startMcp(config, quiet);
  try {
    for (const s of manager.status()) {
      print(`${s.name}  ${s.state}  ${s.transport}  agents: ${s.agents.join(', ')}`);
      if (s.error) print(`  error: ${s.error}`);
      for (const t of s.tools) print(`  ${t.offeredAs}  ${firstLine(t.description ?? '')}`);
    }
  } finally {
    await manager.close();
  }
}

/**
 * Speaks MCP on stdin/stdout until the client closes it. Stdout carries the protocol only: the
 * logs go to stderr. There is no API key on stdio: whoever starts the command is its user.
 */
async function serveStdio(config: Config): Promise<void> {
  const app = await createApp(config, { logStream: process.stderr });
  const server = createTeamMcpServer(app.deps, { log: app.server.log });
  const transport = new StdioServerTransport();
  let closing: Promise<void> | undefined;
  const stop = () => (closing ??= app.close().finally(() => process.exit(0)));
  transport.onclose = () => void stop();
  process.stdin.once('end', () => void stop());
  handleShutdownSignals({ stop, stopRunsNow: () => app.stopRunsNow() }, app.server.log);
  await server.connect(transport);
  app.server.log.info({ engine: app.deps.orchestrator.engine }, 'Cortex Flow serving MCP on stdio');
}

const firstLine = (text: string) => {
  const line = text.split('\n')[0];
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
};
