// Paging GET /v1/conversations and GET /v1/runs as a script does, while the lists change: `after`
// and `before` cursors, a cursor that names nothing (deleted meanwhile, another key's, made up) is
// a 400 naming it rather than an empty page that reads as the end of the list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(new RecordingOrchestrator(), { CORTEX_API_KEYS: 'mine,theirs' });
});
afterAll(() => srv.close());

const call = async (method: string, path: string, key = 'mine') => {
  const res = await fetch(`${srv.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any };
};
const ids = (page: any) => page.data.map((item: any) => item.id);
const turn = (conversation: string, content = 'hi', key = 'mine') =>
  chat(
    srv.baseUrl,
    { conversation_id: conversation, messages: [{ role: 'user', content }] },
    { authorization: `Bearer ${key}` },
  );

/** Every page of a list, following `has_more` with `after` = the previous page's `last_id`. */
async function pageThrough(path: string, between?: () => Promise<unknown>) {
  const seen: string[] = [];
  let after = '';
  for (;;) {
    const page = await call('GET', `${path}${after && `&after=${after}`}`);
    expect(page.status).toBe(200);
    seen.push(...ids(page.body));
    if (!page.body.has_more) return seen;
    after = page.body.last_id;
    await between?.();
  }
}

describe('list cursors', () => {
  it('a cursor deleted while paging is a 400 naming it, not a silent end of the list', async () => {
    for (const n of [1, 2, 3, 4]) await turn(`paged-${n}`);
    const first = await call('GET', '/v1/conversations?limit=2');
    expect(first.body.has_more).toBe(true);
    expect((await call('DELETE', `/v1/conversations/${first.body.last_id}`)).status).toBe(200);
    const next = await call('GET', `/v1/conversations?limit=2&after=${first.body.last_id}`);
    expect(next.status).toBe(400);
    expect(next.body.error).toMatchObject({ type: 'invalid_request_error', param: 'after', code: 'invalid_value' });
    expect(next.body.error.message).toContain(first.body.last_id);
  });

  it("a made-up cursor, another key's, or another conversation's run is the same 400", async () => {
    await turn('theirs-only', 'hi', 'theirs');
    const { body } = await turn('runs-a');
    const otherRun = (await turn('runs-b')).body.metadata.run_id;
    for (const [path, param] of [
      ['/v1/conversations?after=conv_nope', 'after'],
      ['/v1/conversations?after=theirs-only', 'after'],
      ['/v1/conversations?before=theirs-only', 'before'],
      [`/v1/runs?conversation_id=runs-a&after=${otherRun}`, 'after'],
      ['/v1/runs?conversation_id=runs-a&before=run_nope', 'before'],
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.param, path).toBe(param);
    }
    // The last item of a list is a cursor that exists: the page after it is empty, not an error.
    const last = await call('GET', `/v1/runs?conversation_id=runs-a&after=${body.metadata.run_id}`);
    expect(last.body).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('`before` pages back to the page before, in the same order', async () => {
    for (const content of ['one', 'two', 'three', 'four', 'five']) await turn('back-and-forth', content);
    for (const order of ['desc', 'asc']) {
      const path = `/v1/runs?conversation_id=back-and-forth&order=${order}&limit=2`;
      const all = ids((await call('GET', `/v1/runs?conversation_id=back-and-forth&order=${order}`)).body);
      expect(all).toHaveLength(5);
      const page1 = (await call('GET', path)).body;
      const page2 = (await call('GET', `${path}&after=${page1.last_id}`)).body;
      expect(ids(page2)).toEqual(all.slice(2, 4));
      const back = (await call('GET', `${path}&before=${page2.first_id}`)).body;
      expect(back).toMatchObject({ object: 'list', first_id: all[0], last_id: all[1], has_more: false });
      expect(ids(back)).toEqual(all.slice(0, 2));
      const fromEnd = (await call('GET', `${path}&before=${all[4]}`)).body;
      expect(ids(fromEnd)).toEqual(all.slice(2, 4));
      expect(fromEnd.has_more).toBe(true);
    }
    const both = await call('GET', `/v1/conversations?after=back-and-forth&before=back-and-forth`);
    expect(both.status).toBe(400);
  });

  it('paging while new conversations are created sees each one it started with exactly once', async () => {
    const before = await pageThrough('/v1/conversations?limit=100');
    let n = 0;
    const seen = await pageThrough('/v1/conversations?limit=2', () => turn(`created-while-paging-${n++}`));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => !id.startsWith('created-while-paging-'))).toEqual(before);
  });
});
