// Agents using MCP servers, end to end: Cortex Flow starts real servers from an mcp.json (the
// registry's filesystem and everything servers over stdio, a Streamable HTTP server made here with
// the SDK, a stdio server that dies mid-call), and a scripted upstream makes the agents call them.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import {
  startMockUpstream,
  type MockUpstream,
  type ToolCallReply,
  type UpstreamRequest,
} from '../support/mock-openai-upstream.ts';
import { ask, ScriptBook, teamScript, until } from '../support/team-script.ts';
import { startHttpMcpServer, type TestMcpHttpServer } from './fixtures/http-mcp-server.ts';
import { startSseMcpServer } from './fixtures/sse-mcp-server.ts';

const pkg = (name: string) => resolve('node_modules/@modelcontextprotocol', name, 'dist/index.js');
const fixture = (name: string) => resolve('test/mcp/fixtures', name);

let upstream: MockUpstream;
let book: ScriptBook;
let http: TestMcpHttpServer;
let sse: Awaited<ReturnType<typeof startSseMcpServer>>;
let dir: string;
let app: App;
let baseUrl: string;
const secret = `SECRET-${randomUUID()}`;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  http = await startHttpMcpServer();
  sse = await startSseMcpServer();
  dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-'));
  const files = join(dir, 'files');
  mkdirSync(files);
  writeFileSync(join(files, 'notes.txt'), `The launch code is ${secret}.\n`);
  writeFileSync(
    join(dir, 'mcp.json'),
    JSON.stringify({
      mcpServers: {
        files: { command: process.execPath, args: [pkg('server-filesystem'), files] },
        everything: { command: process.execPath, args: [pkg('server-everything'), 'stdio'], agents: ['analyst'] },
        web: { url: http.url, headers: { authorization: 'Bearer ${TEST_MCP_TOKEN}' } },
        flaky: { command: process.execPath, args: [fixture('crashing-server.ts')], agents: ['researcher'] },
        old: { url: sse.url, agents: ['supervisor'] },
      },
    }),
  );
  process.env.TEST_MCP_TOKEN = 'token-from-the-environment';
  app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_DATA_DIR: dir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SSE_KEEPALIVE_SECONDS: '0',
      CORTEX_LLM_TIMEOUT_SECONDS: '5',
      CORTEX_AGENT_TIMEOUT_SECONDS: '20',
      CORTEX_MCP_CONFIG: join(dir, 'mcp.json'),
      CORTEX_MCP_TIMEOUT_SECONDS: '2',
    }),
  );
  baseUrl = await app.server.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await http?.close();
  await sse?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.TEST_MCP_TOKEN;
});

const toolMessages = (req: UpstreamRequest) => req.body.messages.filter((m: any) => m.role === 'tool');
const offered = (req: UpstreamRequest): string[] => (req.body.tools ?? []).map((t: any) => t.function.name);

/** The supervisor sends `agent` a task; the agent makes `call`, then reports the tool's answer. */
function oneCall(tag: string, agent: string, call: ToolCallReply) {
  const base = teamScript(tag, {
    plan: { toolCalls: [ask(agent, `Use your tool [[${tag}]]`)] },
    specialist: (_agent, req) => {
      const results = toolMessages(req);
      if (!results.length) return { toolCalls: [call] };
      return { text: `The tool said: ${results.at(-1).content} [[${tag}]]` };
    },
  });
  // The writer repeats what it was given, so the final answer shows what reached the team.
  book.add(tag, (req) =>
    req.agent === 'writer' ? { text: `Answer: ${JSON.stringify(req.body.messages)}` } : base(req),
  );
}

async function chat(tag: string, signal?: AbortSignal) {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: `Go [[${tag}]]` }] }),
    signal,
  });
  return { status: res.status, body: (await res.json()) as any, runId: res.headers.get('x-cortex-run-id')! };
}

const trace = async (runId: string) =>
  ((await (await fetch(`${baseUrl}/v1/runs/${runId}`)).json()) as any).events as any[];

describe('agents use the tools of MCP servers', () => {
  it('offers each server its own namespaced tools, to the agents its entry names', async () => {
    const status = app.deps.mcp!.status();
    expect(status.map((s) => [s.name, s.state])).toEqual([
      ['files', 'ready'],
      ['everything', 'ready'],
      ['web', 'ready'],
      ['flaky', 'ready'],
      ['old', 'ready'],
    ]);
    expect(status.find((s) => s.name === 'old')!.transport).toBe('sse'); // the fallback for old servers
    oneCall('names', 'researcher', { name: 'mcp__web__search', arguments: { query: 'x' } });
    expect((await chat('names')).status).toBe(200);
    const researcher = offered(book.requests('names', 'researcher')[0]);
    expect(researcher).toEqual(
      expect.arrayContaining(['mcp__files__read_text_file', 'mcp__web__search', 'mcp__flaky__crash']),
    );
    expect(researcher).toContain('search_knowledge_base');
    expect(researcher.some((n) => n.startsWith('mcp__everything__'))).toBe(false); // analyst only
    // The supervisor gets only the server that names it, under the internal prefix (it also sees client tools).
    const supervisor = offered(book.requests('names', 'supervisor')[0]);
    expect(supervisor.filter((n) => n.includes('mcp__'))).toEqual(['cortex__mcp__old__shout']);
  });

  it("an MCP tool never shadows a client's tool of the same name", async () => {
    const tag = 'shadow';
    const base = teamScript(tag, {
      plan: { toolCalls: [{ name: 'cortex__mcp__old__shout', arguments: { text: 'quiet' } }] },
      next: () => ({ text: `Done. [[${tag}]]` }),
    });
    book.add(tag, base);
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        messages: [{ role: 'user', content: `Go [[${tag}]]` }],
        tools: [{ type: 'function', function: { name: 'mcp__old__shout', parameters: { type: 'object' } } }],
      }),
    });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    // The server's tool ran inside (over the SSE transport); the client was not asked to run its own.
    expect(body.choices[0].finish_reason).toBe('stop');
    const [first, second] = book.requests(tag, 'supervisor');
    expect(offered(first)).toEqual(expect.arrayContaining(['mcp__old__shout', 'cortex__mcp__old__shout']));
    expect(toolMessages(second)[0].content).toContain('QUIET');
  });

  it('the researcher reads a file through server-filesystem and its content reaches the answer', async () => {
    const path = join(dir, 'files', 'notes.txt');
    oneCall('fs', 'researcher', { name: 'mcp__files__read_text_file', arguments: { path } });
    const res = await chat('fs');
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toContain(secret);
    const events = await trace(res.runId);
    const call = events.find((e) => e.type === 'tool_call' && e.mcp);
    const result = events.find((e) => e.type === 'tool_result' && e.mcp);
    expect(call).toMatchObject({
      agent: 'researcher',
      toolName: 'mcp__files__read_text_file',
      mcp: { server: 'files', tool: 'read_text_file' },
      input: { path },
    });
    expect(result).toMatchObject({ isError: false, mcp: { server: 'files', tool: 'read_text_file' } });
    expect(result.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(result.output)).toContain(secret);
  });

  it('structured and resource results of server-everything reach the analyst', async () => {
    oneCall('struct', 'analyst', {
      name: 'mcp__everything__get-structured-content',
      arguments: { location: 'Chicago' },
    });
    const res = await chat('struct');
    expect(res.status).toBe(200);
    const report = toolMessages(book.requests('struct', 'analyst').at(-1)!)[0].content;
    expect(report).toContain('temperature');
    expect(report).toContain('structured');

    oneCall('resource', 'analyst', { name: 'mcp__everything__get-resource-reference', arguments: { resourceId: 2 } });
    expect((await chat('resource')).status).toBe(200);
    const resource = toolMessages(book.requests('resource', 'analyst').at(-1)!)[0].content;
    expect(resource).toMatch(/\[resource [^\]]*2/);
  });

  it('calls a Streamable HTTP server with the headers of the file, variables filled in', async () => {
    oneCall('http', 'researcher', { name: 'mcp__web__search', arguments: { query: 'llamas' } });
    const res = await chat('http');
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toContain('hit for llamas');
    expect(http.authorizations).toContain('Bearer token-from-the-environment');
  });

  it('a server that dies mid-call: the run completes, the call is reported failed, the server comes back', async () => {
    oneCall('crash', 'researcher', { name: 'mcp__flaky__crash', arguments: { why: 'test' } });
    const res = await chat('crash');
    expect(res.status).toBe(200);
    const result = (await trace(res.runId)).find((e) => e.type === 'tool_result' && e.mcp);
    expect(result).toMatchObject({ isError: true, mcp: { server: 'flaky', tool: 'crash' } });
    expect(result.output.error).toMatch(/closed/i);
    // The researcher was told its call failed, and reported on.
    expect(toolMessages(book.requests('crash', 'researcher').at(-1)!)[0].content).toMatch(/error/);
    // Retried with backoff: the server is started again and its tools come back.
    await until(() => app.deps.mcp!.status().find((s) => s.name === 'flaky')!.state === 'ready', 'a restart', 15_000);
    const ready = (await (await fetch(`${baseUrl}/ready`)).json()) as any;
    expect(ready.mcp_servers.find((s: any) => s.name === 'flaky')).toMatchObject({ state: 'ready', tools: 2 });
  });

  it('an error result is a failed tool call the agent sees, not a failed run', async () => {
    oneCall('denied', 'researcher', { name: 'mcp__files__read_text_file', arguments: { path: join(dir, 'mcp.json') } });
    const res = await chat('denied');
    expect(res.status).toBe(200);
    const result = (await trace(res.runId)).find((e) => e.type === 'tool_result' && e.mcp);
    expect(result).toMatchObject({ isError: true, mcp: { server: 'files', tool: 'read_text_file' } });
    expect(result.output.error).toMatch(/denied|outside/i);
    expect(toolMessages(book.requests('denied', 'researcher').at(-1)!)[0].content).toMatch(/denied|outside/i);
  });

  it('a call that outlasts CORTEX_MCP_TIMEOUT_SECONDS fails, and the server is told to stop', async () => {
    const cancelled = http.slowCancelled;
    oneCall('timeout', 'researcher', { name: 'mcp__web__slow', arguments: {} });
    const res = await chat('timeout');
    expect(res.status).toBe(200);
    const result = (await trace(res.runId)).find((e) => e.type === 'tool_result' && e.mcp);
    expect(result).toMatchObject({ isError: true, mcp: { server: 'web', tool: 'slow' } });
    expect(result.output.error).toMatch(/timed out/i);
    expect(result.durationMs).toBeGreaterThanOrEqual(2000);
    await until(() => http.slowCancelled > cancelled, 'the cancellation to reach the server');
  });

  it('a tools/list_changed notification refreshes the tools offered', async () => {
    oneCall('grow', 'researcher', { name: 'mcp__flaky__grow', arguments: {} });
    expect((await chat('grow')).status).toBe(200);
    await until(
      () =>
        app.deps
          .mcp!.status()
          .find((s) => s.name === 'flaky')!
          .tools.some((t) => t.name === 'extra'),
      'the new tool',
    );
    oneCall('grown', 'researcher', { name: 'mcp__flaky__extra', arguments: {} });
    expect((await chat('grown')).status).toBe(200);
    expect(offered(book.requests('grown', 'researcher')[0])).toContain('mcp__flaky__extra');
  });

  it('a client that disconnects cancels the MCP call in flight', async () => {
    oneCall('cancel', 'researcher', { name: 'mcp__web__slow', arguments: {} });
    const before = http.slowCancelled;
    const started = http.slowStarted;
    const client = new AbortController();
    const pending = chat('cancel', client.signal).catch((err: Error) => err);
    await until(() => http.slowStarted > started, 'the call to start');
    client.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => http.slowCancelled > before, 'the cancellation to reach the server');
  });
});
