// Ids a client sends (conversation ids in the body, the X-Conversation-Id header and URLs; run ids)
// follow one documented rule, `[A-Za-z0-9_.:-]{1,128}`: anything else is a 400 naming the
// parameter, before any run starts, so nothing a client chose can break a response header or hang
// a stream; and an id accepted at creation is always reachable by GET and DELETE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { exchange, isErrorEnvelope, portOf, request } from './raw-http.ts';

let srv: TestServer;
let orchestrator: RecordingOrchestrator;
beforeAll(async () => {
  orchestrator = new RecordingOrchestrator();
  srv = await startTestServer(orchestrator, { CORTEX_MAX_CONCURRENT_RUNS: '1', CORTEX_QUEUE_TIMEOUT_SECONDS: '0.2' });
});
afterAll(() => srv.close());

const hi = [{ role: 'user', content: 'hi' }];
const BAD_IDS = ['conv_中文', 'café', 'a b', 'line\nbreak', 'slash/id', '', 'x'.repeat(129)];

describe('conversation ids', () => {
  it.each(BAD_IDS.filter(Boolean))('refuses %j in the body with a 400 naming conversation_id', async (id) => {
    for (const stream of [false, true]) {
      const r = await chat(srv.baseUrl, { conversation_id: id, messages: hi, stream });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param: 'conversation_id' });
    }
  });

  it('refuses an id above U+00FF in the X-Conversation-Id header (raw UTF-8 bytes), streamed or not', async () => {
    for (const stream of [false, true]) {
      const body = JSON.stringify({ model: 'cortex-flow', messages: hi, stream });
      const raw = Buffer.concat([
        Buffer.from('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'),
        Buffer.from('X-Conversation-Id: conv_\u4e2d\u6587\r\n', 'utf8'),
        Buffer.from(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      ]);
      const { response, closed } = await exchange(portOf(srv.baseUrl), raw);
      expect(closed).toBe(true); // answered, not hung
      expect(response?.status).toBe(400);
      expect(isErrorEnvelope(response!.body)).toBe(true);
      expect(JSON.parse(response!.body).error.param).toBe('conversation_id');
    }
  });

  it('never takes a run slot for a refused id: valid requests still run afterwards', async () => {
    // One slot: a request that held it forever would make every later one a 429.
    for (let i = 0; i < 3; i++)
      await chat(srv.baseUrl, { conversation_id: 'conv_\u00e9\u4e2d', messages: hi, stream: true });
    const r = await chat(srv.baseUrl, { messages: hi });
    expect(r.status).toBe(200);
  });

  it('stores nothing for a refused id', async () => {
    const before = orchestrator.inputs.length;
    const r = await chat(srv.baseUrl, { conversation_id: 'x'.repeat(200), messages: hi });
    expect(r.status).toBe(400);
    expect(orchestrator.inputs.length).toBe(before);
    expect((await srv.store.listConversations('', { limit: 100, order: 'desc' })).data.map((c) => c.id)).not.toContain(
      'x'.repeat(200),
    );
  });

  it('accepts ids up to 128 characters and reaches them by GET and DELETE (one limit everywhere)', async () => {
    const id = `conv:${'a'.repeat(119)}.-_Z`;
    expect(id).toHaveLength(128);
    const created = await chat(srv.baseUrl, { conversation_id: id, messages: hi });
    expect(created.status).toBe(200);
    expect(created.headers.get('x-conversation-id')).toBe(id);
    const got = await fetch(`${srv.baseUrl}/v1/conversations/${id}`);
    expect(got.status).toBe(200);
    expect(((await got.json()) as any).id).toBe(id);
    expect((await fetch(`${srv.baseUrl}/v1/conversations/${id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it.each([
    ['GET', '/v1/conversations/'],
    ['DELETE', '/v1/conversations/'],
    ['GET', '/v1/runs/'],
  ])('answers %s %s with an over-long or odd id as a 400 in the envelope (never 414)', async (method, prefix) => {
    for (const id of ['y'.repeat(129), 'y'.repeat(300), '%E4%B8%AD', 'a%20b']) {
      const res = await fetch(`${srv.baseUrl}${prefix}${id}`, { method });
      expect(res.status, id).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.param).toBe(prefix.includes('runs') ? 'run_id' : 'conversation_id');
    }
  });

  it('refuses an odd `after` cursor in the conversation list', async () => {
    const res = await fetch(`${srv.baseUrl}/v1/conversations?after=${'z'.repeat(129)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe('after');
  });
});

describe('image parts', () => {
  const withImage = (url: string) => [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: { url } },
      ],
    },
  ];

  it.each(['not a url', 'javascript:alert(1)', 'file:///etc/passwd', 'data:text/html;base64,PGI+', 'ftp://x/y.png'])(
    'refuses %j with a 400 naming messages[0].content[1].image_url.url, and stores nothing',
    async (url) => {
      const before = orchestrator.inputs.length;
      const r = await chat(srv.baseUrl, { conversation_id: 'conv_images', messages: withImage(url) });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'messages[0].content[1].image_url.url',
      });
      expect(orchestrator.inputs.length).toBe(before);
      expect(await srv.store.getMessages('conv_images')).toEqual([]);
    },
  );

  it('accepts https URLs and base64 image data URLs, and the conversation goes on', async () => {
    for (const url of ['https://example.com/cat.png', 'data:image/png;base64,iVBORw0KGgo=']) {
      expect((await chat(srv.baseUrl, { conversation_id: 'conv_images_ok', messages: withImage(url) })).status).toBe(
        200,
      );
    }
    expect((await chat(srv.baseUrl, { conversation_id: 'conv_images_ok', messages: hi })).status).toBe(200);
  });
});

describe('the request id', () => {
  it('is echoed only when it follows the id rule', async () => {
    const { response } = await exchange(portOf(srv.baseUrl), request('GET', '/health', { 'X-Request-Id': 'r\u00e9q' }));
    expect(response?.status).toBe(200);
    expect(response!.headers['x-request-id']).toMatch(/^req_/);
  });
});
