// A server process on PostgreSQL whose database fails under it, seen from outside: connections
// killed in the middle of a turn's writes (pg_terminate_backend, as a failover or an administrator
// does), and a database that is down when the server starts. The process must live on, answer a
// 503 the client may retry, never say `[DONE]` for a turn it did not store, and serve the next turn
// without a restart; the database password never appears in what it says.
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { freshSchema, TEST_DATABASE_URL, type TestSchema } from '../support/postgres.ts';

/** Sent in the URL only: the test database trusts loopback, so it is never asked for. */
const PASSWORD = 'pw-must-not-leak-7f3a';
/** A question with `slow` in it is answered after this long: time to lock the store meanwhile. */
const SLOW_MS = 800;

let upstream: MockUpstream;
let schema: TestSchema;
let admin: pg.Client;
let server: ServerProcess;
/** The application name of the server's connections, to find (and kill) them. */
let app: string;

beforeAll(async () => {
  upstream = await startMockUpstream((req) => {
    const last = req.body.messages.filter((m: any) => m.role === 'user').at(-1)?.content ?? '';
    return { text: `Answer to ${last}`, delayMs: last.includes('slow') ? SLOW_MS : 0 };
  });
  schema = await freshSchema('pgfaults');
  app = `cortex_${schema.schema}`;
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  server = await startServerProcess(upstream.baseUrl, {
    CORTEX_DATABASE_URL: databaseUrl(),
    CORTEX_SAMPLE_CORPUS: 'false',
    CORTEX_LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  if (server?.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
  }
  await admin?.end();
  await upstream?.close();
  await schema?.drop();
});

/** The test database with a password, the test's schema and an application name of its own. */
function databaseUrl(port?: number): string {
  const url = new URL(TEST_DATABASE_URL);
  url.username ||= 'postgres';
  url.password = PASSWORD;
  if (port) url.port = String(port);
  url.searchParams.set('options', `-c search_path=${schema.schema}`);
  url.searchParams.set('application_name', app);
  return url.toString();
}

const chat = (content: string, stream = false) =>
  fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', stream, messages: [{ role: 'user', content }] }),
  });

/**
 * Holds `runs` locked from another connection until the server's next write to it waits, kills
 * the server's connections, then lets go: whatever statement the server had in flight fails.
 * `begin`, started once the table is locked, makes that write the first of its turn (the turn's
 * begin), whatever the machine's speed; without it, the write is whichever comes next.
 */
async function killConnectionsDuringWrite<T>(begin?: () => T): Promise<T | undefined> {
  const locker = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await locker.connect();
  let begun: T | undefined;
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema.schema}".runs IN EXCLUSIVE MODE`);
    begun = begin?.();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [app],
      );
      if (rows[0].n > 0) break;
      if (Date.now() > deadline) throw new Error('the server never waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
  } finally {
    await locker.query('COMMIT').catch(() => {});
    await locker.end();
  }
  return begun;
}

const runsOf = async (question: string) =>
  (
    await admin.query(
      `SELECT r.status FROM "${schema.schema}".runs r JOIN "${schema.schema}".messages m
         ON m.conversation_id = r.conversation_id AND m.role = 'user' AND m.content = $1 ORDER BY r.started_at`,
      [question],
    )
  ).rows.map((r) => r.status as string);

describe('a PostgreSQL whose connections are killed under the server', () => {
  it(
    'while a turn begins: a retryable 503 store_unreachable, the process lives on, the next turn is stored',
    { timeout: 20_000 },
    async () => {
      expect((await chat('warm up')).status).toBe(200);
      // Sent once `runs` is locked: the write the kill hits is the turn's begin (the first run row),
      // not its end, which a fast machine reached before the lock when the request went first.
      const res = (await await killConnectionsDuringWrite(() => chat('first question')))!;
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe('store_unreachable');
      expect(server.child.exitCode).toBeNull();
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      const next = await chat('second question');
      expect(next.status).toBe(200);
      expect((await next.json()).choices[0].message.content).toBe('Answer to second question');
      expect(await runsOf('second question')).toEqual(['completed']);
    },
  );

  it(
    'during the final write of a streamed turn: an error frame, never [DONE]; the run ends failed and a resend is stored',
    { timeout: 20_000 },
    async () => {
      const res = await chat('a slow question', true);
      expect(res.status).toBe(200);
      const body = res.text();
      await killConnectionsDuringWrite();
      const frames = await body;
      expect(frames).toContain('"code":"turn_not_stored"');
      expect(frames).not.toContain('[DONE]');
      expect(server.child.exitCode).toBeNull();
      // Marked failed once the store answers again, so that the resend retries the turn in place.
      expect(await runsOf('a slow question')).toEqual(['failed']);
      const again = await chat('a slow question', true);
      const text = await again.text();
      expect(text).toContain('[DONE]');
      expect(await runsOf('a slow question')).toEqual(['failed', 'completed']);
    },
  );

  it('never logs the database password', () => {
    // The log is there (the failed writes above are logged), and it names no password.
    expect(server.output()).toMatch(/failed to record the conversation turn/);
    expect(server.output()).not.toContain(PASSWORD);
  });
});

describe('a PostgreSQL that is down when the server starts', () => {
  it('exits 1 saying the database cannot be reached, without the password', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      // Nothing listens on port 9 of the loopback: the connection is refused.
      env: {
        ...process.env,
        CORTEX_DATABASE_URL: databaseUrl(9),
        CORTEX_SAMPLE_CORPUS: 'false',
        OPENAI_COMPAT_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output).toMatch(/The database of CORTEX_DATABASE_URL could not be opened: .*ECONNREFUSED/);
    expect(output).not.toContain(PASSWORD);
  });
});
