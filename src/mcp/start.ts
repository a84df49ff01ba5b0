// The agents' MCP servers from the settings: the file checked (its agents must exist), the servers
// connected. Shared by the server and `cortex-flow mcp list`.
import { ConfigError, effectiveEnv, type Config } from '../config.ts';
import { loadTeam } from '../agents/spec.ts';
import { loadMcpConfig } from './config.ts';
import type { McpLog } from './connection.ts';
import { McpManager } from './manager.ts';

/** `${VAR}` in the file is read where the settings are: the environment, then `.env`. */
export async function startMcp(
  config: Config,
  log: McpLog,
  env: NodeJS.ProcessEnv = effectiveEnv(),
): Promise<McpManager> {
  const servers = loadMcpConfig(config.mcpConfig!, env);
  const team = new Set(loadTeam(config).map((a) => a.name));
  for (const s of servers) {
    const unknown = s.agents.find((a) => !team.has(a));
    if (unknown) throw new ConfigError(`CORTEX_MCP_CONFIG: mcpServers.${s.name}.agents: no agent named '${unknown}'`);
  }
  return McpManager.start(
    servers,
    {
      callTimeoutMs: config.mcpTimeoutSeconds * 1000,
      maxResultChars: config.mcpMaxResultChars,
      connectTimeoutMs: 30_000,
      retryMinMs: 1_000,
      retryMaxMs: 60_000,
    },
    log,
  );
}
