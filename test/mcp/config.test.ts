// CORTEX_MCP_CONFIG is checked at start-up: a bad file is one line naming the field, `${VAR}` is
// read from the environment, and a server is offered to the agents its entry names.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { loadMcpConfig } from '../../src/mcp/config.ts';
import { startMcp } from '../../src/mcp/start.ts';
import { mcpToolName } from '../../src/mcp/tool-names.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (json: unknown) => {
  const path = join(dir, `${Math.random()}.json`);
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
};
const problem = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('the mcp.json file', () => {
  it('reads stdio and HTTP servers, fills in ${VAR} from the environment, defaults the agents', () => {
    const servers = loadMcpConfig(
      file({
        mcpServers: {
          fs: { command: 'npx', args: ['-y', 'x'], env: { TOKEN: '${MY_TOKEN}' } },
          api: {
            url: 'https://example.com/mcp',
            headers: { authorization: 'Bearer ${MY_TOKEN}' },
            agents: ['supervisor'],
          },
        },
      }),
      { MY_TOKEN: 's3cret' },
    );
    expect(servers).toMatchObject([
      {
        name: 'fs',
        transport: { kind: 'stdio', command: 'npx', env: { TOKEN: 's3cret' } },
        agents: ['researcher', 'analyst'],
      },
      { name: 'api', transport: { kind: 'http', headers: { authorization: 'Bearer s3cret' } }, agents: ['supervisor'] },
    ]);
  });

  it('names the problem in one line', () => {
    expect(problem(() => loadMcpConfig(join(dir, 'missing.json')))).toMatch(/^CORTEX_MCP_CONFIG \(.*\): cannot read/);
    expect(problem(() => loadMcpConfig(file('{not json')))).toMatch(/cannot read/);
    expect(problem(() => loadMcpConfig(file({ mcpServers: { 'a b': { command: 'x' } } })))).toMatch(/server names/);
    expect(problem(() => loadMcpConfig(file({ mcpServers: { a: { args: [] } } })))).toMatch(/mcpServers\.a/);
    expect(problem(() => loadMcpConfig(file({ mcpServers: { a: { url: 'ftp://x' } } })))).toMatch(/mcpServers\.a/);
    expect(
      problem(() => loadMcpConfig(file({ mcpServers: { a: { command: 'x', env: { K: '${NOPE}' } } } }), {})),
    ).toContain('mcpServers.a.env.K: the environment variable NOPE is not set');
  });

  it('refuses agents the team does not have', async () => {
    const config = loadConfig({
      CORTEX_MCP_CONFIG: file({ mcpServers: { a: { command: 'x', agents: ['reseacher'] } } }),
    });
    await expect(startMcp(config, { info() {}, warn() {} })).rejects.toThrow(/no agent named 'reseacher'/);
  });
});

describe('tool names', () => {
  it('are namespaced by server and always valid tool names that leave room for the internal prefix', () => {
    expect(mcpToolName('files', 'read_text_file')).toBe('mcp__files__read_text_file');
    const long = mcpToolName('server', `a.${'x'.repeat(80)}`);
    expect(long).toMatch(/^[a-zA-Z0-9_-]{1,56}$/);
    expect(mcpToolName('server', `b.${'x'.repeat(80)}`)).not.toBe(long);
    expect(mcpToolName('s', 'get.thing')).not.toBe(mcpToolName('s', 'get_thing'));
  });
});
