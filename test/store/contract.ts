// One contract for every Store implementation; each backend's test file runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ChatMessage, RunCheckpoint } from '../../src/orchestrator/types.ts';
import type { NewTurn, RunRecord, Store, TurnStart } from '../../src/store/types.ts';
import { ForeignConversationError } from '../../src/store/types.ts';
import { responseIdOfRun } from '../../src/http/render/responses-object.ts';
import { newConversationId, newRunId } from '../../src/run/run-ids.ts';

/**
 * A conversation id as the server mints them, one per name: id-less requests find only those (a
 * conversation a client named has a hash chain of its own).
 */
const minted = new Map<string, string>();
const conv = (name: string): string => {
  if (!minted.has(name)) minted.set(name, newConversationId());
  return minted.get(name)!;
};

let seq = 0;
const run = (conversationId: string, owner = '', extra: Partial<RunRecord> = {}): RunRecord => ({
  id: `run_${++seq}_${Math.random().toString(36).slice(2)}`,
  conversationId,
  owner,
  model: 'cortex-flow',
  status: 'completed',
  error: null,
  agentsUsed: ['researcher', 'writer'],
  events: [{ type: 'run_started', runId: 'r', model: 'cortex-flow', at: 1 }],
  usage: { inputTokens: 12, outputTokens: 5, totalTokens: 17 },
  promptTokens: 20,
  completionTokens: 7,
  startedAt: new Date(Date.now() - 1500).toISOString(),
  finishedAt: new Date().toISOString(),
  ...extra,
});

const turn = (conversationId: string, texts: [string, string], opts: Partial<NewTurn> = {}): NewTurn => ({
  conversationId,
  owner: '',
  title: texts[0],
  messages: [
    { role: 'user', content: texts[0], tokenCount: 10 },
    { role: 'assistant', content: texts[1], tokenCount: 10 },
  ],
  run: run(conversationId, opts.owner ?? ''),
  ...opts,
});

export function storeContract(
  name: string,
  open: () => Promise<Store>,
  dispose: () => Promise<void> = async () => {},
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
      await dispose();
    });

    it('creates a conversation with its first turn and reads it back in order', async () => {
      await store.appendTurn(turn(conv('c-basic'), ['Hello', 'Hi there'], { systemPrompt: 'Be brief.' }));
      await store.appendTurn(
        turn(conv('c-basic'), ['How are you?', 'Fine.'], { title: 'ignored for an existing conversation' }),
      );
      const c = await store.getConversation(conv('c-basic'), '');
      expect(c).toMatchObject({ id: conv('c-basic'), title: 'Hello', systemPrompt: 'Be brief.', messageCount: 4 });
      const messages = await store.getMessages(conv('c-basic'));
      expect(messages.map((m) => [m.seq, m.role, m.content])).toEqual([
        [1, 'user', 'Hello'],
        [2, 'assistant', 'Hi there'],
        [3, 'user', 'How are you?'],
        [4, 'assistant', 'Fine.'],
      ]);
    });

    it('keeps tool calls, tool results, names and images', async () => {
      await store.appendTurn({
        conversationId: conv('c-tools'),
        owner: '',
        title: 't',
        messages: [
          { role: 'user', content: 'Weather?', name: 'bob', images: [{ url: 'https://x/y.png' }], tokenCount: 5 },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
            tokenCount: 5,
            runId: 'r1',
          },
          { role: 'tool', content: '3 C', toolCallId: 'call_1', tokenCount: 3 },
        ],
        run: run(conv('c-tools')),
      });
      const [u, a, t] = await store.getMessages(conv('c-tools'));
      expect(u).toMatchObject({ name: 'bob', images: [{ url: 'https://x/y.png' }] });
      expect(a).toMatchObject({
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
        runId: 'r1',
      });
      expect(t).toMatchObject({ role: 'tool', toolCallId: 'call_1' });
    });

    it('replaces the system prompt only when a turn brings a new one', async () => {
      await store.appendTurn(turn(conv('c-system'), ['a', 'b'], { systemPrompt: 'First.' }));
      await store.appendTurn(turn(conv('c-system'), ['c', 'd']));
      expect((await store.getConversation(conv('c-system'), ''))!.systemPrompt).toBe('First.');
      await store.appendTurn(turn(conv('c-system'), ['e', 'f'], { systemPrompt: 'Second.' }));
      expect((await store.getConversation(conv('c-system'), ''))!.systemPrompt).toBe('Second.');
    });

    it("finds where a run's turn ends in its conversation", async () => {
      // As the lifecycle stores them: each message names its run.
      const ran = (t: NewTurn): NewTurn => ({ ...t, messages: t.messages.map((m) => ({ ...m, runId: t.run.id })) });
      const first = ran(turn(conv('c-turn-end'), ['first q', 'first a']));
      const second = ran(turn(conv('c-turn-end'), ['second q', 'second a']));
      await store.appendTurn(first);
      await store.appendTurn(second);
      expect(await store.turnEndOf(conv('c-turn-end'), first.run.id)).toBe(2);
      expect(await store.turnEndOf(conv('c-turn-end'), second.run.id)).toBe(4);
      expect(await store.turnEndOf(conv('c-turn-end'), 'run_unknown')).toBeUndefined();
    });

    it('reads the tail and a token window from the end', async () => {
      for (let i = 0; i < 50; i++) await store.appendTurn(turn(conv('c-long'), [`q${i}`, `a${i}`]));
      expect((await store.tailMessages(conv('c-long'), 3)).map((m) => m.content)).toEqual(['a48', 'q49', 'a49']);
      const window = await store.recentMessages(conv('c-long'), 45); // 10 tokens each: 5 messages reach 45
      expect(window.map((m) => m.content)).toEqual(['q47', 'a47', 'q48', 'a48', 'q49', 'a49'].slice(1));
      expect((await store.recentMessages(conv('c-long'), 10_000)).length).toBe(100);
    });

    it('stores runs with their trace, scoped to their owner', async () => {
      const r = run(conv('c-run'), 'key_a', { status: 'failed', error: 'upstream said no' });
      await store.appendTurn({ ...turn(conv('c-run'), ['x', 'y'], { owner: 'key_a' }), run: r });
      const back = await store.getRun(r.id, 'key_a');
      expect(back).toMatchObject({
        id: r.id,
        conversationId: conv('c-run'),
        status: 'failed',
        error: 'upstream said no',
        agentsUsed: ['researcher', 'writer'],
        usage: r.usage,
        promptTokens: 20,
      });
      expect(back!.events).toEqual(r.events);
      expect(await store.getRun(r.id, 'key_b')).toBeUndefined();
    });

    it("never shows or extends another owner's conversation", async () => {
      await store.appendTurn(turn(conv('c-owned'), ['mine', 'ok'], { owner: 'key_a' }));
      expect(await store.getConversation(conv('c-owned'), 'key_b')).toBeUndefined();
      expect(await store.getConversationOwner(conv('c-owned'))).toBe('key_a');
      await expect(
        store.appendTurn(turn(conv('c-owned'), ['theirs', 'no'], { owner: 'key_b' })),
      ).rejects.toBeInstanceOf(ForeignConversationError);
      expect(await store.deleteConversation(conv('c-owned'), 'key_b')).toBe(false);
      expect((await store.getMessages(conv('c-owned'))).length).toBe(2);
    });

    it('lists conversations page by page, newest first by default', async () => {
      for (let i = 0; i < 5; i++) {
        await store.appendTurn(turn(conv(`c-list-${i}`), [`list ${i}`, 'ok'], { owner: 'lister' }));
        await new Promise((r) => setTimeout(r, 3)); // distinct creation times
      }
      const first = await store.listConversations('lister', { limit: 2, order: 'desc' });
      expect(first.data.map((c) => c.id)).toEqual([conv('c-list-4'), conv('c-list-3')]);
      expect(first.hasMore).toBe(true);
      const second = await store.listConversations('lister', { limit: 2, order: 'desc', after: conv('c-list-3') });
      expect(second.data.map((c) => c.id)).toEqual([conv('c-list-2'), conv('c-list-1')]);
      const last = await store.listConversations('lister', { limit: 2, order: 'desc', after: conv('c-list-1') });
      expect(last).toEqual({ data: [expect.objectContaining({ id: conv('c-list-0') })], hasMore: false });
      const asc = await store.listConversations('lister', { limit: 10, order: 'asc' });
      expect(asc.data.map((c) => c.id)).toEqual([
        conv('c-list-0'),
        conv('c-list-1'),
        conv('c-list-2'),
        conv('c-list-3'),
        conv('c-list-4'),
      ]);
    });

    it('deletes a conversation with its messages and runs', async () => {
      const t = turn(conv('c-delete'), ['bye', 'ok']);
      await store.appendTurn(t);
      expect(await store.deleteConversation(conv('c-delete'), '')).toBe(true);
      expect(await store.getConversation(conv('c-delete'), '')).toBeUndefined();
      expect(await store.getMessages(conv('c-delete'))).toEqual([]);
      expect(await store.getRun(t.run.id, '')).toBeUndefined();
      expect(await store.deleteConversation(conv('c-delete'), '')).toBe(false);
    });

    it('never interleaves concurrent turns of one conversation', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.appendTurn(turn(conv('c-race'), [`q${i}`, `a${i}`]))),
      );
      const messages = await store.getMessages(conv('c-race'));
      expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (let i = 0; i < 40; i += 2) expect(messages[i + 1].content).toBe(messages[i].content.replace('q', 'a'));
    });

    it('keeps API keys hashed, finds active ones, revokes by id or name', async () => {
      const k = await store.createApiKey({ id: 'key_1', name: 'ci', hash: 'h1' });
      expect(k).toMatchObject({ id: 'key_1', name: 'ci', revokedAt: null });
      expect(await store.findApiKey('h1')).toBe('key_1');
      expect(await store.countActiveApiKeys()).toBe(1);
      expect(await store.revokeApiKey('ci')).toBe(true);
      expect(await store.findApiKey('h1')).toBeUndefined();
      expect(await store.countActiveApiKeys()).toBe(0);
      expect((await store.listApiKeys())[0].revokedAt).not.toBeNull();
    });

    it('revokes by id only that key, and by name only the one active key of that name', async () => {
      await store.createApiKey({ id: 'key_a', name: 'bot', hash: 'ha' });
      // Another key given key_a's id as its name: revoking key_a by its id leaves it alone.
      await store.createApiKey({ id: 'key_b', name: 'key_a', hash: 'hb' });
      expect(await store.revokeApiKey('key_a')).toBe(true);
      expect(await store.findApiKey('ha')).toBeUndefined();
      expect(await store.findApiKey('hb')).toBe('key_b');
      // key_a is revoked already: its id names no active key, not key_b.
      expect(await store.revokeApiKey('key_a')).toBe(false);
      expect(await store.findApiKey('hb')).toBe('key_b');
      // A name two active keys share revokes neither.
      await store.createApiKey({ id: 'key_c', name: 'twin', hash: 'hc' });
      await store.createApiKey({ id: 'key_d', name: 'twin', hash: 'hd' });
      expect(await store.revokeApiKey('twin')).toBe(false);
      expect([await store.findApiKey('hc'), await store.findApiKey('hd')]).toEqual(['key_c', 'key_d']);
      expect(await store.revokeApiKey('key_c')).toBe(true);
      expect(await store.revokeApiKey('twin')).toBe(true); // now one active key has the name
      expect(await store.findApiKey('hd')).toBeUndefined();
    });

    it('counts rate-limit windows atomically', async () => {
      const start = 60_000 * 1000;
      await Promise.all(Array.from({ length: 10 }, () => store.addToWindow('b', start, { requests: 1, tokens: 5 })));
      expect(await store.addToWindow('b', start, { requests: 0, tokens: 0 })).toEqual({ requests: 10, tokens: 50 });
      expect(await store.addToWindow('b', start + 60_000, { requests: 1, tokens: 1 })).toEqual({
        requests: 1,
        tokens: 1,
      });
    });

    it('finds how deep a history is stored, per owner, in any conversation holding it', async () => {
      const history: ChatMessage[] = [
        { role: 'user', content: 'chain q1' },
        { role: 'assistant', content: 'chain a1' },
        { role: 'user', content: 'chain q2' },
        { role: 'assistant', content: 'chain a2' },
      ];
      await store.appendTurn(turn(conv('c-chain'), ['chain q1', 'chain a1'], { owner: 'k1' }));
      await store.appendTurn(turn(conv('c-chain'), ['chain q2', 'chain a2'], { owner: 'k1' }));
      const full = await store.matchHistory('k1', history);
      expect(full).toMatchObject({ depth: 4, conversations: [{ id: conv('c-chain'), messageCount: 4 }] });
      // Whitespace at the ends does not matter; a changed message ends the match there.
      const edited = [
        history[0],
        { ...history[1], content: ' chain a1\n' },
        { role: 'user' as const, content: 'other' },
      ];
      expect((await store.matchHistory('k1', edited)).depth).toBe(2);
      expect(await store.matchHistory('k2', history)).toEqual({ depth: 0, conversations: [] });
      expect((await store.matchHistory('k1', [{ role: 'user', content: 'chain a1' }])).depth).toBe(0);
    });

    it("sums an owner's recent runs for the console's overview: runs, errors, tokens by agent, duration percentiles", async () => {
      const usage = (agent: string, inputTokens: number, outputTokens: number) => ({
        type: 'usage' as const,
        usage: { agent, model: 'm', inputTokens, outputTokens },
        at: 1,
      });
      const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
      const since = ago(60_000);
      const runs = [
        run(conv('c-stats'), 'k-stats', {
          startedAt: ago(3000),
          finishedAt: ago(2000),
          events: [usage('supervisor', 10, 2)],
        }),
        run(conv('c-stats'), 'k-stats', {
          startedAt: ago(5000),
          finishedAt: ago(1000),
          events: [usage('supervisor', 5, 1), usage('writer', 7, 30)],
        }),
        run(conv('c-stats'), 'k-stats', {
          status: 'failed',
          error: 'upstream',
          startedAt: ago(1000),
          finishedAt: ago(500),
        }),
        // Outside the window, or another owner's: not counted.
        run(conv('c-stats'), 'k-stats', {
          startedAt: ago(120_000),
          finishedAt: ago(119_000),
          events: [usage('writer', 99, 99)],
        }),
        run(conv('c-stats-other'), 'k-other', { startedAt: ago(1000), events: [usage('writer', 99, 99)] }),
      ];
      for (const r of runs)
        await store.appendTurn({ ...turn(r.conversationId, ['q', 'a'], { owner: r.owner }), run: r });

      const stats = await store.runStats('k-stats', since);
      expect(stats).toMatchObject({ since, runs: 3, errors: 1, byStatus: { completed: 2, failed: 1 } });
      expect(stats.tokensByAgent).toEqual({
        supervisor: { inputTokens: 15, outputTokens: 3 },
        writer: { inputTokens: 7, outputTokens: 30 },
      });
      // Durations 0.5 s, 1 s, 4 s: the median and the 95th percentile (nearest rank).
      expect(stats.latency.p50).toBeCloseTo(1, 1);
      expect(stats.latency.p95).toBeCloseTo(4, 1);
      expect((await store.runStats('k-nobody', since)).runs).toBe(0);
    });

    it('continues the newest of hundreds of conversations that began with the same message', async () => {
      for (let i = 0; i < 300; i++)
        await store.appendTurn(turn(conv(`c-many-${i}`), ['hello many', 'hi'], { owner: 'k-many' }));
      await new Promise((r) => setTimeout(r, 5)); // strictly later than every other
      await store.appendTurn(turn(conv('c-many-newest'), ['hello many', 'hi'], { owner: 'k-many' }));
      const match = await store.matchHistory('k-many', [
        { role: 'user', content: 'hello many' },
        { role: 'assistant', content: 'hi' },
      ]);
      expect(match.depth).toBe(2);
      expect(match.conversations[0].id).toBe(conv('c-many-newest'));
      expect(match.conversations.length).toBeLessThanOrEqual(16);
    });

    it('writes a turn when it starts (running) and completes it at the end', async () => {
      const start: TurnStart = {
        conversationId: conv('c-begin'),
        owner: 'k1',
        title: 'begin',
        systemPrompt: 'Sys.',
        messages: [{ role: 'user', content: 'question', tokenCount: 4 }],
        runs: [
          { id: 'run-begin-0', model: 'cortex-flow', startedAt: new Date().toISOString() },
          { id: 'run-begin-1', model: 'cortex-flow', startedAt: new Date().toISOString() },
        ],
      };
      await store.beginTurn(start);
      expect((await store.getMessages(conv('c-begin'))).map((m) => [m.role, m.content, m.runId])).toEqual([
        ['user', 'question', 'run-begin-0'],
      ]);
      expect(await store.getRun('run-begin-0', 'k1')).toMatchObject({ status: 'running', finishedAt: null });
      expect(await store.getRun('run-begin-1', 'k1')).toMatchObject({ status: 'running' });
      await store.finishTurn({
        conversationId: conv('c-begin'),
        owner: 'k1',
        title: 'begin',
        messages: [{ role: 'user', content: 'question', tokenCount: 4 }], // already written: not again
        answer: { role: 'assistant', content: 'answer', tokenCount: 4 },
        run: run(conv('c-begin'), 'k1', { id: 'run-begin-0' }),
      });
      expect((await store.getMessages(conv('c-begin'))).map((m) => [m.role, m.runId])).toEqual([
        ['user', 'run-begin-0'],
        ['assistant', 'run-begin-0'],
      ]);
      expect(await store.getRun('run-begin-0', 'k1')).toMatchObject({
        status: 'completed',
        agentsUsed: ['researcher', 'writer'],
      });
      expect(await store.getConversation(conv('c-begin'), 'k1')).toMatchObject({
        messageCount: 2,
        systemPrompt: 'Sys.',
      });
    });

    it("ends where its last message is, whichever choice ends last; another owner's turn is refused", async () => {
      const q: ChatMessage = { role: 'user', content: 'choices q' };
      const a: ChatMessage = { role: 'assistant', content: 'choices a' };
      const started = new Date().toISOString();
      const begin = (owner: string, runIds: string[]) =>
        store.beginTurn({
          conversationId: conv('c-choices'),
          owner,
          title: 't',
          messages: [{ ...q, tokenCount: 1 }],
          runs: runIds.map((id) => ({ id, model: 'm', startedAt: started })),
        });
      const finish = (owner: string, runId: string, answer: ChatMessage | null) =>
        store.finishTurn({
          conversationId: conv('c-choices'),
          owner,
          title: 't',
          messages: [],
          answer: answer && { ...answer, tokenCount: 1 },
          run: run(conv('c-choices'), owner, { id: runId }),
        });
      await begin('k-choices', ['run-choices-0', 'run-choices-1']);
      await expect(begin('k-other', ['run-choices-other'])).rejects.toBeInstanceOf(ForeignConversationError);
      await finish('k-choices', 'run-choices-0', a);
      const ends = [{ id: conv('c-choices'), messageCount: 2 }];
      expect(await store.conversationsEndingWith('k-choices', [q, a])).toMatchObject(ends);
      await expect(finish('k-other', 'run-choices-1', null)).rejects.toBeInstanceOf(ForeignConversationError);
      await finish('k-choices', 'run-choices-1', null); // a second choice stores no answer
      expect(await store.conversationsEndingWith('k-choices', [q, a])).toMatchObject(ends);
      expect(await store.getConversation(conv('c-choices'), 'k-choices')).toMatchObject({ messageCount: 2 });
      expect(await store.getRun('run-choices-1', 'k-choices')).toMatchObject({ status: 'completed' });
    });

    it('branches by copying a prefix, and a retry supersedes the failed partial answer', async () => {
      for (let i = 1; i <= 3; i++)
        await store.appendTurn(turn(conv('c-trunk'), [`t q${i}`, `t a${i}`], { owner: 'k1' }));
      const now = new Date().toISOString();
      await store.beginTurn({
        conversationId: conv('c-branch'),
        owner: 'k1',
        title: 'b',
        branchFrom: { conversationId: conv('c-trunk'), depth: 2 },
        messages: [{ role: 'user', content: 't q2 edited', tokenCount: 3 }],
        runs: [{ id: 'run-branch', model: 'm', startedAt: now }],
      });
      expect((await store.getMessages(conv('c-branch'))).map((m) => m.content)).toEqual([
        't q1',
        't a1',
        't q2 edited',
      ]);
      expect((await store.getMessages(conv('c-trunk'))).length).toBe(6);
      const branched = await store.matchHistory('k1', [
        { role: 'user', content: 't q1' },
        { role: 'assistant', content: 't a1' },
        { role: 'user', content: 't q2 edited' },
      ]);
      expect(branched.conversations.map((c) => c.id)).toEqual([conv('c-branch')]);
      await expect(
        store.beginTurn({
          conversationId: conv('c-steal'),
          owner: 'k2',
          title: 'x',
          branchFrom: { conversationId: conv('c-trunk'), depth: 2 },
          messages: [],
          runs: [{ id: 'run-steal', model: 'm', startedAt: now }],
        }),
      ).rejects.toBeInstanceOf(ForeignConversationError);

      // The branch's turn fails with a partial answer; the retry replaces it.
      await store.finishTurn({
        conversationId: conv('c-branch'),
        owner: 'k1',
        title: 'b',
        messages: [],
        answer: { role: 'assistant', content: 'partial', tokenCount: 2 },
        run: run(conv('c-branch'), 'k1', { id: 'run-branch', status: 'failed', error: 'boom' }),
      });
      await store.beginTurn({
        conversationId: conv('c-branch'),
        owner: 'k1',
        title: 'b',
        supersedes: 'run-branch',
        messages: [],
        runs: [{ id: 'run-branch-2', model: 'm', startedAt: now }],
      });
      expect((await store.getMessages(conv('c-branch'))).map((m) => [m.content, m.runId])).toEqual([
        ['t q1', null],
        ['t a1', null],
        ['t q2 edited', 'run-branch-2'],
      ]);
      expect(await store.getRun('run-branch', 'k1')).toMatchObject({ status: 'failed', error: 'boom' });
    });

    it('stores a trace with text deltas folded and the answer once, and reads it back whole', async () => {
      const answer = 'word '.repeat(2000).trim();
      const deltas = answer.match(/.{1,4}/gs)!.map((text, i) => ({ type: 'text_delta' as const, text, at: 1000 + i }));
      const events: RunEvent[] = [
        { type: 'run_started', runId: 'r', model: 'cortex-flow', at: 1 },
        { type: 'agent_started', agent: 'writer', callId: 'w1', task: 'write', at: 2 },
        { type: 'progress', agent: 'writer', text: 'writing', at: 3 },
        ...deltas.slice(0, 10),
        { type: 'tool_call', agent: 'writer', toolCallId: 't1', toolName: 'calc', input: { x: 1 }, at: 4 },
        { type: 'tool_result', agent: 'writer', toolCallId: 't1', toolName: 'calc', output: 2, isError: false, at: 5 },
        ...deltas.slice(10),
        { type: 'agent_finished', agent: 'writer', callId: 'w1', ok: true, output: answer, at: 6 },
        { type: 'usage', usage: { agent: 'writer', model: 'm', inputTokens: 5, outputTokens: 7 }, at: 7 },
        {
          type: 'run_finished',
          finishReason: 'stop',
          text: answer,
          agentsUsed: ['writer'],
          iterations: 1,
          sources: [],
          at: 8,
        },
      ];
      const r = run(conv('c-trace'), '', { events });
      await store.appendTurn({ ...turn(conv('c-trace'), ['q', answer]), run: r });
      const back = (await store.getRun(r.id, ''))!.events;
      expect(back.map((e) => e.type)).toEqual([
        'run_started',
        'agent_started',
        'progress',
        'text_delta',
        'tool_call',
        'tool_result',
        'text_delta',
        'agent_finished',
        'usage',
        'run_finished',
      ]);
      expect(back[3]).toEqual({
        type: 'text_delta',
        text: deltas
          .slice(0, 10)
          .map((d) => d.text)
          .join(''),
        at: 1000,
      });
      expect(back[6]).toMatchObject({ type: 'text_delta', at: 1010 });
      expect(
        back
          .filter((e) => e.type === 'text_delta')
          .map((e) => e.text)
          .join(''),
      ).toBe(answer);
      expect(back.at(-1)).toMatchObject({ type: 'run_finished', text: answer });
      expect(back[7]).toMatchObject({ type: 'agent_finished', output: answer });
    });

    it('keeps a paused run checkpoint under each pending tool-call id, for its owner only', async () => {
      await store.appendTurn(turn(conv('c-paused'), ['call tools', ''], { owner: 'k1' }));
      const checkpoint: RunCheckpoint = {
        schemaVersion: 1,
        runId: 'run-paused',
        model: 'cortex-flow',
        pendingToolCallIds: ['call_a', 'call_b'],
        state: { findings: ['x'], round: 2 },
      };
      await store.saveCheckpoint('k1', conv('c-paused'), checkpoint);
      expect(await store.findCheckpoint('k1', ['call_b'])).toMatchObject({
        conversationId: conv('c-paused'),
        checkpoint,
      });
      expect(await store.findCheckpoint('k1', ['nope', 'call_a'])).toMatchObject({ checkpoint });
      expect(await store.findCheckpoint('k2', ['call_a', 'call_b'])).toBeUndefined();
      expect(await store.findCheckpoint('k1', [])).toBeUndefined();
      expect(await store.deleteCheckpoint('k2', 'run-paused')).toBe(false);
      expect(await store.deleteCheckpoint('k1', 'run-paused')).toBe(true);
      expect(await store.findCheckpoint('k1', ['call_a'])).toBeUndefined();
      expect(await store.deleteCheckpoint('k1', 'run-paused')).toBe(false); // consumed once
    });

    it("lists a conversation's runs newest first, page by page, for its owner", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = run(conv('c-runs'), 'k1', { startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });
        ids.push(r.id);
        await store.appendTurn({ ...turn(conv('c-runs'), [`r${i}`, 'ok'], { owner: 'k1' }), run: r });
      }
      const first = await store.listRuns(conv('c-runs'), 'k1', { limit: 2 });
      expect(first.data.map((r) => r.id)).toEqual([ids[4], ids[3]]);
      expect(first.hasMore).toBe(true);
      const second = await store.listRuns(conv('c-runs'), 'k1', { limit: 2, after: ids[3] });
      expect(second.data.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      expect(await store.listRuns(conv('c-runs'), 'k1', { limit: 2, after: ids[1] })).toMatchObject({
        data: [{ id: ids[0] }],
        hasMore: false,
      });
      expect((await store.listRuns(conv('c-runs'), 'k1', { limit: 10, order: 'asc' })).data.map((r) => r.id)).toEqual(
        ids,
      );
      expect(await store.listRuns(conv('c-runs'), 'k2', { limit: 10 })).toEqual({ data: [], hasMore: false });
    });

    it('leases a conversation to one holder; a lease taken over marks runs left running as interrupted', async () => {
      expect(await store.acquireLease(conv('c-lease'), 'h1', 60_000)).toBe(true);
      expect(await store.acquireLease(conv('c-lease'), 'h2', 60_000)).toBe(false);
      expect(await store.renewLease(conv('c-lease'), 'h1', 60_000)).toBe(true);
      expect(await store.renewLease(conv('c-lease'), 'h2', 60_000)).toBe(false);
      await store.releaseLease(conv('c-lease'), 'h2'); // not theirs: nothing happens
      expect(await store.acquireLease(conv('c-lease'), 'h2', 60_000)).toBe(false);
      await store.releaseLease(conv('c-lease'), 'h1');
      expect(await store.acquireLease(conv('c-lease'), 'h2', 60_000)).toBe(true);
      await store.releaseLease(conv('c-lease'), 'h2');

      // A holder that dies leaves its run `running` and its lease to expire.
      expect(await store.acquireLease(conv('c-dead'), 'dead', 1)).toBe(true);
      await store.beginTurn({
        conversationId: conv('c-dead'),
        owner: '',
        title: 'd',
        messages: [{ role: 'user', content: 'still there?', tokenCount: 3 }],
        runs: [{ id: 'run-dead', model: 'm', startedAt: new Date().toISOString() }],
      });
      await new Promise((r) => setTimeout(r, 5));
      expect(await store.acquireLease(conv('c-dead'), 'next', 60_000)).toBe(true);
      expect(await store.getRun('run-dead', '')).toMatchObject({ status: 'interrupted' });
      expect((await store.getRun('run-dead', ''))!.finishedAt).not.toBeNull();
      await store.releaseLease(conv('c-dead'), 'next');
    });

    it('marks running runs without a live lease as interrupted (a restart), leaving leased ones alone', async () => {
      const begin = (conversationId: string, id: string) =>
        store.beginTurn({
          conversationId,
          owner: '',
          title: 'r',
          messages: [{ role: 'user', content: 'q', tokenCount: 1 }],
          runs: [{ id, model: 'm', startedAt: new Date().toISOString() }],
        });
      await begin(conv('c-orphan'), 'run-orphan');
      expect(await store.acquireLease(conv('c-live'), 'alive', 60_000)).toBe(true);
      await begin(conv('c-live'), 'run-live');
      expect(await store.interruptOrphanedRuns()).toBeGreaterThanOrEqual(1);
      expect(await store.getRun('run-orphan', '')).toMatchObject({ status: 'interrupted' });
      expect(await store.getRun('run-live', '')).toMatchObject({ status: 'running' });
      expect((await store.getMessages(conv('c-orphan'))).map((m) => m.content)).toEqual(['q']); // the turn left a trace
      await store.releaseLease(conv('c-live'), 'alive');
    });

    it("keeps a running run's progress, which an interruption leaves in place; an ended run's is not touched", async () => {
      await store.beginTurn({
        conversationId: conv('c-progress'),
        owner: 'alice',
        title: 'p',
        messages: [{ role: 'user', content: 'long one', tokenCount: 2 }],
        runs: [{ id: 'run-progress', model: 'm', startedAt: new Date().toISOString() }],
      });
      const at = Date.now();
      const progress = {
        runId: 'run-progress',
        owner: 'alice',
        events: [
          { type: 'agent_started' as const, agent: 'researcher', callId: 'a1', task: 'dig', at },
          { type: 'agent_finished' as const, agent: 'researcher', callId: 'a1', ok: true, output: 'found', at },
        ],
        agentsUsed: ['researcher'],
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      };
      await store.saveRunProgress({ ...progress, owner: 'mallory' }); // another key's run: nothing
      expect((await store.getRun('run-progress', 'alice'))!.events).toEqual([]);
      await store.saveRunProgress(progress);
      expect(await store.getRun('run-progress', 'alice')).toMatchObject({
        status: 'running',
        agentsUsed: ['researcher'],
        events: progress.events,
      });
      expect(await store.interruptOrphanedRuns()).toBeGreaterThanOrEqual(1); // killed: no lease left
      const interrupted = await store.getRun('run-progress', 'alice');
      expect(interrupted).toMatchObject({ status: 'interrupted', agentsUsed: ['researcher'], events: progress.events });
      await store.saveRunProgress({ ...progress, agentsUsed: ['late'] }); // ended: not overwritten
      expect((await store.getRun('run-progress', 'alice'))!.agentsUsed).toEqual(['researcher']);
    });

    it('stores NUL characters in every text field, read back as U+FFFD', async () => {
      const nul = 'a\u0000b';
      await store.appendTurn({
        conversationId: conv('c-nul'),
        owner: '',
        title: nul,
        systemPrompt: nul,
        messages: [
          { role: 'user', content: nul, name: nul, tokenCount: 3 },
          { role: 'assistant', content: nul, toolCalls: [{ id: 'c', name: 'f', arguments: nul }], tokenCount: 3 },
          { role: 'tool', content: nul, toolCallId: nul, tokenCount: 3 },
        ],
        run: run(conv('c-nul'), '', {
          error: nul,
          events: [{ type: 'text_delta', text: nul, at: 1 }],
        }),
      });
      const c = await store.getConversation(conv('c-nul'), '');
      expect(c).toMatchObject({ title: 'a\uFFFDb', systemPrompt: 'a\uFFFDb' });
      const [u, a, t] = await store.getMessages(conv('c-nul'));
      expect(u).toMatchObject({ content: 'a\uFFFDb', name: 'a\uFFFDb' });
      expect(a.toolCalls![0].arguments).toBe(nul); // JSON text keeps it escaped
      expect(t).toMatchObject({ content: 'a\uFFFDb', toolCallId: 'a\uFFFDb' });
      // The history as the client sends it back (with NUL) still matches what was stored.
      expect(
        (
          await store.matchHistory('', [
            { role: 'user', content: nul },
            { role: 'assistant', content: nul, toolCalls: [{ id: 'c', name: 'f', arguments: nul }] },
          ])
        ).depth,
      ).toBe(2);
    });

    it("stores a response with its run's end in one write, for its owner only; forgets it, or its conversation's", async () => {
      const finishWithResponse = async (conversationId: string, runId: string, responseId: string) => {
        await store.beginTurn({
          conversationId,
          owner: 'k2',
          title: 'q',
          messages: [{ role: 'user', content: 'q', tokenCount: 1 }],
          runs: [{ id: runId, model: 'cortex-flow', startedAt: new Date().toISOString() }],
        });
        const response = {
          id: responseId,
          owner: 'k2',
          conversationId,
          runId,
          status: 'completed',
          body: JSON.stringify({ id: responseId, object: 'response', status: 'completed', output: [] }),
          inputItems: JSON.stringify([
            { type: 'message', id: 'msg_1', role: 'user', content: [{ type: 'input_text', text: 'q' }] },
          ]),
          createdAt: new Date().toISOString(),
        };
        await store.finishTurn({
          conversationId,
          owner: 'k2',
          title: 'q',
          messages: [],
          answer: { role: 'assistant', content: 'a', tokenCount: 1 },
          run: run(conversationId, 'k2', { id: runId }),
          response,
        });
        return response;
      };
      // A response's id is its run's: the store finds a conversation's responses through its runs.
      const [run1, run2, run3] = [newRunId(), newRunId(), newRunId()];
      const [resp1, resp2, resp3] = [run1, run2, run3].map(responseIdOfRun);
      const response = await finishWithResponse(conv('c-with-response'), run1, resp1);
      expect(await store.getResponse(resp1, 'k2')).toEqual(response);
      expect((await store.getRun(run1, 'k2'))?.status).toBe('completed');
      // Another owner neither sees it nor deletes it.
      expect(await store.getResponse(resp1, 'intruder')).toBeUndefined();
      expect(await store.deleteResponse(resp1, 'intruder')).toBe(false);
      expect(await store.deleteResponse(resp1, 'k2')).toBe(true);
      expect(await store.getResponse(resp1, 'k2')).toBeUndefined();
      expect(await store.deleteResponse(resp1, 'k2')).toBe(false);
      // Deleting a conversation deletes its responses, those with their run's id and those stored before
      // ids were (version 6: an id of its own), and no other conversation's.
      await finishWithResponse(conv('c-with-response'), run2, resp2);
      await finishWithResponse(conv('c-with-response'), newRunId(), 'resp_stored_before_version_8');
      await finishWithResponse(conv('c-other'), run3, resp3);
      await store.deleteConversation(conv('c-with-response'), 'k2');
      expect(await store.getResponse(resp2, 'k2')).toBeUndefined();
      expect(await store.getResponse('resp_stored_before_version_8', 'k2')).toBeUndefined();
      expect((await store.getResponse(resp3, 'k2'))?.conversationId).toBe(conv('c-other'));
    });

    it('finds a conversation by where it ends, and a retryable last turn by the turn it resends', async () => {
      const q = (content: string): ChatMessage => ({ role: 'user', content });
      const a = (content: string): ChatMessage => ({ role: 'assistant', content });
      await store.appendTurn(turn(conv('c-head'), ['head q1', 'head a1'], { owner: 'k-head' }));
      expect(await store.conversationsEndingWith('k-head', [q('head q1'), a('head a1')])).toMatchObject([
        { id: conv('c-head'), messageCount: 2 },
      ]);
      expect(await store.conversationsEndingWith('k-head', [q('head q1')])).toEqual([]); // holds it, does not end there
      expect(await store.conversationsEndingWith('k-other', [q('head q1'), a('head a1')])).toEqual([]);

      // A turn that fails after a partial answer is found by its question (the history before it matches too).
      const begin = (conversationId: string, runId: string, content: string, extra: Partial<TurnStart> = {}) =>
        store.beginTurn({
          conversationId,
          owner: 'k-head',
          title: 't',
          messages: [{ role: 'user', content, tokenCount: 1 }],
          runs: [{ id: runId, model: 'm', startedAt: new Date().toISOString() }],
          ...extra,
        });
      await begin(conv('c-head'), 'run-head-2', 'head q2');
      await store.finishTurn({
        conversationId: conv('c-head'),
        owner: 'k-head',
        title: 't',
        messages: [],
        answer: { role: 'assistant', content: 'half', tokenCount: 1 },
        run: run(conv('c-head'), 'k-head', { id: 'run-head-2', status: 'failed', error: 'boom' }),
      });
      const history = [q('head q1'), a('head a1'), q('head q2')];
      expect(await store.retryableTurn('k-head', history)).toMatchObject({
        conversationId: conv('c-head'),
        runId: 'run-head-2',
        depth: 2,
      });
      expect(await store.retryableTurn('k-other', history)).toBeUndefined();
      expect(await store.retryableTurn('k-head', [q('head q1'), a('head a1'), q('head q3')])).toBeUndefined();
      // The retry begins: the turn is no longer retryable.
      await begin(conv('c-head'), 'run-head-3', 'unused', { messages: [], supersedes: 'run-head-2' });
      expect(await store.retryableTurn('k-head', history)).toBeUndefined();

      // A turn interrupted by a lease taken over is retryable too.
      expect(await store.acquireLease(conv('c-taken'), 'dead', 1)).toBe(true);
      await begin(conv('c-taken'), 'run-taken', 'taken q');
      await new Promise((r) => setTimeout(r, 5));
      expect(await store.acquireLease(conv('c-taken'), 'next', 60_000)).toBe(true);
      expect(await store.retryableTurn('k-head', [q('taken q')])).toMatchObject({
        conversationId: conv('c-taken'),
        depth: 0,
      });
      await store.releaseLease(conv('c-taken'), 'next');
      // A newer conversation storing the same question is where it goes now: the old failure is not retried.
      await begin(conv('c-taken-newer'), 'run-taken-newer', 'taken q');
      expect(await store.retryableTurn('k-head', [q('taken q')])).toBeUndefined();

      // Two turns asking the same fail: the retry goes to the newer, and leaves no older one to retry after it.
      await begin(conv('c-twin-1'), 'run-twin-1', 'twin q');
      await begin(conv('c-twin-2'), 'run-twin-2', 'twin q');
      for (const [twin, runId] of [
        [conv('c-twin-1'), 'run-twin-1'],
        [conv('c-twin-2'), 'run-twin-2'],
      ]) {
        await new Promise((r) => setTimeout(r, 5));
        await store.finishTurn({
          conversationId: twin,
          owner: 'k-head',
          title: 't',
          messages: [],
          answer: null,
          run: run(twin, 'k-head', { id: runId, status: 'cancelled' }),
        });
      }
      expect(await store.retryableTurn('k-head', [q('twin q')])).toMatchObject({ conversationId: conv('c-twin-2') });
      await begin(conv('c-twin-2'), 'run-twin-2-retry', 'unused', { messages: [], supersedes: 'run-twin-2' });
      expect(await store.retryableTurn('k-head', [q('twin q')])).toBeUndefined();
    });

    it('finds a conversation by the window of its end a client kept, checked message by message', async () => {
      const q = (content: string): ChatMessage => ({ role: 'user', content });
      const a = (content: string): ChatMessage => ({ role: 'assistant', content });
      const owner = 'k-window';
      const id = conv('c-window');
      for (const i of [1, 2, 3]) await store.appendTurn(turn(id, [`win q${i}`, `win a${i}`], { owner }));
      const window = (...messages: ChatMessage[]) => store.conversationEndingWithWindow(owner, messages);
      const found = { id, messageCount: 6 };
      expect(await window(q('win q2'), a('win a2'), q('win q3'), a('win a3'))).toMatchObject(found);
      expect(await window(q('win q3'), a('  win a3\n'))).toMatchObject(found); // compared as the chain compares
      expect(await window(a('win a2'), q('win q3'), a('win a3'))).toMatchObject(found);
      expect(await window(...[1, 2, 3].flatMap((i) => [q(`win q${i}`), a(`win a${i}`)]))).toMatchObject(found);
      // The same last pair after other messages, a pair inside the transcript, a question: not found.
      expect(await window(q('win q2'), a('another a2'), q('win q3'), a('win a3'))).toBeUndefined();
      expect(
        await window(
          q('win q0'),
          a('win a0'),
          q('win q1'),
          a('win a1'),
          q('win q2'),
          a('win a2'),
          q('win q3'),
          a('win a3'),
        ),
      ).toBeUndefined();
      expect(await window(q('win q2'), a('win a2'))).toBeUndefined();
      expect(await window(a('win a3'))).toBeUndefined();
      expect(await window(q('win q3'), a('win a3'), q('win q4'))).toBeUndefined();
      // Another owner's, or a conversation a client named, is never found.
      expect(await store.conversationEndingWithWindow('k-window-other', [q('win q3'), a('win a3')])).toBeUndefined();
      await store.appendTurn(turn('named-window', ['named q', 'named a'], { owner }));
      expect(await window(q('named q'), a('named a'))).toBeUndefined();
      // Nor is a conversation of two messages: a window of it is all of it (conversationsEndingWith finds it).
      await store.appendTurn(turn(conv('c-window-pair'), ['pair q', 'pair a'], { owner }));
      expect(await window(q('pair q'), a('pair a'))).toBeUndefined();
      expect(await store.conversationsEndingWith(owner, [q('pair q'), a('pair a')])).toMatchObject([
        { id: conv('c-window-pair') },
      ]);

      // While a turn runs, the transcript ends with its question; its answer ends it again (appended alone).
      await store.beginTurn({
        conversationId: id,
        owner,
        title: 't',
        messages: [{ ...q('win q4'), tokenCount: 1 }],
        runs: [{ id: 'run-window-4', model: 'm', startedAt: new Date().toISOString() }],
      });
      expect(await window(q('win q3'), a('win a3'))).toBeUndefined();
      await store.finishTurn({
        conversationId: id,
        owner,
        title: '',
        messages: [],
        answer: { ...a('win a4'), tokenCount: 1 },
        run: run(id, owner, { id: 'run-window-4' }),
      });
      expect(await window(q('win q3'), a('win a3'), q('win q4'), a('win a4'))).toMatchObject({ id, messageCount: 8 });

      // A branch copying a prefix that ends with an answer ends there (the end read back).
      const branch = conv('c-window-branch');
      await store.beginTurn({
        conversationId: branch,
        owner,
        title: 't',
        branchFrom: { conversationId: id, depth: 4 },
        messages: [],
        runs: [],
      });
      expect(await window(q('win q1'), a('win a1'), q('win q2'), a('win a2'))).toMatchObject({
        id: branch,
        messageCount: 4,
      });
      // Two conversations ending with the same window: the most recently updated one.
      await new Promise((r) => setTimeout(r, 5));
      await store.appendTurn(turn(id, ['win q2', 'win a2'], { owner }));
      expect(await window(q('win q2'), a('win a2'))).toMatchObject({ id, messageCount: 10 });
    });

    it('takes a lease with the first write of a new conversation, and frees it with its last', async () => {
      const start = (holder: string, runId: string): TurnStart => ({
        conversationId: conv('c-lease-in-turn'),
        owner: 'k-lease',
        title: 't',
        messages: [{ role: 'user', content: 'leased q', tokenCount: 1 }],
        runs: [{ id: runId, model: 'm', startedAt: new Date().toISOString() }],
        lease: { holder, ttlMs: 60_000 },
      });
      await store.beginTurn(start('h-turn', 'run-lease-in-turn'));
      expect(await store.liveLeases()).toContainEqual({ conversationId: conv('c-lease-in-turn'), holder: 'h-turn' });
      expect(await store.acquireLease(conv('c-lease-in-turn'), 'h-other', 60_000)).toBe(false);
      // Another holder's live lease fails the write: nothing of that turn is stored.
      await expect(store.beginTurn(start('h-other', 'run-lease-refused'))).rejects.toThrow();
      expect(await store.getRun('run-lease-refused', 'k-lease')).toBeUndefined();
      await store.finishTurn({
        conversationId: conv('c-lease-in-turn'),
        owner: 'k-lease',
        title: 't',
        messages: [],
        answer: { role: 'assistant', content: 'a', tokenCount: 1 },
        run: run(conv('c-lease-in-turn'), 'k-lease', { id: 'run-lease-in-turn' }),
        releaseLease: 'h-turn',
      });
      expect((await store.liveLeases()).map((l) => l.conversationId)).not.toContain(conv('c-lease-in-turn'));
      expect((await store.getMessages(conv('c-lease-in-turn'))).map((m) => m.content)).toEqual(['leased q', 'a']);
    });

    it('makes a turn interrupted by a restart retryable', async () => {
      const q: ChatMessage = { role: 'user', content: 'restart q' };
      await store.beginTurn({
        conversationId: conv('c-restart'),
        owner: 'k-restart',
        title: 't',
        messages: [{ ...q, tokenCount: 1 }],
        runs: [{ id: 'run-restart', model: 'm', startedAt: new Date().toISOString() }],
      });
      expect(await store.retryableTurn('k-restart', [q])).toBeUndefined(); // running: not retryable
      await store.interruptOrphanedRuns();
      expect(await store.retryableTurn('k-restart', [q])).toMatchObject({
        conversationId: conv('c-restart'),
        runId: 'run-restart',
        depth: 0,
      });
    });

    it('keeps one random secret per name, made at its first use', async () => {
      const first = await store.serverSecret('contract_a');
      expect(Buffer.from(first, 'base64')).toHaveLength(32);
      expect(await store.serverSecret('contract_a')).toBe(first);
      expect(await store.serverSecret('contract_b')).not.toBe(first);
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
