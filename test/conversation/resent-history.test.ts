// Clients that resend their history without a conversation id, as real front ends send it, through
// the live server and the official `openai` client: assistant messages coming back in another form
// than they were answered in, and a turn whose answer failed followed by the next question (the
// client never had the partial answer the server kept, or has an answer of its own there).
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer;
let client: OpenAI;
const team = new RecordingOrchestrator();

beforeAll(async () => {
  srv = await startTestServer(team);
  client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => srv.close());
beforeEach(() => {
  team.options = {};
});

type Message = OpenAI.ChatCompletionMessageParam;
const ask = async (messages: Message[], extra: Record<string, unknown> = {}): Promise<any> =>
  client.chat.completions.create({ model: 'cortex-flow', messages, ...extra } as any);
/** The conversation's messages as the API lists them. */
const listed = async (id: string) => {
  const c = await (await fetch(`${srv.baseUrl}/v1/conversations/${encodeURIComponent(id)}`)).json();
  return c.messages.map((m: any) => `${m.role}: ${m.content}`);
};
const conversationCount = async () =>
  (await (await fetch(`${srv.baseUrl}/v1/conversations?limit=100`)).json()).data.length;
/** What the agents were given last. */
const context = () => team.inputs.at(-1)!.messages.map((m) => `${m.role}: ${m.content}`);

describe('a client resending its history without an id', () => {
  it('keeps one conversation when it sends the answers back in another form, each message stored and seen once', async () => {
    team.options = { answer: (input) => `  Echo: ${input.messages.at(-1)?.content}\n\n` };
    // How front ends send an answer back: trimmed, as text parts, with the fields OpenAI's answer had.
    const forms: ((text: string) => Message)[] = [
      (text) => ({ role: 'assistant', content: text.trim() }),
      (text) => ({ role: 'assistant', content: [{ type: 'text', text }] }),
      (text) => ({ role: 'assistant', content: text.trimEnd(), refusal: null, name: 'helper' }) as Message,
    ];
    const history: Message[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      history.push({ role: 'user', content: `form ${i}` });
      const r = await ask([...history]);
      ids.add(r.conversation_id);
      history.push(forms[i % forms.length](r.choices[0].message.content));
    }
    expect(ids.size).toBe(1);
    const answers = Array.from({ length: 6 }, (_, i) => [`user: form ${i}`, `assistant:   Echo: form ${i}\n\n`]).flat();
    expect(await listed([...ids][0])).toEqual(answers);
    expect(context()).toEqual(answers.slice(0, -1));
  });

  describe('after a turn whose answer failed part way', () => {
    const failing = {
      answer: () => 'Partial answer that breaks',
      failWith: { message: 'upstream broke', status: 502, type: 'server_error', code: 'upstream_error' },
    };
    // The client got an error, not the partial answer the server kept: its next request has the
    // question and then its next one; or it shows an answer of its own there and sends that back.
    for (const named of [false, true])
      for (const kept of [undefined, 'The answer failed, sorry.'])
        it(`goes on in its conversation (${named ? 'named' : 'no id'}, the client keeping ${kept ? 'an answer of its own' : 'no answer'}), storing nothing twice`, async () => {
          const tag = `${named ? 'named' : 'id-less'} ${kept ? 'own' : 'none'}`;
          const extra = named ? { conversation_id: `partial-${tag.replace(' ', '-')}` } : {};
          const history: Message[] = [{ role: 'user', content: `${tag} q0` }];
          const first = await ask(history, extra);
          const id = first.conversation_id;
          history.push(first.choices[0].message, { role: 'user', content: `${tag} q1` });
          team.options = failing;
          await expect(ask(history, extra)).rejects.toMatchObject({ status: 502 });
          expect(await listed(id)).toEqual([
            `user: ${tag} q0`,
            `assistant: Echo: ${tag} q0`,
            `user: ${tag} q1`,
            'assistant: Part',
          ]);
          team.options = {};
          const conversations = await conversationCount();
          if (kept) history.push({ role: 'assistant', content: kept });
          history.push({ role: 'user', content: `${tag} q2` });
          const next = await ask(history, extra);

          expect(next.conversation_id).toBe(id);
          expect(await conversationCount()).toBe(conversations); // no branch
          // The partial answer left the transcript, as a retry's does; the client's own answer took its place.
          const expected = [
            `user: ${tag} q0`,
            `assistant: Echo: ${tag} q0`,
            `user: ${tag} q1`,
            ...(kept ? [`assistant: ${kept}`] : []),
            `user: ${tag} q2`,
          ];
          expect(context()).toEqual(expected);
          expect(await listed(id)).toEqual([...expected, `assistant: Echo: ${tag} q2`]);
          // The failed run is still listed, with its trace.
          const runs = await (await fetch(`${srv.baseUrl}/v1/runs?conversation_id=${encodeURIComponent(id)}`)).json();
          expect(runs.data.map((r: any) => r.status)).toEqual(['completed', 'failed', 'completed']);

          // And the chat goes on there.
          history.push(next.choices[0].message, { role: 'user', content: `${tag} q3` });
          expect((await ask(history, extra)).conversation_id).toBe(id);
          expect(await listed(id)).toHaveLength(expected.length + 3);
        });

    it('retries a failed turn that holds an answer of the client’s own in its conversation (no id)', async () => {
      const history: Message[] = [{ role: 'user', content: 'own q0' }];
      const first = await ask(history);
      const id = first.conversation_id;
      history.push(first.choices[0].message, { role: 'user', content: 'own q1' });
      team.options = failing;
      await expect(ask(history)).rejects.toMatchObject({ status: 502 });
      // The client shows an answer of its own for the failed one, asks on, and that fails too.
      history.push({ role: 'assistant', content: 'No answer.' }, { role: 'user', content: 'own q2' });
      await expect(ask(history)).rejects.toMatchObject({ status: 502 });
      team.options = {};
      const conversations = await conversationCount();
      const retried = await ask(history);

      expect(retried.conversation_id).toBe(id);
      expect(await conversationCount()).toBe(conversations);
      const expected = [
        'user: own q0',
        'assistant: Echo: own q0',
        'user: own q1',
        'assistant: No answer.',
        'user: own q2',
      ];
      expect(context()).toEqual(expected);
      expect(await listed(id)).toEqual([...expected, 'assistant: Echo: own q2']);
    });
  });
});
