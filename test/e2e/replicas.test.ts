// Replicas behind a load balancer: several server processes on one PostgreSQL database, each
// request of a client landing on any of them, and requests that race (a double submit, an SDK's
// retry after its client hung up, a process killed mid-run). The servers run the LLM team against
// the in-suite upstream, which echoes the user messages it was given.
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { waitFor } from '../support/http-client.ts';
import { freshSchema, urlWithSchema, type TestSchema } from '../support/postgres.ts';

let upstream: MockUpstream;
let schema: TestSchema;
let env: Record<string, string>;
const servers: ServerProcess[] = [];
let a: ServerProcess;
let b: ServerProcess;
/** A third process, killed by one test. */
let doomed: ServerProcess;

type Message = { role: 'user' | 'assistant'; content: string };
const user = (content: string): Message => ({ role: 'user', content });
const assistant = (content: string): Message => ({ role: 'assistant', content });

/** The echo of the upstream: the user messages the supervisor was given. */
const seen = (...questions: string[]) => `Seen: ${questions.join(' | ')}`;
/** A question asked the first time with `slow` in it is answered after this long (a run in progress). */
const SLOW_MS = 1_000;
const answered = new Set<string>();

beforeAll(async () => {
  upstream = await startMockUpstream((req) => {
    const questions = req.body.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content as string);
    const last = questions.at(-1) ?? '';
    const first = !answered.has(last);
    answered.add(last);
    return { text: seen(...questions), delayMs: first && last.includes('slow') ? SLOW_MS : 0 };
  });
  schema = await freshSchema('replicas');
  // A turn waits at most 5 s for a busy conversation (10 s by default); the lease a killed process
  // leaves behind is no longer than that (conversation-locks.ts, leaseFor).
  env = { CORTEX_DATABASE_URL: urlWithSchema(schema.url, schema.schema), CORTEX_CONVERSATION_WAIT_SECONDS: '5' };
  [a, b, doomed] = await Promise.all([startServer(env), startServer(env), startServer(env)]);
});

afterAll(async () => {
  const running = servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
  for (const s of running) s.child.kill('SIGKILL');
  await Promise.all(running.map((s) => once(s.child, 'exit')));
  await upstream?.close();
  await schema?.drop();
});

const startServer = async (extra: Record<string, string>) => {
  const server = await startServerProcess(upstream.baseUrl, { CORTEX_SAMPLE_CORPUS: 'false', ...extra });
  servers.push(server);
  return server;
};

interface Answer {
  status: number;
  conversationId: string;
  content: string;
  body: any;
}

async function chat(
  srv: ServerProcess,
  messages: Message[],
  options: { conversationId?: string; signal?: AbortSignal } = {},
): Promise<Answer> {
  const res = await fetch(`${srv.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      messages,
      ...(options.conversationId ? { conversation_id: options.conversationId } : {}),
    }),
    signal: options.signal,
  });
  const body = (await res.json()) as any;
  return {
    status: res.status,
    conversationId: body.conversation_id ?? res.headers.get('x-conversation-id'),
    content: body.choices?.[0]?.message?.content,
    body,
  };
}

async function transcript(id: string): Promise<string[]> {
  const res = await fetch(`${a.url}/v1/conversations/${encodeURIComponent(id)}`);
  const body = (await res.json()) as any;
  return body.messages.map((m: any) => m.content);
}

/** Resolves once the upstream has been asked `question` (its run is in progress). */
const asked = (question: string) =>
  waitFor(
    () => upstream.requests.some((r) => r.body.messages.at(-1)?.content === question),
    5_000,
    `the upstream to be asked ${question}`,
  );

/**
 * Ends a conversation's lease now, as a holder stalled past it would leave it; under another holder's
 * name, so that the stalled process's next renewal cannot revive it before the other process takes it.
 */
async function expireLease(conversationId: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlWithSchema(schema.url, schema.schema) });
  await client.connect();
  await client.query("UPDATE conversation_leases SET expires_at = 0, holder = 'stalled' WHERE conversation_id = $1", [
    conversationId,
  ]);
  await client.end();
}

const runsOf = async (id: string) =>
  ((await (await fetch(`${a.url}/v1/runs?conversation_id=${encodeURIComponent(id)}`)).json()) as any).data.map(
    (r: any) => r.status,
  );

describe('replicas on one PostgreSQL database', () => {
  it('keeps an id-less chat whose turns alternate between two processes in one conversation, each message once', async () => {
    const history: Message[] = [];
    const ids = new Set<string>();
    const questions: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const q = `alternating question ${i}`;
      questions.push(q);
      history.push(user(q));
      const answer = await chat(i % 2 ? a : b, history);
      expect(answer.status).toBe(200);
      expect(answer.content).toBe(seen(...questions));
      ids.add(answer.conversationId);
      history.push(assistant(answer.content));
    }
    expect(ids.size).toBe(1);
    expect(await transcript([...ids][0])).toEqual(history.map((m) => m.content));
  });

  it('serves an id-less history sent to two processes at once without a 5xx, storing no message twice in a transcript', async () => {
    const q0 = [user('double submit q0')];
    const [first] = await Promise.all([chat(a, q0), chat(b, q0)]);
    // The second turn is slow where it runs first: the copy on the other process arrives meanwhile.
    const q1 = [...q0, assistant(first.content), user('double submit slow q1')];
    for (const history of [q0, q1]) {
      const both = await Promise.all([chat(a, history), chat(b, history)]);
      for (const answer of both) {
        expect(answer.status).toBe(200);
        const stored = await transcript(answer.conversationId);
        expect(new Set(stored).size).toBe(stored.length);
        expect(stored.slice(0, history.length)).toEqual(history.map((m) => m.content));
      }
    }
  });

  it('serialises concurrent turns of a named conversation on two processes: the second sees the first', async () => {
    const first = chat(a, [user('named slow first')], { conversationId: 'named-race' });
    await asked('named slow first');
    const second = await chat(b, [user('named second')], { conversationId: 'named-race' });
    expect((await first).status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.content).toBe(seen('named slow first', 'named second'));
    expect(await transcript('named-race')).toEqual([
      'named slow first',
      seen('named slow first'),
      'named second',
      seen('named slow first', 'named second'),
    ]);
  });

  // An SDK's retry after its timeout, landing on another replica while the abandoned run winds down
  // (a first turn: test/conversation/history.test.ts, where the wind-down can be held).
  it('takes a later turn resent to another process after its client hung up as a retry in its conversation', async () => {
    const start = await chat(a, [user('hung up later q0')]);
    const history = [user('hung up later q0'), assistant(start.content), user('hung up later slow q1')];
    const leaving = new AbortController();
    const gone = chat(a, history, { signal: leaving.signal }).catch(() => 'aborted');
    await asked('hung up later slow q1');
    leaving.abort();
    await gone;
    const retry = await chat(b, history);
    expect(retry.status).toBe(200);
    expect(retry.conversationId).toBe(start.conversationId);
    expect(await transcript(start.conversationId)).toEqual([...history.map((m) => m.content), retry.content]);
  });

  it('takes a named turn resent to another process after its client hung up as a retry', async () => {
    const leaving = new AbortController();
    const gone = chat(a, [user('hung up named slow')], { conversationId: 'hung-named', signal: leaving.signal });
    await asked('hung up named slow');
    leaving.abort();
    await gone.catch(() => {});
    const retry = await chat(b, [user('hung up named slow')], { conversationId: 'hung-named' });
    expect(retry.status).toBe(200);
    expect(await transcript('hung-named')).toEqual(['hung up named slow', seen('hung up named slow')]);
    expect(await runsOf('hung-named')).toEqual(['completed', 'cancelled']);
  });

  // A process is killed (OOM, node drained without grace) while it runs two turns: a named one and a
  // later turn of an id-less chat. Their clients resend them at once to another process: each is
  // retried in its conversation once the lease the dead process left has run out, within the wait.
  // (A first turn resent so has no stored history to find it by: it starts a conversation of its own.)
  it('retries in their conversations the turns of a process killed mid-run, resent at once to another process', async () => {
    const start = await chat(b, [user('killed idless q0')]);
    const later = [user('killed idless q0'), assistant(start.content), user('killed idless slow q1')];
    const named = [user('killed named slow q0')];
    for (const [messages, conversationId] of [[later], [named, 'killed-named']] as const)
      void chat(doomed, [...messages], { conversationId }).catch(() => {});
    await Promise.all([asked('killed idless slow q1'), asked('killed named slow q0')]);
    await waitFor(
      async () =>
        (await runsOf(start.conversationId))[0] === 'running' && (await runsOf('killed-named'))[0] === 'running',
      5_000,
      'the turns to be stored as running',
    );
    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');

    const [nextNamed, nextLater] = await Promise.all([
      chat(b, named, { conversationId: 'killed-named' }),
      chat(b, later),
    ]);
    expect(nextNamed.status).toBe(200);
    expect(await transcript('killed-named')).toEqual(['killed named slow q0', seen('killed named slow q0')]);
    expect(await runsOf('killed-named')).toEqual(['completed', 'interrupted']);
    expect(nextLater.status).toBe(200);
    expect(nextLater.conversationId).toBe(start.conversationId);
    expect(await transcript(start.conversationId)).toEqual([...later.map((m) => m.content), nextLater.content]);
  }, 20_000);

  // A process that stops renewing its lease (paused, starved, cut off from the database) loses its
  // turn to another process once the lease has run out: that one marks the run interrupted and
  // answers its own turn. The first process's answer, arriving later, must not be appended after it.
  it('keeps a turn that lost its lease to another process out of that conversation', async () => {
    const stalled = chat(a, [user('stalled slow q1')], { conversationId: 'stalled' });
    await asked('stalled slow q1');
    await waitFor(async () => (await runsOf('stalled'))[0] === 'running', 5_000, 'the turn to be stored as running');
    await expireLease('stalled');
    const next = await chat(b, [user('stalled q2')], { conversationId: 'stalled' });
    expect(next.status).toBe(200);
    expect(next.content).toBe(seen('stalled slow q1', 'stalled q2'));
    const late = await stalled;
    expect(await transcript('stalled')).toEqual(['stalled slow q1', 'stalled q2', next.content]);
    expect(await runsOf('stalled')).toEqual(['completed', 'interrupted']);
    expect(late.status).not.toBe(200); // a 200 tells its client the answer was kept
  });
});
