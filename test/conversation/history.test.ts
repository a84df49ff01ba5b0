// Conversation memory over a real store (SQLite and PostgreSQL): clients that resend their history
// without a conversation id, edits that branch, retries that replace a failed turn, turns of one
// conversation serialised across replicas, and runs left behind by a process that died.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoredMemory } from '../../src/conversation/stored.ts';
import {
  ConversationBusyError,
  ConversationNotFoundError,
  LockWaitAbortedError,
  type ConversationMemory,
  type TurnRecord,
  type TurnStatus,
} from '../../src/conversation/types.ts';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { createStore } from '../../src/store/create-store.ts';
import { TurnTakenOverError, type Store } from '../../src/store/types.ts';
import { TokenCounter } from '../../src/tokens.ts';
import { waitFor } from '../support/http-client.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';

const tokens = new TokenCounter('gpt-4');
let runs = 0;

interface Turn {
  conversationId?: string;
  owner?: string;
  messages: ChatMessage[];
  answer: string;
  status?: TurnStatus;
}

/** One turn as the run lifecycle drives it: lock, prepare, begin, record, release. */
async function say(memory: ConversationMemory, t: Turn) {
  const owner = t.owner ?? '';
  const lock = await memory.lock({ conversationId: t.conversationId, owner, messages: t.messages });
  try {
    const turn = await memory.prepare({ lock, owner, messages: t.messages });
    const runId = `run_${++runs}`;
    const startedAt = new Date();
    await memory.begin({ turn, owner, model: 'cortex-flow', runs: [{ runId, choiceIndex: 0 }], startedAt });
    await memory.record({
      conversationId: turn.conversationId,
      owner,
      runId,
      model: 'cortex-flow',
      newMessages: turn.newMessages,
      answer: t.answer ? { role: 'assistant', content: t.answer } : null,
      status: t.status ?? 'completed',
      events: [],
      agentsUsed: ['writer'],
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      promptTokens: 1,
      completionTokens: 1,
      startedAt,
      finishedAt: new Date(),
    });
    return { ...turn, runId };
  } finally {
    await lock.release();
  }
}

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const contents = async (store: Store, id: string) => (await store.getMessages(id)).map((m) => m.content);
/** A turn's record with nothing spent: what the tests below vary is given, the rest is empty. */
const recordOf = (t: Pick<TurnRecord, 'conversationId' | 'runId' | 'newMessages' | 'answer'> & Partial<TurnRecord>) =>
  ({
    model: 'm',
    status: 'completed',
    events: [],
    agentsUsed: [],
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    promptTokens: 0,
    completionTokens: 0,
    startedAt: new Date(),
    finishedAt: new Date(),
    ...t,
  }) satisfies TurnRecord;

/** Plays an id-less linear chat of `turns` turns; returns the conversation id of each turn. */
async function chatWithoutIds(memory: ConversationMemory, prefix: string, turns: number, owner = '') {
  const history: ChatMessage[] = [];
  const ids: string[] = [];
  for (let i = 1; i <= turns; i++) {
    history.push(user(`${prefix} question ${i}`));
    const answer = `${prefix} answer ${i}`;
    const turn = await say(memory, { owner, messages: [...history], answer });
    ids.push(turn.conversationId);
    history.push(assistant(answer));
  }
  return { ids, history };
}

interface Backend {
  name: string;
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'cortex-history-'));
let schema: TestSchema | undefined;
const backends: Backend[] = [
  {
    name: 'SQLite',
    open: () => createStore({ dataDir: dir, databaseUrl: undefined }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      schema ??= await freshSchema('history');
      return createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
    },
    dispose: async () => schema?.drop(),
  },
];

describe.each(backends)('conversation memory on $name', (backend) => {
  const stores: Store[] = [];
  const open = async () => {
    const s = await backend.open();
    stores.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => {});
    if (backend.name === 'SQLite') await backend.dispose(); // the PostgreSQL schema serves the next block too
  });

  it('keeps a 20-turn chat without ids in one conversation, each message once', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const { ids, history } = await chatWithoutIds(memory, 'linear', 20);
    expect(new Set(ids).size).toBe(1);
    expect(await contents(store, ids[0])).toEqual(history.map((m) => m.content));
    expect((await store.getConversation(ids[0], ''))!.messageCount).toBe(40);
  });

  it('titles a conversation by its first message, never cutting a character in half', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const turn = await say(memory, { messages: [user(`a${'😀'.repeat(100)}`)], answer: 'ok' });
    const { title } = (await store.getConversation(turn.conversationId, ''))!;
    expect(Array.from(title)).toHaveLength(80);
    expect(title).toBe(`a${'😀'.repeat(79)}`);
  });

  it('gives the agents the whole stored history on an id-less turn', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const { history } = await chatWithoutIds(memory, 'context', 2);
    const lock = await memory.lock({ messages: [...history, user('context question 3')] });
    const turn = await memory.prepare({ lock, messages: [...history, user('context question 3')] });
    await lock.release();
    expect(turn.context.map((m) => m.content)).toEqual([...history, user('context question 3')].map((m) => m.content));
    expect(turn.newMessages).toEqual([user('context question 3')]);
  });

  it('branches an edited earlier turn into a new conversation and keeps the original', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const { ids, history } = await chatWithoutIds(memory, 'edit', 5);
    const original = await contents(store, ids[0]);
    // The user edits turn 3: the history up to its answer 2, then a different question.
    const edited = [...history.slice(0, 4), user('edit question 3, reworded')];
    const branch = await say(memory, { messages: edited, answer: 'edit answer 3b' });
    expect(branch.conversationId).not.toBe(ids[0]);
    // The agents saw the history up to the edit, not the turns after it.
    expect(branch.context.map((m) => m.content)).toEqual([...original.slice(0, 4), 'edit question 3, reworded']);
    expect(await contents(store, branch.conversationId)).toEqual([
      ...original.slice(0, 4),
      'edit question 3, reworded',
      'edit answer 3b',
    ]);
    expect(await contents(store, ids[0])).toEqual(original);
    // Each branch then goes on on its own.
    const onBranch = await say(memory, {
      messages: [...edited, assistant('edit answer 3b'), user('edit question 4b')],
      answer: 'edit answer 4b',
    });
    expect(onBranch.conversationId).toBe(branch.conversationId);
    const onOriginal = await say(memory, { messages: [...history, user('edit question 6')], answer: 'edit answer 6' });
    expect(onOriginal.conversationId).toBe(ids[0]);
    expect((await store.getMessages(ids[0])).length).toBe(12);
  });

  it('branches a regenerated last answer and keeps the first one', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const { ids, history } = await chatWithoutIds(memory, 'regen', 2);
    const again = await say(memory, { messages: history.slice(0, 3), answer: 'regen answer 2, take two' });
    expect(again.conversationId).not.toBe(ids[0]);
    expect(await contents(store, again.conversationId)).toEqual([
      'regen question 1',
      'regen answer 1',
      'regen question 2',
      'regen answer 2, take two',
    ]);
    expect(await contents(store, ids[0])).toEqual(history.map((m) => m.content));
  });

  it('goes on in an id-less conversation whose last question got no answer', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const first = await say(memory, { messages: [user('unanswered q0')], answer: 'a0' });
    const before = (await store.listConversations('', { limit: 100, order: 'asc' })).data.length;
    // The answer to q1 failed before any text; the user goes on with q2, q1 still in the history.
    const q1 = [user('unanswered q0'), assistant('a0'), user('unanswered q1')];
    await say(memory, { messages: q1, answer: '', status: 'failed' });
    const next = await say(memory, { messages: [...q1, user('unanswered q2')], answer: 'a2' });
    expect(next.conversationId).toBe(first.conversationId);
    expect(await contents(store, first.conversationId)).toEqual([
      'unanswered q0',
      'a0',
      'unanswered q1',
      'unanswered q2',
      'a2',
    ]);
    expect((await store.listConversations('', { limit: 100, order: 'asc' })).data.length).toBe(before);
  });

  it('goes on in an id-less conversation whose last answer failed part way, the partial answer leaving it', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const first = await say(memory, { messages: [user('partial q0')], answer: 'a0' });
    const q1 = [user('partial q0'), assistant('a0'), user('partial q1')];
    await say(memory, { messages: q1, answer: 'a1 cut sh', status: 'failed' });
    // The client never had 'a1 cut sh': it asks its next question after q1.
    const next = await say(memory, { messages: [...q1, user('partial q2')], answer: 'a2' });
    expect(next.conversationId).toBe(first.conversationId);
    expect(next.context.map((m) => m.content)).toEqual(['partial q0', 'a0', 'partial q1', 'partial q2']);
    expect(await contents(store, first.conversationId)).toEqual(['partial q0', 'a0', 'partial q1', 'partial q2', 'a2']);
    // Another client shows an answer of its own in place of the failed one, and goes on; that turn
    // fails too and is retried: all in one conversation.
    const own = [
      ...q1,
      user('partial q2'),
      assistant('a2'),
      user('partial q3'),
      assistant('(no answer)'),
      user('partial q4'),
    ];
    await say(memory, { messages: own.slice(0, 6), answer: 'a3 cut', status: 'cancelled' });
    await say(memory, { messages: own, answer: 'a4 cut', status: 'failed' });
    const retried = await say(memory, { messages: own, answer: 'a4' });
    expect(retried.conversationId).toBe(first.conversationId);
    expect(retried.context.map((m) => m.content)).toEqual(own.map((m) => m.content));
    expect(await contents(store, first.conversationId)).toEqual([...own, assistant('a4')].map((m) => m.content));
  });

  it('branches a named conversation resent with a history that leaves it, instead of storing that history twice', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const id = 'conv_named_regenerate';
    await say(memory, { conversationId: id, messages: [user('n1')], answer: 'na1' });
    const upToQ2 = [user('n1'), assistant('na1'), user('n2')];
    await say(memory, { conversationId: id, messages: upToQ2, answer: 'na2' });
    // Regenerate the last answer, the whole history resent with the id.
    const again = await say(memory, { conversationId: id, messages: upToQ2, answer: 'na2, take two' });
    expect(again.conversationId).not.toBe(id);
    expect(again.context.map((m) => m.content)).toEqual(['n1', 'na1', 'n2']);
    expect(await contents(store, again.conversationId)).toEqual(['n1', 'na1', 'n2', 'na2, take two']);
    expect(await contents(store, id)).toEqual(['n1', 'na1', 'n2', 'na2']);
    // The client goes on from the new answer, still naming its id: the branch grows, once.
    const on = await say(memory, {
      conversationId: id,
      messages: [...upToQ2, assistant('na2, take two'), user('n3')],
      answer: 'na3',
    });
    expect(on.conversationId).toBe(again.conversationId);
    expect(await contents(store, on.conversationId)).toEqual(['n1', 'na1', 'n2', 'na2, take two', 'n3', 'na3']);
    // A failed question replaced by another, the history resent: not appended after the first.
    const other = 'conv_named_replaced';
    await say(memory, { conversationId: other, messages: [user('m1')], answer: 'ma1' });
    await say(memory, {
      conversationId: other,
      messages: [user('m1'), assistant('ma1'), user('m2')],
      answer: '',
      status: 'failed',
    });
    const replaced = await say(memory, {
      conversationId: other,
      messages: [user('m1'), assistant('ma1'), user('m2 instead')],
      answer: 'ma2',
    });
    expect(await contents(store, replaced.conversationId)).toEqual(['m1', 'ma1', 'm2 instead', 'ma2']);
    expect(await contents(store, other)).toEqual(['m1', 'ma1', 'm2']);
    // Sending only the new message still goes on in the named conversation.
    const plain = await say(memory, { conversationId: other, messages: [user('m1')], answer: 'again' });
    expect(plain.conversationId).toBe(other);
  });

  it('places clients sending the same id-less history at once, refusing none and storing no message twice', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const clients = Array.from({ length: 5 }, () => ({ history: [] as ChatMessage[], ids: [] as string[] }));
    for (let turn = 1; turn <= 5; turn++)
      await Promise.all(
        clients.map(async (c) => {
          c.history.push(user(`same question ${turn}`));
          const t = await say(memory, { messages: [...c.history], answer: `same answer ${turn}` });
          c.history.push(assistant(`same answer ${turn}`));
          c.ids.push(t.conversationId);
        }),
      );
    const expected = clients[0].history.map((m) => m.content);
    for (const c of clients) {
      const transcript = await contents(store, c.ids.at(-1)!);
      expect(transcript).toEqual(expected);
    }
  });

  it('takes a turn resent at once after its client hung up as the retry it is, not as an edit', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const first = await say(memory, { messages: [user('hung q0')], answer: 'a0' });
    const again = [user('hung q0'), assistant('a0'), user('hung q1, slow')];
    // The first attempt's run is still winding down (its client hung up): its question is stored,
    // its cancellation not yet.
    const lock = await memory.lock({ messages: again });
    const turn = await memory.prepare({ lock, messages: again });
    const startedAt = new Date();
    await memory.begin({ turn, model: 'cortex-flow', runs: [{ runId: 'run_hung_1', choiceIndex: 0 }], startedAt });
    const retry = say(memory, { messages: again, answer: 'a1' });
    await new Promise((r) => setTimeout(r, 50));
    await memory.record(
      recordOf({
        conversationId: turn.conversationId,
        runId: 'run_hung_1',
        newMessages: turn.newMessages,
        answer: { role: 'assistant', content: 'a1 cut sh' },
        status: 'cancelled',
      }),
    );
    await lock.release();
    const retried = await retry;
    expect(retried.conversationId).toBe(first.conversationId);
    expect(await contents(store, first.conversationId)).toEqual(['hung q0', 'a0', 'hung q1, slow', 'a1']);
  });

  it('continues an id-less conversation paused for client tools with the tool results', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const ask = [user('weather in Oslo?')];
    const lock = await memory.lock({ messages: ask });
    const turn = await memory.prepare({ lock, messages: ask });
    const startedAt = new Date();
    await memory.begin({ turn, model: 'm', runs: [{ runId: 'run_paused_tools', choiceIndex: 0 }], startedAt });
    const call = { id: 'call_oslo', name: 'get_weather', arguments: '{"city":"Oslo"}' };
    await memory.record(
      recordOf({
        conversationId: turn.conversationId,
        runId: 'run_paused_tools',
        newMessages: turn.newMessages,
        answer: { role: 'assistant', content: '', toolCalls: [call] },
        status: 'tool_calls',
        startedAt,
      }),
    );
    await lock.release();
    // The client echoes the call (re-serialising its arguments) and adds the result.
    const resumed = await say(memory, {
      messages: [
        ...ask,
        { role: 'assistant', content: '', toolCalls: [{ ...call, arguments: '{ "city": "Oslo" }' }] },
        { role: 'tool', content: '3 C', toolCallId: 'call_oslo' },
      ],
      answer: 'It is 3 C in Oslo.',
    });
    expect(resumed.conversationId).toBe(turn.conversationId);
    expect(await contents(store, turn.conversationId)).toEqual(['weather in Oslo?', '', '3 C', 'It is 3 C in Oslo.']);
  });

  it('never shares a conversation between owners with identical histories', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const a = await chatWithoutIds(memory, 'same', 3, 'key_a');
    const b = await chatWithoutIds(memory, 'same', 3, 'key_b');
    expect(new Set(a.ids).size).toBe(1);
    expect(new Set(b.ids).size).toBe(1);
    expect(a.ids[0]).not.toBe(b.ids[0]);
    expect((await store.getConversation(a.ids[0], 'key_a'))!.messageCount).toBe(6);
    expect((await store.getConversation(b.ids[0], 'key_b'))!.messageCount).toBe(6);
  });

  it('never places a request without an id in a conversation a client named, failed or not', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const named = 'tenant-alice-1';
    const privateSystem: ChatMessage = { role: 'system', content: 'PRIVATE: alice account 9999' };
    await say(memory, {
      conversationId: named,
      messages: [privateSystem, user('hi')],
      answer: 'cut',
      status: 'cancelled',
    });
    // The same first message from someone else of the same key: not a retry of alice's turn.
    const other = await say(memory, { messages: [user('hi')], answer: 'Hello.' });
    expect(other.conversationId).not.toBe(named);
    expect(other.context.map((m) => m.content)).toEqual(['hi']);
    // Nor a continuation of alice's conversation once it completed.
    await say(memory, { conversationId: named, messages: [user('hi')], answer: 'Hello, Alice.' });
    const next = await say(memory, { messages: [user('hi'), assistant('Hello, Alice.'), user('more')], answer: 'ok' });
    expect(next.conversationId).not.toBe(named);
    expect(next.context.some((m) => m.content.includes('PRIVATE'))).toBe(false);
    expect(await contents(store, named)).toEqual(['hi', 'Hello, Alice.']);
  });

  it('replaces a failed turn on retry instead of storing the history again (named conversation)', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const id = 'conv_retry_named';
    await say(memory, { conversationId: id, messages: [user('r1')], answer: 'a1' });
    const full = [user('r1'), assistant('a1'), user('r2')];
    for (let i = 0; i < 3; i++)
      await say(memory, { conversationId: id, messages: full, answer: 'partial', status: 'failed' });
    expect(await contents(store, id)).toEqual(['r1', 'a1', 'r2', 'partial']);
    // A retry sending only the new message, and a cancelled attempt, replace it too; success ends it.
    await say(memory, { conversationId: id, messages: [user('r2')], answer: 'cut', status: 'cancelled' });
    expect(await contents(store, id)).toEqual(['r1', 'a1', 'r2', 'cut']);
    const ok = await say(memory, { conversationId: id, messages: full, answer: 'a2' });
    expect(await contents(store, id)).toEqual(['r1', 'a1', 'r2', 'a2']);
    expect(ok.context.map((m) => m.content)).toEqual(['r1', 'a1', 'r2']); // the partial never reached the agents
    const messages = await store.getMessages(id);
    expect(messages[2].runId).toBe(ok.runId);
    // The failed attempts stay as runs.
    const listed = await store.listRuns(id, '', { limit: 10 });
    expect(listed.data.map((r) => r.status)).toEqual([
      'completed',
      'cancelled',
      'failed',
      'failed',
      'failed',
      'completed',
    ]);
    // After a failure, a different message is a new turn, not a retry.
    await say(memory, { conversationId: id, messages: [user('r3')], answer: 'oops', status: 'failed' });
    await say(memory, { conversationId: id, messages: [user('something else')], answer: 'fine' });
    expect(await contents(store, id)).toEqual(['r1', 'a1', 'r2', 'a2', 'r3', 'oops', 'something else', 'fine']);
  });

  it('replaces a failed turn on retry without ids, first turn included', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const first = await say(memory, { messages: [user('only q')], answer: 'half', status: 'failed' });
    const again = await say(memory, { messages: [user('only q')], answer: 'whole' });
    expect(again.conversationId).toBe(first.conversationId);
    expect(await contents(store, first.conversationId)).toEqual(['only q', 'whole']);
    const history = [user('only q'), assistant('whole'), user('q2')];
    for (let i = 0; i < 3; i++) {
      const t = await say(memory, { messages: history, answer: 'part', status: 'failed' });
      expect(t.conversationId).toBe(first.conversationId);
    }
    await say(memory, { messages: history, answer: 'a2' });
    expect(await contents(store, first.conversationId)).toEqual(['only q', 'whole', 'q2', 'a2']);
  });

  it('bounds the wait for a busy conversation, and a cancelled wait leaves the queue', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const other = new StoredMemory(store, tokens, 10_000); // another replica on the same database
    const held = await memory.lock({ conversationId: 'conv_busy', messages: [user('x')] });
    await expect(
      memory.lock({ conversationId: 'conv_busy', messages: [user('y')] }, { waitMs: 50 }),
    ).rejects.toBeInstanceOf(ConversationBusyError);
    await expect(
      other.lock({ conversationId: 'conv_busy', messages: [user('y')] }, { waitMs: 50 }),
    ).rejects.toBeInstanceOf(ConversationBusyError);
    const client = new AbortController();
    const waiting = memory.lock({ conversationId: 'conv_busy', messages: [user('z')] }, { signal: client.signal });
    client.abort();
    await expect(waiting).rejects.toBeInstanceOf(LockWaitAbortedError);
    await held.release();
    await held.release(); // idempotent
    const next = await memory.lock({ conversationId: 'conv_busy', messages: [user('w')] }, { waitMs: 1000 });
    await next.release();
  });

  it('leaves a trace of a turn whose process died, marked interrupted at the next start', async () => {
    const doomed = await backend.open(); // closed below, as a killed process would leave it
    const memory = new StoredMemory(doomed, tokens, 10_000, { leaseMs: 150 });
    const lock = await memory.lock({ conversationId: 'conv_killed', messages: [user('are you there?')] });
    const turn = await memory.prepare({ lock, messages: [user('are you there?')] });
    await memory.begin({ turn, model: 'm', runs: [{ runId: 'run_killed', choiceIndex: 0 }], startedAt: new Date() });
    await doomed.close(); // no record, no release: the lease is left to expire
    await new Promise((r) => setTimeout(r, 300));

    const store = await open();
    expect(await store.getRun('run_killed', '')).toMatchObject({ status: 'running' });
    const restarted = new StoredMemory(store, tokens, 10_000);
    expect(await restarted.recoverInterruptedRuns()).toBeGreaterThanOrEqual(1);
    expect(await store.getRun('run_killed', '')).toMatchObject({ status: 'interrupted' });
    expect(await contents(store, 'conv_killed')).toEqual(['are you there?']);
    // Asking again is a retry of the interrupted turn, not a second copy of the question.
    await say(restarted, { conversationId: 'conv_killed', messages: [user('are you there?')], answer: 'yes' });
    expect(await contents(store, 'conv_killed')).toEqual(['are you there?', 'yes']);
    await lock.release(); // the dead replica's handle: harmless
  });

  it('retries an id-less turn interrupted by a restart in its conversation, found through the retry index', async () => {
    const doomed = await backend.open();
    // A lease long enough to be read back live on a loaded machine (150 ms was not, once in CI).
    const memory = new StoredMemory(doomed, tokens, 10_000, { leaseMs: 600 });
    const messages = [user('restart without ids?')];
    const lock = await memory.lock({ messages });
    const turn = await memory.prepare({ lock, messages });
    await memory.begin({
      turn,
      model: 'm',
      runs: [{ runId: 'run_idless_killed', choiceIndex: 0 }],
      startedAt: new Date(),
    });
    // A running run of a new conversation holds its lease: taken with the turn's first write.
    expect((await doomed.liveLeases()).map((l) => l.conversationId)).toContain(turn.conversationId);
    await doomed.close(); // killed: no record, no release
    await new Promise((r) => setTimeout(r, 900)); // past the lease

    const store = await open();
    const restarted = new StoredMemory(store, tokens, 10_000);
    await restarted.recoverInterruptedRuns();
    expect(await store.getRun('run_idless_killed', '')).toMatchObject({ status: 'interrupted' });
    const again = await say(restarted, { messages, answer: 'yes, once' });
    expect(again.conversationId).toBe(turn.conversationId);
    expect(await contents(store, turn.conversationId)).toEqual(['restart without ids?', 'yes, once']);
    await lock.release(); // the dead replica's handle: harmless
  });

  it('sweeps a run left running without a lease (its turn never stored) while the process runs', async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000, { leaseMs: 150 });
    await memory.recoverInterruptedRuns(); // the start-up sweep, then one every lease period
    try {
      await new Promise((r) => setTimeout(r, 1_300)); // past the first sweep after the start
      const messages = [user('stored at last?')];
      const lock = await memory.lock({ messages });
      const turn = await memory.prepare({ lock, messages });
      await memory.begin({
        turn,
        model: 'm',
        runs: [{ runId: 'run_never_stored', choiceIndex: 0 }],
        startedAt: new Date(),
      });
      await lock.release(); // its record failed for good: released, still `running`
      expect(await store.getRun('run_never_stored', '')).toMatchObject({ status: 'running' });
      await waitFor(
        async () => (await store.getRun('run_never_stored', ''))?.status === 'interrupted',
        3_000,
        'the sweep to mark the run interrupted',
      );
    } finally {
      memory.stopSweeping();
    }
  });

  it("frees a turn's lease with its record; a refused record keeps it", async () => {
    const store = await open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const leased = async () => (await store.liveLeases()).map((l) => l.conversationId);
    const first = await say(memory, { messages: [user('lease q1')], answer: 'lease a1' });
    expect(await leased()).not.toContain(first.conversationId);
    // A turn whose record fails keeps its lease until the lock is released.
    const messages = [user('lease q1'), assistant('lease a1'), user('lease q2')];
    const lock = await memory.lock({ messages });
    expect(lock.conversationId).toBe(first.conversationId);
    const turn = await memory.prepare({ lock, messages });
    await memory.begin({ turn, model: 'm', runs: [{ runId: 'run_lease_2', choiceIndex: 0 }], startedAt: new Date() });
    expect(await leased()).toContain(first.conversationId);
    const record = (owner: string) =>
      memory.record(
        recordOf({
          conversationId: turn.conversationId,
          owner,
          runId: 'run_lease_2',
          newMessages: turn.newMessages,
          answer: { role: 'assistant', content: 'lease a2' },
        }),
      );
    await expect(record('intruder')).rejects.toThrow(); // refused: the write (and the release in it) rolled back
    expect(await leased()).toContain(first.conversationId);
    await record('');
    expect(await leased()).not.toContain(first.conversationId);
    await lock.release();
    expect(await leased()).not.toContain(first.conversationId);
  });

  it('throws when a turn cannot be recorded', async () => {
    const store = await backend.open();
    const memory = new StoredMemory(store, tokens, 10_000);
    const lock = await memory.lock({ conversationId: 'conv_lost', messages: [user('q')] });
    const turn = await memory.prepare({ lock, messages: [user('q')] });
    await store.close();
    await expect(
      memory.record(
        recordOf({
          conversationId: turn.conversationId,
          runId: 'run_lost',
          newMessages: turn.newMessages,
          answer: { role: 'assistant', content: 'a' },
        }),
      ),
    ).rejects.toThrow();
    await lock.release();
  });
});

// Two replicas are two processes on one PostgreSQL database; two SQLite connections in one process
// would only block each other's event loop, so this one runs where replicas really are.
describe('conversation memory across PostgreSQL replicas', () => {
  const postgres = backends[1];
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => {});
    await postgres.dispose();
  });

  it('serialises turns of one conversation across replicas: the second sees the first', async () => {
    const [storeA, storeB] = [await postgres.open(), await postgres.open()];
    stores.push(storeA, storeB);
    const replicaA = new StoredMemory(storeA, tokens, 10_000);
    const replicaB = new StoredMemory(storeB, tokens, 10_000);
    const id = 'conv_replicas';
    const lockA = await replicaA.lock({ conversationId: id, messages: [user('from A')] });
    const turnA = await replicaA.prepare({ lock: lockA, messages: [user('from A')] });
    let bLocked = false;
    const turnB = (async () => {
      const lockB = await replicaB.lock({ conversationId: id, messages: [user('from B')] });
      bLocked = true;
      try {
        return await replicaB.prepare({ lock: lockB, messages: [user('from B')] });
      } finally {
        await lockB.release();
      }
    })();
    const startedAt = new Date();
    await replicaA.begin({ turn: turnA, model: 'm', runs: [{ runId: 'run_replica_a', choiceIndex: 0 }], startedAt });
    await new Promise((r) => setTimeout(r, 100)); // B is polling for the lease meanwhile
    expect(bLocked).toBe(false);
    await replicaA.record(
      recordOf({
        conversationId: id,
        runId: 'run_replica_a',
        newMessages: turnA.newMessages,
        answer: { role: 'assistant', content: 'A answered' },
        startedAt,
      }),
    );
    await lockA.release();
    expect((await turnB).context.map((m) => m.content)).toEqual(['from A', 'A answered', 'from B']);
  });

  it('retries on another replica a first turn whose client left there, waiting for its record instead of storing the question again', async () => {
    const [storeA, storeB] = [await postgres.open(), await postgres.open()];
    stores.push(storeA, storeB);
    const replicaA = new StoredMemory(storeA, tokens, 10_000);
    const replicaB = new StoredMemory(storeB, tokens, 10_000);
    const question = [user('left on replica A')];
    const lockA = await replicaA.lock({ messages: question });
    const turnA = await replicaA.prepare({ lock: lockA, messages: question });
    const startedAt = new Date();
    await replicaA.begin({ turn: turnA, model: 'm', runs: [{ runId: 'run_left_a', choiceIndex: 0 }], startedAt });
    // Its client hangs up: the run winds down on A (slowly: an engine between two steps).
    lockA.abandon?.();
    await waitFor(async () => (await storeB.retryableTurn('', question)) !== undefined, 5_000, 'the turn to be marked');
    // The SDK's retry lands on replica B meanwhile.
    let retried = false;
    const retry = say(replicaB, { messages: question, answer: 'answered on B' }).finally(() => (retried = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(retried).toBe(false); // waiting for A's turn to be recorded
    await replicaA.record(
      recordOf({
        conversationId: turnA.conversationId,
        runId: 'run_left_a',
        newMessages: turnA.newMessages,
        answer: null,
        status: 'cancelled',
        startedAt,
      }),
    );
    await lockA.release();
    expect((await retry).conversationId).toBe(turnA.conversationId);
    expect(await contents(storeB, turnA.conversationId)).toEqual(['left on replica A', 'answered on B']);
  });

  it('keeps a turn that lost its lease out of the conversation another replica took over, refusing its record', async () => {
    const [storeA, storeB] = [await postgres.open(), await postgres.open()];
    stores.push(storeA, storeB);
    const replicaA = new StoredMemory(storeA, tokens, 10_000, { leaseMs: 60_000 });
    const replicaB = new StoredMemory(storeB, tokens, 10_000);
    const id = 'conv_lease_lost';
    const lockA = await replicaA.lock({ conversationId: id, messages: [user('q1 on A')] });
    const turnA = await replicaA.prepare({ lock: lockA, messages: [user('q1 on A')] });
    const startedAt = new Date();
    await replicaA.begin({ turn: turnA, model: 'm', runs: [{ runId: 'run_stalled_a', choiceIndex: 0 }], startedAt });
    // A stalls past its lease (a long pause, the database out of reach): the lease ends unrenewed.
    const [held] = (await storeA.liveLeases()).filter((l) => l.conversationId === id);
    await storeA.renewLease(id, held.holder, -1_000);
    const b = await say(replicaB, { conversationId: id, messages: [user('q2 on B')], answer: 'a2 on B' });
    expect(b.context.map((m) => m.content)).toEqual(['q1 on A', 'q2 on B']);
    await expect(
      replicaA.record(
        recordOf({
          conversationId: id,
          runId: 'run_stalled_a',
          newMessages: turnA.newMessages,
          answer: { role: 'assistant', content: 'a1 on A, late' },
          startedAt,
        }),
      ),
    ).rejects.toThrow(TurnTakenOverError);
    await lockA.release();
    expect(await contents(storeB, id)).toEqual(['q1 on A', 'q2 on B', 'a2 on B']);
    expect((await storeB.getRun('run_stalled_a', ''))?.status).toBe('interrupted');
  });

  it('refuses a second key racing for the same new conversation id, before its run starts', async () => {
    const [storeA, storeB] = [await postgres.open(), await postgres.open()];
    stores.push(storeA, storeB);
    const replicaA = new StoredMemory(storeA, tokens, 10_000);
    const replicaB = new StoredMemory(storeB, tokens, 10_000);
    const id = 'conv_contested';
    const lockA = await replicaA.lock({ conversationId: id, owner: 'key_a', messages: [user('mine')] });
    const lockB = replicaB.lock({ conversationId: id, owner: 'key_b', messages: [user('no, mine')] });
    const turnA = await replicaA.prepare({ lock: lockA, owner: 'key_a', messages: [user('mine')] });
    await replicaA.begin({
      turn: turnA,
      owner: 'key_a',
      model: 'm',
      runs: [{ runId: 'run_contested', choiceIndex: 0 }],
      startedAt: new Date(),
    });
    await lockA.release();
    await expect(lockB).rejects.toBeInstanceOf(ConversationNotFoundError);
    expect(await storeB.getConversationOwner(id)).toBe('key_a');
  });
});
