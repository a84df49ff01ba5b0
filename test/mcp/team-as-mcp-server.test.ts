// The team served over MCP's Streamable HTTP transport at /mcp, used with the SDK's own client:
// the served models as tools, progress while the agents work, a conversation continued by its id,
// a call cancelled, and the same API keys as /v1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ScriptBook, teamScript, until } from '../support/team-script.ts';

const KEY = 'sk-cortex-mcp-test-key';
const OTHER_KEY = 'sk-cortex-mcp-other-key';
let upstream: MockUpstream;
let book: ScriptBook;
let dir: string;
let app: App;
let baseUrl: string;
let client: Client;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-serve-'));
  app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_DATA_DIR: dir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_API_KEYS: `${KEY},${OTHER_KEY}`,
      CORTEX_LLM_TIMEOUT_SECONDS: '30',
    }),
  );
  baseUrl = await app.server.listen({ host: '127.0.0.1', port: 0 });
  client = await connect(KEY);
});

afterAll(async () => {
  await client?.close();
  await app?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(key: string | undefined): Promise<Client> {
  const c = new Client({ name: 'test', version: '1.0.0' });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await c.connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers } }));
  return c;
}

/** A raw POST to /mcp as a Streamable HTTP client sends it, with `key` (none when null). */
const postMcp = (body: string, key: string | null = KEY, headers: Record<string, string> = {}) =>
  fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body,
  });

const runs = async (conversationId: string) =>
  (
    (await (
      await fetch(`${baseUrl}/v1/runs?conversation_id=${conversationId}`, {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).json()) as any
  ).data as any[];

describe('the team as an MCP server over Streamable HTTP', () => {
  it('offers one tool per served model, with input and output schemas', async () => {
    const { tools } = await client.listTools();
    const models = app.deps.orchestrator.models().map((m) => m.id);
    expect(tools.map((t) => t.name)).toEqual(models);
    expect(models).toEqual(expect.arrayContaining(['cortex-flow', 'cortex-flow-supervisor', 'cortex-flow-researcher']));
    const team = tools.find((t) => t.name === 'cortex-flow')!;
    expect(team.description).toBeTruthy();
    expect(team.inputSchema.required).toEqual(['message']);
    expect(Object.keys(team.inputSchema.properties!)).toEqual(['message', 'conversation_id']);
    expect(team.outputSchema?.required).toEqual(
      expect.arrayContaining(['answer', 'conversation_id', 'run_id', 'agents_used', 'sources']),
    );
  });

  it('answers a call with progress while the agents work, stores the turn, and continues it by conversation_id', async () => {
    book.add('conv', teamScript('conv', { writer: { text: 'The answer. [[conv]]' } }));
    const progress: Progress[] = [];
    const first = (await client.callTool(
      { name: 'cortex-flow', arguments: { message: 'Question one [[conv]]' } },
      undefined,
      {
        onprogress: (p) => progress.push(p),
      },
    )) as CallToolResult;
    expect(first.isError).toBeFalsy();
    const out = first.structuredContent as any;
    expect(out.answer).toBe('The answer. [[conv]]');
    expect(first.content).toEqual([{ type: 'text', text: out.answer }]);
    expect(out.agents_used).toEqual(expect.arrayContaining(['researcher', 'analyst', 'writer']));
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.map((p) => p.message).join('\n')).toContain('researcher');
    // Stored like any other turn: the run is found under the key, in its conversation.
    expect((await runs(out.conversation_id)).map((r) => [r.id, r.status])).toEqual([[out.run_id, 'completed']]);

    const second = (await client.callTool({
      name: 'cortex-flow',
      arguments: { message: 'And then? [[conv]]', conversation_id: out.conversation_id },
    })) as CallToolResult;
    expect((second.structuredContent as any).conversation_id).toBe(out.conversation_id);
    // The second turn's supervisor saw the first turn, question and answer, read from the store.
    const seen = JSON.stringify(book.requests('conv', 'supervisor').at(-1)!.body.messages);
    expect(seen).toContain('And then? [[conv]]');
    expect(seen).toContain('Question one [[conv]]');
    expect(seen).toContain('The answer. [[conv]]');
    expect((await runs(out.conversation_id)).length).toBe(2);
  });

  it("another key's conversation is not found, in the words of the API", async () => {
    book.add('theirs', teamScript('theirs'));
    const first = (await client.callTool({
      name: 'cortex-flow',
      arguments: { message: 'Mine [[theirs]]' },
    })) as CallToolResult;
    const id = (first.structuredContent as any).conversation_id;
    const other = await connect(OTHER_KEY);
    try {
      const result = (await other.callTool({
        name: 'cortex-flow',
        arguments: { message: 'Yours? [[theirs]]', conversation_id: id },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect((result.content as any)[0].text).toBe(`No conversation found with id '${id}'. (conversation_not_found)`);
    } finally {
      await other.close();
    }
  });

  it('a cancelled call stops its run, which is stored as cancelled', async () => {
    book.add('cancel', teamScript('cancel', { specialist: () => ({ fault: 'hang' }) }));
    const abort = new AbortController();
    const call = client
      .callTool(
        { name: 'cortex-flow', arguments: { message: 'Wait [[cancel]]', conversation_id: 'mcp-cancel-1' } },
        undefined,
        {
          signal: abort.signal,
        },
      )
      .catch((err: Error) => err);
    await until(() => book.requests('cancel', 'researcher').length > 0, 'the researcher to start');
    abort.abort();
    expect(await call).toBeInstanceOf(Error);
    await until(
      () => book.requests('cancel').every((r) => r.abortedByClient || r.answeredAt),
      'the upstream calls to stop',
    );
    let status = '';
    await until(() => {
      void runs('mcp-cancel-1').then((r) => (status = r[0]?.status ?? ''));
      return status === 'cancelled';
    }, 'the run to be stored as cancelled');
    // As what happened: the client asked (notifications/cancelled), it did not go away.
    expect((await runs('mcp-cancel-1'))[0].error).toBe('the client cancelled the run before it finished');
  });

  /** A raw POST to /mcp in `session`, read to its end (or 'still open' after 10 s). */
  const postAndRead = (session: string, body: unknown) =>
    new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${KEY}`,
          'mcp-session-id': session,
          'mcp-protocol-version': '2025-06-18',
        },
      });
      req.once('response', (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (d) => (text += d));
        res.once('end', () => resolve(text));
        setTimeout(() => (req.destroy(), resolve('still open')), 10_000).unref();
      });
      req.once('error', reject);
      req.end(JSON.stringify(body));
    });
  const callOf = (id: number, tag: string) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'cortex-flow', arguments: { message: `Go [[${tag}]]` } },
  });

  it("ends a cancelled call's stream, which gets no response, instead of holding it open", async () => {
    book.add('cancel-stream', teamScript('cancel-stream', { specialist: () => ({ fault: 'hang' }) }));
    const { session } = await initialize(KEY);
    // The call's stream, read to its end (or to the client giving up on it after 10 s).
    const ended = postAndRead(session!, callOf(9, 'cancel-stream'));
    await until(() => book.requests('cancel-stream', 'researcher').length > 0, 'the researcher to start');
    const cancel = await postMcp(
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9, reason: 'enough' } }),
      KEY,
      { 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(cancel.status).toBe(202);
    const text = await ended;
    expect(text).not.toBe('still open');
    expect(text).not.toContain('"id":9'); // no response to a cancelled request, as the protocol asks
    await until(
      () => book.requests('cancel-stream').every((r) => r.abortedByClient || r.answeredAt),
      'the upstream calls to stop',
    );
  });

  it("ends a batch's stream once its other requests are answered when one of them is cancelled", async () => {
    book.add('batch-hang', teamScript('batch-hang', { specialist: () => ({ fault: 'hang' }) }));
    book.add('batch-quick', teamScript('batch-quick'));
    const { session } = await initialize(KEY);
    const ended = postAndRead(session!, [callOf(21, 'batch-hang'), callOf(22, 'batch-quick')]);
    await until(() => book.requests('batch-hang', 'researcher').length > 0, 'the hanging call to start');
    const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 21, reason: 'enough' } };
    expect(
      (await postMcp(JSON.stringify(cancel), KEY, { 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' }))
        .status,
    ).toBe(202);
    const text = await ended;
    expect(text).not.toBe('still open');
    expect(text).toContain('"id":22');
    expect(text).toContain('The answer is 42. [[batch-quick]]');
  });

  /** The run's status and error once it is no longer running (or what it is after 5 s). */
  const settledRun = async (conversationId: string) => {
    let run: any;
    await until(
      () => {
        void runs(conversationId).then((r) => (run = r[0]));
        return run !== undefined && run.status !== 'running';
      },
      'the run to end',
      5_000,
    ).catch(() => {});
    return [run?.status, run?.error];
  };

  it("a client that closes a call's stream stops its run, as a chat completion's client that leaves", async () => {
    book.add('leave', teamScript('leave', { specialist: () => ({ fault: 'hang' }) }));
    const leaving = await connect(KEY);
    const call = leaving
      .callTool({ name: 'cortex-flow', arguments: { message: 'Wait [[leave]]', conversation_id: 'mcp-leave-1' } })
      .catch((err: Error) => err);
    await until(() => book.requests('leave', 'researcher').length > 0, 'the researcher to start');
    await leaving.close(); // drops the call's stream, without a cancellation
    expect(await call).toBeInstanceOf(Error);
    // Stored as left by its client, its upstream calls cancelled and its run slot given back.
    expect(await settledRun('mcp-leave-1')).toEqual(['cancelled', 'client disconnected before the run finished']);
    expect(book.requests('leave').every((r) => r.abortedByClient || r.answeredAt)).toBe(true);
    await until(() => app.deps.gate.running === 0, 'the run slot to be freed', 5_000);
  });

  it('a cancellation without a reason, or of the request with id 0, stops its run as cancelled', async () => {
    for (const [id, tag, params] of [
      [3, 'cancel-no-reason', { requestId: 3 }],
      [0, 'cancel-id-0', { requestId: 0, reason: 'enough' }],
    ] as const) {
      book.add(tag, teamScript(tag, { specialist: () => ({ fault: 'hang' }) }));
      const { session } = await initialize(KEY);
      const call = {
        ...callOf(id, tag),
        params: { name: 'cortex-flow', arguments: { message: `Go [[${tag}]]`, conversation_id: `mcp-${tag}` } },
      };
      const ended = postAndRead(session!, call);
      await until(() => book.requests(tag, 'researcher').length > 0, 'the researcher to start');
      const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params };
      const headers = { 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' };
      expect((await postMcp(JSON.stringify(cancel), KEY, headers)).status).toBe(202);
      expect(await ended).not.toBe('still open');
      expect(await settledRun(`mcp-${tag}`)).toEqual(['cancelled', 'the client cancelled the run before it finished']);
      expect(book.requests(tag).every((r) => r.abortedByClient || r.answeredAt)).toBe(true);
    }
    await until(() => app.deps.gate.running === 0, 'the run slot to be freed', 5_000);
  });

  it('refuses a request whose id is still in flight in its session, instead of crossing the answers', async () => {
    book.add(
      'dup-slow',
      teamScript('dup-slow', { writer: { text: 'Slow one. [[dup-slow]]', chunkSize: 2, chunkDelayMs: 50 } }),
    );
    book.add('dup-other', teamScript('dup-other'));
    const { session } = await initialize(KEY);
    const first = postAndRead(session!, callOf(7, 'dup-slow'));
    await until(() => book.requests('dup-slow').length > 0, 'the first call to start');
    const second = await postMcp(JSON.stringify(callOf(7, 'dup-other')), KEY, {
      'mcp-session-id': session!,
      'mcp-protocol-version': '2025-06-18',
    });
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32600 } });
    expect(book.requests('dup-other')).toHaveLength(0);
    const answer = await first;
    expect(answer).toContain('Slow one. [[dup-slow]]');
    // Once answered, the id may be used again.
    expect(await postAndRead(session!, callOf(7, 'dup-other'))).toContain('[[dup-other]]');
  });

  it('offers no stream to a GET (405): the team sends nothing of its own accord', async () => {
    const { session } = await initialize(KEY);
    const res = await fetch(`${baseUrl}/mcp`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}`, 'mcp-session-id': session! },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, DELETE');
    expect(((await res.json()) as any).error.code).toBe(-32000);
  });

  it('wants the API key when keys are on', async () => {
    const res = await postMcp(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), null);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error' });
    await expect(connect(undefined)).rejects.toThrow(/invalid_api_key/);
    await expect(connect('sk-wrong')).rejects.toThrow(/invalid_api_key/);
  });

  it('a session belongs to the key that opened it', async () => {
    const res = await postMcp(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), KEY, {
      'mcp-session-id': 'not-a-session',
      'mcp-protocol-version': '2025-06-18',
    });
    expect(res.status).toBe(404);
  });

  it('answers a body it cannot read in JSON-RPC terms, as MCP clients read errors', async () => {
    const res = await postMcp('{bad');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error: the request body is not valid JSON.' },
      id: null,
    });
  });

  it('a request without a session must initialize one first', async () => {
    const res = await postMcp(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe(-32000);
  });

  const initialize = (key: string, host?: string) =>
    new Promise<{ status: number; session: string | undefined }>((resolve, reject) => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      const req = httpRequest(`${baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${key}`,
          ...(host ? { host } : {}),
        },
      });
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode!, session: res.headers['mcp-session-id'] as string }));
      });
      req.once('error', reject);
      req.end(body);
    });
  const listTools = (key: string, session: string) =>
    postMcp(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), key, {
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-06-18',
    }).then(async (r) => (await r.arrayBuffer(), r.status));

  it("serves a client whose Host header is no URL host (its origin is not the server's URL)", async () => {
    for (const host of ['x:notaport', 'a b', '[::1']) expect((await initialize(KEY, host)).status).toBe(200);
  });

  it("one key cannot fill the session table: past its share its oldest session makes room, other keys' stay", async () => {
    const theirs = await initialize(KEY);
    const mine: string[] = [];
    for (let i = 0; i < 201; i++) mine.push((await initialize(OTHER_KEY)).session!);
    expect(await listTools(OTHER_KEY, mine[0])).toBe(404); // evicted: the client initializes again
    expect(await listTools(OTHER_KEY, mine[200])).toBe(200);
    expect(await listTools(KEY, theirs.session!)).toBe(200);
    expect((await initialize(KEY)).status).toBe(200);
  });

  it('never closes a session whose call is still running to make room for new ones', async () => {
    const tag = book.add(
      'busy-session',
      teamScript('busy-session', {
        writer: { text: 'Done at last. [[busy-session]]', chunkSize: 2, chunkDelayMs: 100 },
      }),
    );
    const busy = await connect(OTHER_KEY);
    try {
      const call = busy.callTool({ name: 'cortex-flow', arguments: { message: `Take a while [[${tag}]]` } });
      await until(() => book.requests(tag).length > 0, 'the call to start');
      for (let i = 0; i < 201; i++) expect((await initialize(OTHER_KEY)).status).toBe(200);
      const result = (await call) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as any).answer).toBe('Done at last. [[busy-session]]');
    } finally {
      await busy.close();
    }
  });

  it('reports a refused turn as a failed tool call', async () => {
    const result = (await client.callTool({
      name: 'cortex-flow',
      arguments: { message: 'Hello', conversation_id: 'not a valid id!' },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect((result.content as any)[0].text).toMatch(/conversation_id/);
  });
});
