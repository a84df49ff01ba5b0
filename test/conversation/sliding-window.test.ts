// Clients that drop their oldest messages to fit their own context window (the system prompt kept,
// the oldest question/answer pairs dropped), without a conversation id, through the live server and
// the official `openai` client, on SQLite and PostgreSQL: once the window slides, the history no
// longer starts where the stored conversation starts, and it must still be found by where it ends.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

type Message = OpenAI.ChatCompletionMessageParam;

const SYSTEM = 'You are a terse assistant.';
/** The client keeps the system prompt and its last 3 question/answer pairs. */
const WINDOW_PAIRS = 3;

interface Backend {
  name: string;
  start(team: RecordingOrchestrator): Promise<{ srv: TestServer; dispose(): Promise<void> }>;
}

const env = { CORTEX_API_KEYS: 'mine,theirs' };
const backends: Backend[] = [
  {
    name: 'SQLite',
    start: async (team) => {
      const srv = await startTestServer(team, env);
      return { srv, dispose: () => srv.close() };
    },
  },
  {
    name: 'PostgreSQL',
    start: async (team) => {
      const schema: TestSchema = await freshSchema('window');
      const srv = await startTestServer(
        team,
        { ...env, CORTEX_DATABASE_URL: schema.url },
        {},
        { schema: schema.schema },
      );
      return {
        srv,
        dispose: async () => {
          await srv.close();
          await schema.drop();
        },
      };
    },
  },
];

describe.each(backends)('a client with a sliding context window, no id, on $name', (backend) => {
  const team = new RecordingOrchestrator();
  let srv: TestServer;
  let dispose: () => Promise<void>;
  const clients: Record<string, OpenAI> = {};
  beforeAll(async () => {
    ({ srv, dispose } = await backend.start(team));
    for (const key of ['mine', 'theirs'])
      clients[key] = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => dispose?.());

  const ask = async (messages: Message[], key = 'mine'): Promise<any> =>
    clients[key].chat.completions.create({ model: 'cortex-flow', messages } as any);
  /** A conversation as the API shows it to `key`. */
  const conversation = async (id: string, key = 'mine') =>
    (
      await fetch(`${srv.baseUrl}/v1/conversations/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json();
  const listed = async (id: string, key = 'mine') =>
    (await conversation(id, key)).messages.map((m: any) => `${m.role}: ${m.content}`);
  const conversationCount = async (key = 'mine') =>
    (
      await (
        await fetch(`${srv.baseUrl}/v1/conversations?limit=100`, { headers: { authorization: `Bearer ${key}` } })
      ).json()
    ).data.length;
  /** What the agents were given last. */
  const context = () => team.inputs.at(-1)!.messages.map((m) => `${m.role}: ${m.content}`);

  /** The request such a client sends: its system prompt, its last pairs, the new question. */
  const windowOf = (pairs: [Message, Message][], question: string): Message[] => [
    { role: 'system', content: SYSTEM },
    ...pairs.slice(-WINDOW_PAIRS).flat(),
    { role: 'user', content: question },
  ];

  /** Plays `turns` turns of such a client; the conversation id of each and the pairs it holds. */
  async function chat(tag: string, turns: number, key = 'mine') {
    const pairs: [Message, Message][] = [];
    const ids: string[] = [];
    for (let i = 1; i <= turns; i++) {
      const question = `${tag} q${i}`;
      const r = await ask(windowOf(pairs, question), key);
      ids.push(r.conversation_id);
      pairs.push([{ role: 'user', content: question }, r.choices[0].message]);
    }
    return { ids, pairs };
  }
  const transcript = (tag: string, turns: number) =>
    Array.from({ length: turns }, (_, i) => [`user: ${tag} q${i + 1}`, `assistant: Echo: ${tag} q${i + 1}`]).flat();

  it('keeps one conversation over 12 turns, each message stored once, the agents seeing the stored history', async () => {
    const before = await conversationCount();
    const { ids } = await chat('long', 12);
    expect(new Set(ids).size).toBe(1);
    expect(await conversationCount()).toBe(before + 1);
    const stored = await conversation(ids[0]);
    expect(stored.system_prompt).toBe(SYSTEM);
    expect(await listed(ids[0])).toEqual(transcript('long', 12));
    // The stored transcript is the source of truth: the last turn saw all of it, not only the window.
    expect(context()).toEqual([`system: ${SYSTEM}`, ...transcript('long', 12).slice(0, -1)]);
  });

  it('branches an edited question inside the window, the original kept as it was', async () => {
    const { ids, pairs } = await chat('edit', 6);
    const id = ids[0];
    expect(new Set(ids).size).toBe(1);
    // The user edits question 5 (inside the window [q4..a6]): the client sends what came before it.
    const edited = await ask(windowOf(pairs.slice(0, 4), 'edit q5, reworded'));
    expect(edited.conversation_id).not.toBe(id);
    expect(context()).toEqual([
      `system: ${SYSTEM}`,
      ...transcript('edit', 4).slice(2), // the client's window: what the branch holds of the history
      'user: edit q5, reworded',
    ]);
    // Regenerating the last answer branches too (a new answer, which the original does not end with).
    team.options = { answer: () => 'Echo: edit q6, take two' };
    const regenerated = await ask(windowOf(pairs.slice(0, 5), 'edit q6'));
    team.options = {};
    expect([id, edited.conversation_id]).not.toContain(regenerated.conversation_id);
    expect(await listed(id)).toEqual(transcript('edit', 6));
    // The original goes on where it was.
    const next = await ask(windowOf(pairs, 'edit q7'));
    expect(next.conversation_id).toBe(id);
    expect(await listed(id)).toEqual(transcript('edit', 7));
  });

  it('keeps two keys with identical windows apart', async () => {
    const mine = await chat('shared', 6, 'mine');
    const theirs = await chat('shared', 6, 'theirs');
    expect(new Set(mine.ids).size).toBe(1);
    expect(new Set(theirs.ids).size).toBe(1);
    expect(theirs.ids[0]).not.toBe(mine.ids[0]);
    expect(await listed(mine.ids[0], 'mine')).toEqual(transcript('shared', 6));
    expect(await listed(theirs.ids[0], 'theirs')).toEqual(transcript('shared', 6));
    // A key that never had the conversation sends the other key's window: a conversation of its own.
    const stranger = await chat('solo', 5, 'mine');
    const count = await conversationCount('theirs');
    const r = await ask(windowOf(stranger.pairs, 'solo q6'), 'theirs');
    expect(r.conversation_id).not.toBe(stranger.ids[0]);
    expect(await conversationCount('theirs')).toBe(count + 1);
    expect(await listed(stranger.ids[0], 'mine')).toEqual(transcript('solo', 5));
  });

  it('does not continue a conversation whose last pair matches but whose earlier messages differ', async () => {
    const { ids, pairs } = await chat('differ', 6);
    const id = ids[0];
    // The same last pair, after a window that is not the stored one (an earlier answer edited).
    const changed = pairs.map(([q, a], i): [Message, Message] =>
      i === 4 ? [q, { role: 'assistant', content: 'edited' }] : [q, a],
    );
    const r = await ask(windowOf(changed, 'differ q7'));
    expect(r.conversation_id).not.toBe(id);
    expect(await listed(id)).toEqual(transcript('differ', 6));
    // Nor does a window holding only the last pair once it is preceded by messages the
    // conversation does not have there.
    const stray = await ask([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'never asked' },
      { role: 'assistant', content: 'never answered' },
      ...pairs.at(-1)!,
      { role: 'user', content: 'differ q7' },
    ]);
    expect([id, r.conversation_id]).not.toContain(stray.conversation_id);
    expect(await listed(id)).toEqual(transcript('differ', 6));
    // The window as it is goes on there.
    expect((await ask(windowOf(pairs, 'differ q7'))).conversation_id).toBe(id);
    expect(await listed(id)).toEqual(transcript('differ', 7));
  });
});
