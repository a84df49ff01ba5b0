// The MCP servers the agents may use, read from the `mcp.json` that other MCP clients already use:
// `{"mcpServers": {"NAME": {"command", "args", "env"}}}` (stdio) or `{"url", "headers"}` (Streamable
// HTTP, SSE as fallback). `${VAR}` in `env` and `headers` is read from the environment, so the file
// holds no secret. Checked once at start-up; a problem is one line naming the file and the field.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.ts';

/** The agents that get a server's tools when its entry names none. */
export const DEFAULT_MCP_AGENTS = ['researcher', 'analyst'];

export type McpTransportConfig =
  | { kind: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string }
  | { kind: 'http'; url: URL; headers: Record<string, string> };

export interface McpServerConfig {
  /** The key in `mcpServers`; part of the tool names the agents see. */
  name: string;
  transport: McpTransportConfig;
  agents: string[];
}

const agentName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'agent names are lower-case letters, digits, - and _');
const stringMap = z.record(z.string(), z.string());
const stdioEntry = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: stringMap.default({}),
  cwd: z.string().min(1).optional(),
  agents: z.array(agentName).min(1).optional(),
  // Keys other clients write that mean nothing here.
  type: z.literal('stdio').optional(),
  disabled: z.boolean().optional(),
});
const httpEntry = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  headers: stringMap.default({}),
  agents: z.array(agentName).min(1).optional(),
  type: z.enum(['http', 'streamable-http', 'streamableHttp', 'sse']).optional(),
  disabled: z.boolean().optional(),
});
// A server's name becomes part of tool names (`[a-zA-Z0-9_-]`), so it is held to that alphabet.
const SERVER_NAME = /^[a-zA-Z0-9-]{1,32}$/;
const mcpFile = z.strictObject({
  mcpServers: z.record(
    z.string(),
    z.union([stdioEntry, httpEntry], { error: 'expected {command, args, env} or {url, headers}' }),
  ),
});

/** Reads and checks the file; throws ConfigError with one line naming the problem. */
export function loadMcpConfig(path: string, env: NodeJS.ProcessEnv = process.env): McpServerConfig[] {
  const where = `CORTEX_MCP_CONFIG (${path})`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${where}: cannot read: ${(err as Error).message}`);
  }
  const parsed = mcpFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${where}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  const servers: McpServerConfig[] = [];
  for (const [name, entry] of Object.entries(parsed.data.mcpServers)) {
    if (!SERVER_NAME.test(name))
      throw new ConfigError(`${where}: mcpServers: '${name}': server names are 1-32 letters, digits and -`);
    if (entry.disabled) continue;
    const expand = (field: string, values: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, expandVars(v, env, `${where}: mcpServers.${name}.${field}.${k}`)]),
      );
    const transport: McpTransportConfig =
      'command' in entry
        ? { kind: 'stdio', command: entry.command, args: entry.args, env: expand('env', entry.env), cwd: entry.cwd }
        : { kind: 'http', url: new URL(entry.url), headers: expand('headers', entry.headers) };
    servers.push({ name, transport, agents: entry.agents ?? DEFAULT_MCP_AGENTS });
  }
  return servers;
}

/** `${VAR}` replaced by the environment's value; a variable that is not set is a configuration error. */
function expandVars(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ConfigError(`${where}: the environment variable ${name} is not set`);
    return v;
  });
}
