// What the Responses API keeps and gives back: GET, DELETE, cancel and input_items of a response,
// scoped to the API key that created it; `store: false` keeping nothing; the 400s of what the
// server cannot do (unknown input items, hosted tools), in OpenAI's envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectEventShape, expectResponseShape, parseSse } from '../support/open-responses-schemas.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { until } from '../support/team-script.ts';
import { callApi } from '../support/http-client.ts';

let srv: TestServer;
let team: RecordingOrchestrator;

beforeAll(async () => {
  team = new RecordingOrchestrator();
  srv = await startTestServer(team, { CORTEX_API_KEYS: 'mine,theirs' });
});
afterAll(() => srv?.close());

const call = (method: string, path: string, body?: unknown, key?: string) =>
  callApi(srv.baseUrl, method, path, body, key);

const create = (body: Record<string, unknown>, key?: string) =>
  call('POST', '/v1/responses', { model: 'cortex-flow', ...body }, key);

describe('stored responses', () => {
  it('retrieves a response as it was created, and lists its input items page by page', async () => {
    const input = [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
      { role: 'user', content: 'three' },
    ];
    const created = await create({ input });
    const got = await call('GET', `/v1/responses/${created.body.id}`);
    expect(got.status).toBe(200);
    expectResponseShape(got.body);
    expect(got.body).toEqual(created.body);
    // Cancelling a response that already ended changes nothing.
    expect((await call('POST', `/v1/responses/${created.body.id}/cancel`)).body).toEqual(created.body);

    const all = await call('GET', `/v1/responses/${created.body.id}/input_items?order=asc`);
    expect(all.body).toMatchObject({ object: 'list', has_more: false });
    expect(all.body.data.map((i: any) => [i.type, i.role, i.content[0].text])).toEqual([
      ['message', 'user', 'one'],
      ['message', 'assistant', 'two'],
      ['message', 'user', 'three'],
    ]);
    const first = await call('GET', `/v1/responses/${created.body.id}/input_items?limit=2`);
    expect(first.body.data.map((i: any) => i.content[0].text)).toEqual(['three', 'two']); // newest first
    expect(first.body.has_more).toBe(true);
    const next = await call('GET', `/v1/responses/${created.body.id}/input_items?limit=2&after=${first.body.last_id}`);
    expect(next.body.data.map((i: any) => i.content[0].text)).toEqual(['one']);
    expect(next.body).toMatchObject({ has_more: false, first_id: next.body.data[0].id });
    const streamed = await call('GET', `/v1/responses/${created.body.id}?stream=true`);
    expect(streamed.status).toBe(400);
    expect(streamed.body.error).toMatchObject({ param: 'stream', code: 'unsupported_parameter' });
    const unknown = await call('GET', `/v1/responses/${created.body.id}/input_items?after=msg_nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ param: 'after', code: 'invalid_value' });
  });

  it("is another API key's 404, for every route", async () => {
    const { body } = await create({ input: 'secret' });
    for (const [method, path] of [
      ['GET', `/v1/responses/${body.id}`],
      ['GET', `/v1/responses/${body.id}/input_items`],
      ['POST', `/v1/responses/${body.id}/cancel`],
      ['DELETE', `/v1/responses/${body.id}`],
    ]) {
      const res = await call(method, path, undefined, 'theirs');
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'response_not_found' });
    }
    const continued = await create({ input: 'and?', previous_response_id: body.id }, 'theirs');
    expect(continued.status).toBe(400);
    expect(continued.body.error.code).toBe('previous_response_not_found');
    expect((await call('GET', `/v1/responses/${body.id}`)).status).toBe(200);
  });

  it('deletes a response', async () => {
    const { body } = await create({ input: 'forget me' });
    const deleted = await call('DELETE', `/v1/responses/${body.id}`);
    expect(deleted.body).toEqual({ id: body.id, object: 'response', deleted: true });
    expect((await call('GET', `/v1/responses/${body.id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/responses/${body.id}`)).status).toBe(404);
  });

  it('store: false keeps neither the response nor the turn', async () => {
    const before = (await srv.store.listConversations('mine', { limit: 100, order: 'desc' })).data.length;
    const { body } = await create({ input: 'off the record', store: false });
    expectResponseShape(body);
    expect(body.store).toBe(false);
    expect(body.metadata.conversation_id).toBeUndefined();
    expect((await call('GET', `/v1/responses/${body.id}`)).status).toBe(404);
    expect((await srv.store.listConversations('mine', { limit: 100, order: 'desc' })).data.length).toBe(before);
    const continued = await create({ input: 'and?', previous_response_id: body.id });
    expect(continued.body.error.code).toBe('previous_response_not_found');
  });

  it('store: false advertises no conversation and no response to look up, not even while it runs', async () => {
    const post = (stream: boolean) =>
      fetch(`${srv.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { authorization: 'Bearer mine', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cortex-flow', input: 'off the record', store: false, stream }),
      });
    const json = await post(false);
    expect(json.status).toBe(200);
    expect(json.headers.get('x-conversation-id')).toBeNull();
    expect(json.headers.get('x-cortex-run-id')).toMatch(/^run_/);
    expect(((await json.json()) as any).metadata.conversation_id).toBeUndefined();

    team.options = { delayMs: 50, answer: () => 'an answer that takes its time to be written out' };
    try {
      const streamed = await post(true);
      expect(streamed.headers.get('x-conversation-id')).toBeNull();
      const reader = streamed.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const created = parseSse(first.slice(0, first.indexOf('\n\n') + 2))[0].response;
      expect(created.metadata.conversation_id).toBeUndefined();
      // Running, and still nobody can find it: not kept is not listed.
      expect((await call('GET', `/v1/responses/${created.id}`)).status).toBe(404);
      expect((await call('POST', `/v1/responses/${created.id}/cancel`)).status).toBe(404);
      expect((await call('GET', `/v1/responses/${created.id}/input_items`)).status).toBe(404);
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      const completed = parseSse(rest).at(-1)!;
      expect(completed.type).toBe('response.completed');
      expect(completed.response.metadata.conversation_id).toBeUndefined();
    } finally {
      team.options = {};
    }
  });

  it('store: false may still read the conversation a stored response continues, adding nothing to it', async () => {
    const first = await create({ input: 'The code is 7.' });
    const conversationId = first.body.metadata.conversation_id;
    const count = (await srv.store.getMessages(conversationId)).length;
    await create({ input: 'What is the code?', previous_response_id: first.body.id, store: false });
    expect(team.inputs.at(-1)!.messages.map((m) => m.content)).toEqual([
      'The code is 7.',
      'Echo: The code is 7.',
      'What is the code?',
    ]);
    expect((await srv.store.getMessages(conversationId)).length).toBe(count);
  });

  it('previous_response_id naming an older response forks there: its context is that response and what came before', async () => {
    const contents = () => team.inputs.at(-1)!.messages.map((m) => m.content);
    const a = await create({ input: 'My colour is green.' });
    const b = await create({ input: 'Actually it is red.', previous_response_id: a.body.id });
    expect(b.body.metadata.conversation_id).toBe(a.body.metadata.conversation_id); // the latest: continued
    const c = await create({ input: 'What is my colour?', previous_response_id: a.body.id });
    expect(contents()).toEqual(['My colour is green.', 'Echo: My colour is green.', 'What is my colour?']);
    const fork = c.body.metadata.conversation_id;
    expect(fork).not.toBe(a.body.metadata.conversation_id);
    // The original keeps its turns; the fork holds A and C, and goes on from C.
    expect((await srv.store.getMessages(a.body.metadata.conversation_id)).map((m) => m.content)).toEqual([
      'My colour is green.',
      'Echo: My colour is green.',
      'Actually it is red.',
      'Echo: Actually it is red.',
    ]);
    const d = await create({ input: 'And now?', previous_response_id: c.body.id });
    expect(d.body.metadata.conversation_id).toBe(fork);
    expect(contents()).toEqual([
      'My colour is green.',
      'Echo: My colour is green.',
      'What is my colour?',
      'Echo: What is my colour?',
      'And now?',
    ]);
    // Not kept, the same: A's context only.
    await create({ input: 'Which colour?', previous_response_id: a.body.id, store: false });
    expect(contents()).toEqual(['My colour is green.', 'Echo: My colour is green.', 'Which colour?']);
  });

  it("a previous response's instructions are not carried over (as OpenAI documents), kept or not", async () => {
    const system = () =>
      team.inputs
        .at(-1)!
        .messages.filter((m) => m.role === 'system')
        .map((m) => m.content);
    const a = await create({ input: 'Hello.', instructions: 'Answer in French.' });
    expect(system()).toEqual(['Answer in French.']);
    const b = await create({ input: 'And now?', previous_response_id: a.body.id });
    expect(b.body.instructions).toBeNull();
    expect(system()).toEqual([]);
    await create({ input: 'Not kept?', previous_response_id: b.body.id, store: false });
    expect(system()).toEqual([]);
    const c = await create({ input: 'Again?', previous_response_id: b.body.id, instructions: 'Answer in German.' });
    expect(c.body.instructions).toBe('Answer in German.');
    expect(system()).toEqual(['Answer in German.']);
  });

  it("truncation: the oldest turns are dropped to fit ('auto', the default here), or the request refused ('disabled')", async () => {
    const small = await startTestServer(new RecordingOrchestrator(), { OPENAI_COMPAT_MAX_CONTEXT_TOKENS: '300' });
    try {
      const post = async (body: Record<string, unknown>) => {
        const res = await fetch(`${small.baseUrl}/v1/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'cortex-flow', ...body }),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const words = (w: string) => Array.from({ length: 200 }, () => w).join(' ');
      const a = await post({ input: words('alpha') });
      expect(a.body.truncation).toBe('auto');
      const refused = await post({ previous_response_id: a.body.id, input: words('beta'), truncation: 'disabled' });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' });
      const trimmed = await post({ previous_response_id: a.body.id, input: words('beta') });
      expect(trimmed.status).toBe(200);
      expect(trimmed.body.truncation).toBe('auto');
      // What fits is not refused.
      const b = await post({ input: 'short', truncation: 'disabled' });
      expect(b.status).toBe(200);
      expect(b.body.truncation).toBe('disabled');
      expect(
        (await post({ previous_response_id: b.body.id, input: 'still short', truncation: 'disabled' })).status,
      ).toBe(200);
    } finally {
      await small.close();
    }
  });

  it("metadata is echoed as sent: the run's and conversation's ids are added only where they take no key of the client's and fit in 16 pairs", async () => {
    const mine = await create({ input: 'Hi.', metadata: { run_id: 'my-run', conversation_id: 'my-conv', topic: 'x' } });
    expect(mine.body.metadata).toEqual({ run_id: 'my-run', conversation_id: 'my-conv', topic: 'x' });
    const plain = await create({ input: 'Hi.', metadata: { topic: 'x' } });
    expect(plain.body.metadata).toEqual({
      topic: 'x',
      conversation_id: expect.stringMatching(/^conv_/),
      run_id: expect.stringMatching(/^run_/),
    });
    const full = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
    const sixteen = await create({ input: 'Hi.', metadata: full });
    expect(sixteen.body.metadata).toEqual(full);
    // An echo can be sent back as it came.
    expect((await create({ input: 'Again.', metadata: plain.body.metadata })).status).toBe(200);
  });

  it('two requests continuing one response at once: each builds on that response alone', async () => {
    const a = await create({ input: 'Count with me: one.' });
    team.options = { delayMs: 20 };
    try {
      const [x, y] = await Promise.all([
        create({ input: 'two (x)', previous_response_id: a.body.id }),
        create({ input: 'two (y)', previous_response_id: a.body.id }),
      ]);
      expect([x.status, y.status]).toEqual([200, 200]);
      const contextOf = (text: string) =>
        team.inputs.find((i) => i.messages.at(-1)?.content === text)!.messages.map((m) => m.content);
      expect(contextOf('two (x)')).toEqual(['Count with me: one.', 'Echo: Count with me: one.', 'two (x)']);
      expect(contextOf('two (y)')).toEqual(['Count with me: one.', 'Echo: Count with me: one.', 'two (y)']);
      // One continued the conversation, the other branched from the same point.
      const conversations = [x.body.metadata.conversation_id, y.body.metadata.conversation_id];
      expect(new Set(conversations).size).toBe(2);
      expect(conversations).toContain(a.body.metadata.conversation_id);
      expect(await srv.store.getMessages(a.body.metadata.conversation_id)).toHaveLength(4);
    } finally {
      team.options = {};
    }
  });

  it('cancels a running response: the stream ends cancelled, and it is stored so', async () => {
    team.options = { delayMs: 50, answer: () => 'a long answer that takes its time to be written out in full' };
    const started = team.inputs.length;
    try {
      const res = await fetch(`${srv.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { authorization: 'Bearer mine', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cortex-flow', input: 'go on', stream: true }),
      });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const id = parseSse(first.slice(0, first.indexOf('\n\n') + 2))[0].response.id;
      await until(() => team.inputs.length > started, 'the run started');
      const running = await call('GET', `/v1/responses/${id}`);
      expect(running.body.status).toBe('in_progress');
      // Cancelled while the answer is being written: its message item is open.
      let rest = first;
      while (!rest.includes('response.output_text.delta'))
        rest += new TextDecoder().decode((await reader.read()).value);
      const cancelled = await call('POST', `/v1/responses/${id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      const events = parseSse(rest);
      expect(events.at(-1)).toMatchObject({
        type: 'response.incomplete',
        response: { status: 'cancelled', incomplete_details: { reason: 'cancelled' } },
      });
      for (const e of events) expectEventShape(e);
      // Every item added is done, the message as incomplete, with the text it had; none stays in progress.
      const added = events.filter((e) => e.type === 'response.output_item.added').map((e) => e.item.id);
      const done = events.filter((e) => e.type === 'response.output_item.done').map((e) => e.item);
      expect(done.map((item) => item.id)).toEqual(added);
      expect(done.at(-1)).toMatchObject({ type: 'message', status: 'incomplete' });
      expect(events.some((e) => e.type === 'response.output_text.done')).toBe(true);
      const stored = (await call('GET', `/v1/responses/${id}`)).body;
      expect(stored.status).toBe('cancelled');
      expect(stored.output.some((item: any) => item.status === 'in_progress')).toBe(false);
      const runId = cancelled.body.metadata.run_id;
      // Stored as what happened: the client asked, it did not go away.
      expect((await call('GET', `/v1/runs/${runId}`)).body).toMatchObject({
        status: 'cancelled',
        error: 'the client cancelled the run before it finished',
      });
    } finally {
      team.options = {};
    }
  });
});

describe('requests the server cannot serve are refused, not dropped', () => {
  it.each([
    ['an unknown input item type', { input: [{ type: 'web_search_call', id: 'ws_1' }] }, 'input[0].type'],
    ['a hosted tool', { input: 'hi', tools: [{ type: 'web_search_preview' }] }, 'tools[0].type'],
    ['file search', { input: 'hi', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools[0].type'],
    ['computer use', { input: 'hi', tools: [{ type: 'computer_use_preview' }] }, 'tools[0].type'],
    ['a background response', { input: 'hi', background: true }, 'background'],
    ['an image by file id', { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] }, null],
  ])('%s', async (_what, body, param) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    if (param) expect(res.body.error.param).toBe(param);
    expect(res.body.error.message.length).toBeGreaterThan(20);
  });

  it('a tool the server does not offer names itself in the message', async () => {
    const res = await create({ input: 'hi', tools: [{ type: 'web_search_preview' }] });
    expect(res.body.error).toMatchObject({ code: 'unsupported_tool_type' });
    expect(res.body.error.message).toContain('web_search_preview');
  });

  it('a missing input or model is a validation error', async () => {
    expect((await call('POST', '/v1/responses', { model: 'cortex-flow' })).body.error).toMatchObject({
      param: 'input',
      code: 'missing_required_parameter',
    });
    expect((await call('POST', '/v1/responses', { input: 'hi' })).body.error.param).toBe('model');
  });

  it('a message item or a function tool without what it needs is missing it; an input of the wrong type says what it takes', async () => {
    const missing = await create({ input: [{ role: 'user', content: 'hi' }, { role: 'user' }] });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toEqual({
      message: "Missing required parameter: 'input[1].content'.",
      type: 'validation_error',
      param: 'input[1].content',
      code: 'missing_required_parameter',
    });
    const nameless = await create({ input: 'hi', tools: [{ type: 'function', parameters: {} }] });
    expect(nameless.status).toBe(422);
    expect(nameless.body.error).toMatchObject({ param: 'tools[0].name', code: 'missing_required_parameter' });
    const wrong = await create({ input: 42 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toEqual({
      message: "Invalid type for 'input': expected a string or an array, but got a number.",
      type: 'invalid_request_error',
      param: 'input',
      code: 'invalid_type',
    });
  });
});
