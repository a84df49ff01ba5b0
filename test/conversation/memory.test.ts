// Memory semantics through the live HTTP server: the stored transcript is the source of truth.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer;
const team = new RecordingOrchestrator();

beforeAll(async () => {
  srv = await startTestServer(team, { OPENAI_COMPAT_MAX_CONTEXT_TOKENS: '256' });
});
afterAll(() => srv.close());
beforeEach(() => {
  team.inputs.length = 0;
  team.options = {};
});

const transcript = async (id: string) => (await srv.store.getMessages(id)).map((m) => `${m.role}: ${m.content}`);

describe('conversation memory', () => {
  it('answers "What is my name?" from the first turn when only the new message is sent (the spec example)', async () => {
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused' });
    const first: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'My name is Alice' }],
    } as any);
    const id = first.conversation_id;
    await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'What is my name?' }],
      conversation_id: id,
    } as any);
    const context = team.inputs[1].messages;
    expect(context.map((m) => `${m.role}: ${m.content}`)).toEqual([
      'user: My name is Alice',
      'assistant: Echo: My name is Alice',
      'user: What is my name?',
    ]);
  });

  it('stores the same transcript whether the client resends the whole history or only the new message', async () => {
    await chat(srv.baseUrl, { conversation_id: 'full', messages: [{ role: 'user', content: 'one' }] });
    await chat(srv.baseUrl, {
      conversation_id: 'full',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'Echo: one' },
        { role: 'user', content: 'two' },
      ],
    });
    await chat(srv.baseUrl, { conversation_id: 'only-new', messages: [{ role: 'user', content: 'one' }] });
    await chat(srv.baseUrl, { conversation_id: 'only-new', messages: [{ role: 'user', content: 'two' }] });
    expect(await transcript('full')).toEqual([
      'user: one',
      'assistant: Echo: one',
      'user: two',
      'assistant: Echo: two',
    ]);
    expect(await transcript('only-new')).toEqual(await transcript('full'));
  });

  it('lets a new system message replace the stored one', async () => {
    await chat(srv.baseUrl, {
      conversation_id: 'sys',
      messages: [
        { role: 'system', content: 'Be formal.' },
        { role: 'user', content: 'hi' },
      ],
    });
    await chat(srv.baseUrl, { conversation_id: 'sys', messages: [{ role: 'user', content: 'again' }] });
    expect(team.inputs[1].messages[0]).toEqual({ role: 'system', content: 'Be formal.' });
    await chat(srv.baseUrl, {
      conversation_id: 'sys',
      messages: [
        { role: 'system', content: 'Be casual.' },
        { role: 'user', content: 'third' },
      ],
    });
    expect(team.inputs[2].messages.filter((m) => m.role === 'system')).toEqual([
      { role: 'system', content: 'Be casual.' },
    ]);
    expect((await srv.store.getConversation('sys', ''))!.systemPrompt).toBe('Be casual.');
  });

  it('trims the context to the token budget: system kept, oldest turns dropped, no half messages', async () => {
    const long = (i: number) => `turn ${i} ` + 'lorem ipsum dolor sit amet '.repeat(6);
    await chat(srv.baseUrl, {
      conversation_id: 'trim',
      messages: [
        { role: 'system', content: 'Keep me.' },
        { role: 'user', content: long(0) },
      ],
    });
    for (let i = 1; i < 8; i++)
      await chat(srv.baseUrl, { conversation_id: 'trim', messages: [{ role: 'user', content: long(i) }] });
    const context = team.inputs.at(-1)!.messages;
    const tokens = srv.deps.tokens.countChat(context);
    expect(tokens).toBeLessThanOrEqual(256);
    expect(context[0]).toEqual({ role: 'system', content: 'Keep me.' });
    expect(context.at(-1)!.content).toBe(long(7));
    expect(context.length).toBeLessThan(1 + 15); // older turns were dropped...
    for (const m of context.slice(1))
      expect([...Array(8).keys()].some((i) => m.content === long(i) || m.content === `Echo: ${long(i)}`)).toBe(true); // ...whole
  });

  it('stores a failed turn with its partial answer and status', async () => {
    team.options = {
      answer: () => 'Partial answer that breaks',
      failWith: { message: 'upstream broke', status: 502, type: 'server_error', code: 'upstream_error' },
    };
    const r = await chat(srv.baseUrl, { conversation_id: 'failed', messages: [{ role: 'user', content: 'try' }] });
    expect(r.status).toBe(502);
    expect(await transcript('failed')).toEqual(['user: try', 'assistant: Part']);
    const runId = (await srv.store.getMessages('failed'))[1].runId!;
    expect(await srv.store.getRun(runId, '')).toMatchObject({ status: 'failed', error: 'upstream broke' });
  });

  it('stores the turn of a client that disconnected mid-stream, as cancelled', async () => {
    team.options = { answer: () => 'a slow answer that takes a while to write out in full', delayMs: 40 };
    const controller = new AbortController();
    const res = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        conversation_id: 'left',
        stream: true,
        messages: [{ role: 'user', content: 'go' }],
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"content"')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    for (let i = 0; i < 100 && (await srv.store.getMessages('left')).length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    const messages = await srv.store.getMessages('left');
    expect(messages[0]).toMatchObject({ role: 'user', content: 'go' });
    expect(messages[1].role).toBe('assistant');
    expect('a slow answer that takes a while to write out in full'.startsWith(messages[1].content)).toBe(true);
    expect(await srv.store.getRun(messages[1].runId!, '')).toMatchObject({ status: 'cancelled' });
  });

  it('serves two concurrent requests on one conversation one after the other', async () => {
    team.options = { delayMs: 5 };
    await Promise.all([
      chat(srv.baseUrl, { conversation_id: 'race', messages: [{ role: 'user', content: 'first question' }] }),
      chat(srv.baseUrl, { conversation_id: 'race', messages: [{ role: 'user', content: 'second question' }] }),
    ]);
    const t = await transcript('race');
    expect(t).toHaveLength(4);
    expect(t[1]).toBe(`assistant: Echo: ${t[0].slice('user: '.length)}`);
    expect(t[3]).toBe(`assistant: Echo: ${t[2].slice('user: '.length)}`);
    // The second run saw the first turn complete.
    expect(team.inputs[1].messages).toHaveLength(3);
  });

  it('keeps an OpenAI client that resends its history without an id in one conversation', async () => {
    const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused' });
    const history: OpenAI.ChatCompletionMessageParam[] = [];
    const ids = new Set<string>();
    for (let i = 1; i <= 20; i++) {
      history.push({ role: 'user', content: `id-less turn ${i}` });
      const r: any = await client.chat.completions.create({ model: 'cortex-flow', messages: history });
      ids.add(r.conversation_id);
      history.push({ role: 'assistant', content: r.choices[0].message.content });
    }
    expect(ids.size).toBe(1);
    const [id] = ids;
    expect(await transcript(id)).toEqual(history.map((m) => `${m.role}: ${m.content}`));
    // The agents saw the stored history (trimmed to this server's 256-token window), each message once.
    const context = team.inputs.at(-1)!.messages.map((m) => m.content);
    expect(new Set(context).size).toBe(context.length);
    expect(context.slice(-3)).toEqual(['id-less turn 19', 'Echo: id-less turn 19', 'id-less turn 20']);
  });

  it('replaces a turn that failed after a partial answer when the client retries it', async () => {
    const history = [
      { role: 'user', content: 'retry one' },
      { role: 'assistant', content: 'Echo: retry one' },
      { role: 'user', content: 'retry two' },
    ];
    await chat(srv.baseUrl, { conversation_id: 'retried', messages: history.slice(0, 1) });
    team.options = {
      answer: () => 'Partial answer that breaks',
      failWith: { message: 'upstream broke', status: 502, type: 'server_error', code: 'upstream_error' },
    };
    for (let i = 0; i < 3; i++) {
      const r = await chat(srv.baseUrl, { conversation_id: 'retried', messages: history });
      expect(r.status).toBe(502);
    }
    expect(await transcript('retried')).toEqual([
      'user: retry one',
      'assistant: Echo: retry one',
      'user: retry two',
      'assistant: Part',
    ]);
    team.options = {};
    await chat(srv.baseUrl, { conversation_id: 'retried', messages: history });
    expect(await transcript('retried')).toEqual([
      'user: retry one',
      'assistant: Echo: retry one',
      'user: retry two',
      'assistant: Echo: retry two',
    ]);
  });

  it('lists, shows and deletes conversations, and shows runs, in OpenAI conventions', async () => {
    const created = await chat(srv.baseUrl, { messages: [{ role: 'user', content: 'Plan a trip' }] });
    const id = created.body.conversation_id;
    const list = await (await fetch(`${srv.baseUrl}/v1/conversations?limit=2`)).json();
    expect(list).toMatchObject({ object: 'list', first_id: id, has_more: true });
    expect(list.data[0]).toMatchObject({ id, object: 'conversation', title: 'Plan a trip', message_count: 2 });
    const one = await (await fetch(`${srv.baseUrl}/v1/conversations/${id}`)).json();
    expect(one.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);
    const run = await (await fetch(`${srv.baseUrl}/v1/runs/${created.body.metadata.run_id}`)).json();
    expect(run).toMatchObject({
      id: created.body.metadata.run_id,
      object: 'run',
      conversation_id: id,
      status: 'completed',
      agents_used: ['writer'],
    });
    expect(run.events.map((e: any) => e.type)).toContain('run_finished');
    const bad = await fetch(`${srv.baseUrl}/v1/conversations?limit=500`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('limit');
    const del = await (await fetch(`${srv.baseUrl}/v1/conversations/${id}`, { method: 'DELETE' })).json();
    expect(del).toEqual({ id, object: 'conversation.deleted', deleted: true });
    const gone = await fetch(`${srv.baseUrl}/v1/conversations/${id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json()).error).toMatchObject({ type: 'not_found_error', code: 'conversation_not_found' });
  });
});
