// The names under which an MCP server's tools are offered: `mcp__<server>__<tool>`, so two servers'
// `search` do not clash and no MCP tool can take an internal (`cortex__*`) or a client tool's name
// (client tools are offered beside internal ones only, and these then carry the internal prefix).
// Tool names are `[a-zA-Z0-9_-]{1,64}`; an agent that sees client tools gets the registry's names
// under `cortex__`, so a name here keeps to 56 characters.
import { createHash } from 'node:crypto';

export const MCP_PREFIX = 'mcp__';
const MAX_LENGTH = 56;

export function mcpToolName(server: string, tool: string): string {
  const name = `${MCP_PREFIX}${server}__${tool.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  if (name.length <= MAX_LENGTH && name === `${MCP_PREFIX}${server}__${tool}`) return name;
  // Shortened or rewritten: a hash of the real name keeps two such names apart.
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_LENGTH - 9)}_${hash}`;
}
