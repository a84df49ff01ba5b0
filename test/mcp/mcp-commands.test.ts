// `cortex-flow mcp serve` (the team over stdio, driven by the SDK's StdioClientTransport, as a
// desktop client would) and `cortex-flow mcp list` (the configured servers, their state and tools).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ScriptBook, teamScript, until } from '../support/team-script.ts';

const cli = resolve('src/cli.ts');
let upstream: MockUpstream;
let book: ScriptBook;
let dir: string;
let client: Client;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-cli-'));
  client = new Client({ name: 'desktop', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'mcp', 'serve'],
      cwd: dir, // no .env of the repository is read
      env: {
        PATH: process.env.PATH ?? '',
        CORTEX_MODEL: 'openai:mock-model',
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: upstream.baseUrl,
        CORTEX_DATA_DIR: dir,
        CORTEX_LOG_LEVEL: 'warn',
        CORTEX_SAMPLE_CORPUS: 'false',
      },
      stderr: 'ignore',
    }),
  );
}, 30_000);

afterAll(async () => {
  await client?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cortex-flow mcp serve', () => {
  it('lists the served models as tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['cortex-flow', 'cortex-flow-researcher']));
  });

  it('answers with progress, stores the turn and continues the conversation by its id', async () => {
    book.add('stdio', teamScript('stdio', { writer: { text: 'Over stdio. [[stdio]]' } }));
    const progress: Progress[] = [];
    const first = (await client.callTool(
      { name: 'cortex-flow', arguments: { message: 'Hello [[stdio]]' } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    const out = first.structuredContent as any;
    expect(out).toMatchObject({ answer: 'Over stdio. [[stdio]]', run_id: expect.any(String) });
    expect(progress.length).toBeGreaterThan(1);
    const second = (await client.callTool({
      name: 'cortex-flow',
      arguments: { message: 'More [[stdio]]', conversation_id: out.conversation_id },
    })) as CallToolResult;
    expect((second.structuredContent as any).conversation_id).toBe(out.conversation_id);
    expect(JSON.stringify(book.requests('stdio', 'supervisor').at(-1)!.body.messages)).toContain(
      'Over stdio. [[stdio]]',
    );
  });

  it('a cancelled call stops the run (its upstream calls end)', async () => {
    book.add('stdio-cancel', teamScript('stdio-cancel', { specialist: () => ({ fault: 'hang' }) }));
    const abort = new AbortController();
    const call = client
      .callTool({ name: 'cortex-flow', arguments: { message: 'Wait [[stdio-cancel]]' } }, undefined, {
        signal: abort.signal,
      })
      .catch((err: Error) => err);
    await until(() => book.requests('stdio-cancel', 'researcher').length > 0, 'the researcher to start');
    abort.abort();
    expect(await call).toBeInstanceOf(Error);
    await until(
      () => book.requests('stdio-cancel', 'researcher').every((r) => r.abortedByClient),
      'the hanging upstream calls to be dropped',
    );
    // The server still answers afterwards.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });
});

describe('cortex-flow mcp list', () => {
  it('shows each configured server, its state and its tools, and why one failed', async () => {
    const config = join(dir, 'mcp.json');
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          everything: {
            command: process.execPath,
            args: [resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
          },
          broken: { command: join(dir, 'no-such-server') },
        },
      }),
    );
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'mcp', 'list'], {
      cwd: dir,
      env: { PATH: process.env.PATH, CORTEX_MCP_CONFIG: config, CORTEX_DATA_DIR: dir },
      timeout: 60_000,
    });
    const lines = stdout.split('\n');
    expect(lines).toContain('everything  ready  stdio  agents: researcher, analyst');
    expect(lines.some((l) => /^ {2}mcp__everything__echo {2}\S/.test(l))).toBe(true);
    expect(lines).toContain('broken  failed  stdio  agents: researcher, analyst');
    expect(stdout).toMatch(/error: .*ENOENT/);
  });
});
