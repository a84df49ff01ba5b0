// One contract for every Store implementation; each backend's test file runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewTurn, RunRecord, Store } from '../../src/store/types.ts';
import { ForeignConversationError } from '../../src/store/types.ts';

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
      await store.appendTurn(turn('c-basic', ['Hello', 'Hi there'], { systemPrompt: 'Be brief.' }));
      await store.appendTurn(
        turn('c-basic', ['How are you?', 'Fine.'], { title: 'ignored for an existing conversation' }),
      );
      const c = await store.getConversation('c-basic', '');
      expect(c).toMatchObject({ id: 'c-basic', title: 'Hello', systemPrompt: 'Be brief.', messageCount: 4 });
      const messages = await store.getMessages('c-basic');
      expect(messages.map((m) => [m.seq, m.role, m.content])).toEqual([
        [1, 'user', 'Hello'],
        [2, 'assistant', 'Hi there'],
        [3, 'user', 'How are you?'],
        [4, 'assistant', 'Fine.'],
      ]);
    });

    it('keeps tool calls, tool results, names and images', async () => {
      await store.appendTurn({
        conversationId: 'c-tools',
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
        run: run('c-tools'),
      });
      const [u, a, t] = await store.getMessages('c-tools');
      expect(u).toMatchObject({ name: 'bob', images: [{ url: 'https://x/y.png' }] });
      expect(a).toMatchObject({
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
        runId: 'r1',
      });
      expect(t).toMatchObject({ role: 'tool', toolCallId: 'call_1' });
    });

    it('replaces the system prompt only when a turn brings a new one', async () => {
      await store.appendTurn(turn('c-system', ['a', 'b'], { systemPrompt: 'First.' }));
      await store.appendTurn(turn('c-system', ['c', 'd']));
      expect((await store.getConversation('c-system', ''))!.systemPrompt).toBe('First.');
      await store.appendTurn(turn('c-system', ['e', 'f'], { systemPrompt: 'Second.' }));
      expect((await store.getConversation('c-system', ''))!.systemPrompt).toBe('Second.');
    });

    it('reads the tail and a token window from the end', async () => {
      for (let i = 0; i < 50; i++) await store.appendTurn(turn('c-long', [`q${i}`, `a${i}`]));
      expect((await store.tailMessages('c-long', 3)).map((m) => m.content)).toEqual(['a48', 'q49', 'a49']);
      const window = await store.recentMessages('c-long', 45); // 10 tokens each: 5 messages reach 45
      expect(window.map((m) => m.content)).toEqual(['q47', 'a47', 'q48', 'a48', 'q49', 'a49'].slice(1));
      expect((await store.recentMessages('c-long', 10_000)).length).toBe(100);
    });

    it('stores runs with their trace, scoped to their owner', async () => {
      const r = run('c-run', 'key_a', { status: 'failed', error: 'upstream said no' });
      await store.appendTurn({ ...turn('c-run', ['x', 'y'], { owner: 'key_a' }), run: r });
      const back = await store.getRun(r.id, 'key_a');
      expect(back).toMatchObject({
        id: r.id,
        conversationId: 'c-run',
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
      await store.appendTurn(turn('c-owned', ['mine', 'ok'], { owner: 'key_a' }));
      expect(await store.getConversation('c-owned', 'key_b')).toBeUndefined();
      expect(await store.getConversationOwner('c-owned')).toBe('key_a');
      await expect(store.appendTurn(turn('c-owned', ['theirs', 'no'], { owner: 'key_b' }))).rejects.toBeInstanceOf(
        ForeignConversationError,
      );
      expect(await store.deleteConversation('c-owned', 'key_b')).toBe(false);
      expect((await store.getMessages('c-owned')).length).toBe(2);
    });

    it('lists conversations page by page, newest first by default', async () => {
      for (let i = 0; i < 5; i++) {
        await store.appendTurn(turn(`c-list-${i}`, [`list ${i}`, 'ok'], { owner: 'lister' }));
        await new Promise((r) => setTimeout(r, 3)); // distinct creation times
      }
      const first = await store.listConversations('lister', { limit: 2, order: 'desc' });
      expect(first.data.map((c) => c.id)).toEqual(['c-list-4', 'c-list-3']);
      expect(first.hasMore).toBe(true);
      const second = await store.listConversations('lister', { limit: 2, order: 'desc', after: 'c-list-3' });
      expect(second.data.map((c) => c.id)).toEqual(['c-list-2', 'c-list-1']);
      const last = await store.listConversations('lister', { limit: 2, order: 'desc', after: 'c-list-1' });
      expect(last).toEqual({ data: [expect.objectContaining({ id: 'c-list-0' })], hasMore: false });
      const asc = await store.listConversations('lister', { limit: 10, order: 'asc' });
      expect(asc.data.map((c) => c.id)).toEqual(['c-list-0', 'c-list-1', 'c-list-2', 'c-list-3', 'c-list-4']);
    });

    it('deletes a conversation with its messages and runs', async () => {
      const t = turn('c-delete', ['bye', 'ok']);
      await store.appendTurn(t);
      expect(await store.deleteConversation('c-delete', '')).toBe(true);
      expect(await store.getConversation('c-delete', '')).toBeUndefined();
      expect(await store.getMessages('c-delete')).toEqual([]);
      expect(await store.getRun(t.run.id, '')).toBeUndefined();
      expect(await store.deleteConversation('c-delete', '')).toBe(false);
    });

    it('never interleaves concurrent turns of one conversation', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendTurn(turn('c-race', [`q${i}`, `a${i}`]))));
      const messages = await store.getMessages('c-race');
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

    it('counts rate-limit windows atomically', async () => {
      const start = 60_000 * 1000;
      await Promise.all(Array.from({ length: 10 }, () => store.addToWindow('b', start, { requests: 1, tokens: 5 })));
      expect(await store.addToWindow('b', start, { requests: 0, tokens: 0 })).toEqual({ requests: 10, tokens: 50 });
      expect(await store.addToWindow('b', start + 60_000, { requests: 1, tokens: 1 })).toEqual({
        requests: 1,
        tokens: 1,
      });
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
