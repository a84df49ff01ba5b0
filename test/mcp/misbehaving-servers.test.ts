// MCP servers that misbehave, as Cortex Flow's client meets them: silent, endless, enormous or
// hostile. Whatever a server does, start-up ends, the process stays responsive, what a server says
// is bounded where it is shown, and nothing it started outlives the connection.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { McpServerConfig } from '../../src/mcp/config.ts';
import { McpManager, type McpLimits } from '../../src/mcp/manager.ts';
import { until } from '../support/team-script.ts';
import { startSilentHttpServer } from './fixtures/silent-http-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-misbehaving-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = resolve('test/mcp/fixtures/misbehaving-stdio-server.ts');
const limits: McpLimits = {
  callTimeoutMs: 10_000,
  maxResultChars: 10_000,
  connectTimeoutMs: 1_500,
  retryMinMs: 60_000,
  retryMaxMs: 60_000,
};
const quiet = { info() {}, warn() {} };

const stdio = (name: string, mode: string, pidFile?: string): McpServerConfig => ({
  name,
  transport: {
    kind: 'stdio',
    command: process.execPath,
    args: [fixture, mode, ...(pidFile ? [pidFile] : [])],
    env: {},
  },
  agents: ['researcher'],
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The longest the event loop was held while `work` ran: a blocked loop stops every request. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 10);
  try {
    const value = await work();
    return { value, stallMs };
  } finally {
    clearInterval(timer);
  }
}

describe('a server that never answers', { timeout: 15_000 }, () => {
  it('over HTTP, neither as Streamable HTTP nor as SSE: start-up ends in time, the connections are let go', async () => {
    const silent = await startSilentHttpServer();
    const started = Date.now();
    const manager = await McpManager.start(
      [{ name: 'silent', transport: { kind: 'http', url: new URL(silent.url), headers: {} }, agents: ['researcher'] }],
      limits,
      quiet,
    );
    try {
      // One attempt, Streamable HTTP and the SSE fallback together, lasts at most the connect limit.
      expect(Date.now() - started).toBeLessThan(limits.connectTimeoutMs + 1_000);
      const [status] = manager.status();
      expect(status).toMatchObject({ state: 'failed', tools: [] });
      expect(status.error).toMatch(/timed out/i);
      await until(() => silent.open === 0, 'the client to close its requests', 3_000);
    } finally {
      await manager.close();
      await silent.close();
    }
  });

  it('when restarted: closing stops the start-up in flight, and the process with it', async () => {
    const pids = join(dir, 'hang.pids');
    const manager = await McpManager.start(
      [stdio('hang', 'hang-init-after-first', pids)],
      // The first start fails at once; the retry comes quickly and hangs in initialize.
      { ...limits, connectTimeoutMs: 60_000, retryMinMs: 50 },
      quiet,
    );
    const started = () => (existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number) : []);
    await until(() => started().length === 2, 'the restart');
    const pid = started()[1];
    expect(alive(pid)).toBe(true);
    await manager.close();
    // Not left running until its 60 s connect limit: closing ends it (the SDK's end of stdin,
    // then SIGTERM).
    await until(() => !alive(pid), 'the process to end', 6_000);
  });
});

describe('a server that lists without end', { timeout: 15_000 }, () => {
  it('paging forever: the listing stops, start-up ends, the tools read so far are offered', async () => {
    const warnings: string[] = [];
    const manager = await McpManager.start([stdio('pager', 'paginate-forever')], limits, {
      info() {},
      warn: (_o, msg) => warnings.push(msg),
    });
    try {
      const [status] = manager.status();
      expect(status.state).toBe('ready');
      expect(status.tools.length).toBeGreaterThan(0);
      expect(status.tools.length).toBeLessThanOrEqual(100);
      expect(warnings.join('\n')).toMatch(/'pager': some tools are not offered/);
    } finally {
      await manager.close();
    }
  });

  it('a list_changed notification reads every page again, not the first alone', async () => {
    const manager = await McpManager.start([stdio('paged', 'two-pages')], limits, quiet);
    try {
      const names = () => manager.status()[0].tools.map((t) => t.name);
      expect(names()).toEqual(['change', 'second']);
      const change = manager.toolsFor('researcher').find((t) => t.mcp?.tool === 'change')!;
      await change.execute({}, { signal: new AbortController().signal } as Parameters<typeof change.execute>[1]);
      // The refresh comes after the SDK's debounce; the tools of the second page must survive it.
      await new Promise((r) => setTimeout(r, 500));
      expect(names()).toEqual(['change', 'second']);
    } finally {
      await manager.close();
    }
  });

  it('10,000 tools, odd names, a huge schema: the agents are offered what a model accepts', async () => {
    const warnings: string[] = [];
    const manager = await McpManager.start([stdio('many', 'many-tools')], limits, {
      info() {},
      warn: (_o, msg) => warnings.push(msg),
    });
    try {
      const tools = manager.toolsFor('researcher');
      // OpenAI takes at most 128 tools in a request, the agent's own tools included.
      expect(tools.length).toBeLessThanOrEqual(100);
      expect(tools.length).toBeGreaterThan(0);
      const names = tools.map((t) => t.name);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) expect(n).toMatch(/^[a-zA-Z0-9_-]{1,56}$/);
      // A tool whose schema alone would fill a model's context is not offered.
      expect(tools.find((t) => t.mcp?.tool === 'huge_schema')).toBeUndefined();
      expect(warnings.join('\n')).toMatch(/many/);
      expect(manager.status()[0].state).toBe('ready');
    } finally {
      await manager.close();
    }
  });
});

describe('hostile output schemas', { timeout: 15_000 }, () => {
  it('neither reject the server nor stall the process when its tools are listed or called', async () => {
    const { value: manager, stallMs: listStall } = await longestStall(() =>
      McpManager.start([stdio('hostile', 'hostile-output-schema')], limits, quiet),
    );
    try {
      expect(manager.status()[0].state).toBe('ready');
      expect(listStall).toBeLessThan(1_000);
      const backtrack = manager.toolsFor('researcher').find((t) => t.mcp?.tool === 'backtrack')!;
      const signal = new AbortController().signal;
      const { value: out, stallMs } = await longestStall(() =>
        backtrack.execute({}, { signal } as Parameters<typeof backtrack.execute>[1]),
      );
      expect(out).toMatchObject({ content: 'done', structured: { a: expect.stringMatching(/^a+!$/) } });
      expect(stallMs).toBeLessThan(1_000);
    } finally {
      await manager.close();
    }
  });
});

describe('what a server says about itself', () => {
  it('an error of a megabyte is cut where it is logged and shown in /ready', async () => {
    const warnings: string[] = [];
    const manager = await McpManager.start([stdio('loud', 'huge-init-error')], limits, {
      info() {},
      warn: (_o, msg) => warnings.push(msg),
    });
    try {
      const [status] = manager.status();
      expect(status.state).toBe('failed');
      expect(status.error).toMatch(/^MCP error -32000: EEEE/);
      expect(status.error!.length).toBeLessThanOrEqual(1_000);
      expect(warnings[0].length).toBeLessThanOrEqual(1_200);
    } finally {
      await manager.close();
    }
  });

  it("a tool call's protocol error of a megabyte is cut like a result before the model sees it", async () => {
    const manager = await McpManager.start([stdio('echo', 'default')], limits, quiet);
    try {
      const fail = manager.toolsFor('researcher').find((t) => t.mcp?.tool === 'fail_loudly')!;
      const err = await fail
        .execute({}, { signal: new AbortController().signal } as Parameters<typeof fail.execute>[1])
        .catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/boom BBBB/);
      expect((err as Error).message.length).toBeLessThan(limits.maxResultChars + 100);
    } finally {
      await manager.close();
    }
  });
});
