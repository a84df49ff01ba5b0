// text.format json_schema through the real team: the writer's upstream call carries the schema as
// its response_format, and the response echoes the format whole (checked against Open Responses).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { expectResponseShape } from '../support/open-responses-schemas.ts';
import { ScriptBook, teamScript } from '../support/team-script.ts';

let upstream: MockUpstream;
let book: ScriptBook;
let srv: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  const config = loadConfig({
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test-secret',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_LOG_LEVEL: 'silent',
  });
  srv = await startTestServer(createTeam(config, new ToolRegistry()));
});
afterAll(async () => {
  await srv?.close();
  await upstream?.close();
});

it('json_schema reaches the writer as its response_format, and is echoed whole', async () => {
  const tag = book.add('schema', teamScript('schema', { writer: { text: '{"city":"Paris"}' } }));
  const format = {
    type: 'json_schema',
    name: 'capital',
    description: 'A capital city',
    schema: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  };
  const res = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', input: `Capital of France? [[${tag}]]`, text: { format } }),
  });
  const body = (await res.json()) as any;
  expect(res.status).toBe(200);
  expectResponseShape(body);
  expect(body.text.format).toEqual(format);
  // Without description and strict, the echo still carries both, as Open Responses requires.
  const { description: _d, strict: _s, ...bare } = format;
  const echoed = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', input: `Capital of France? [[${tag}]]`, text: { format: bare } }),
  });
  expect(((await echoed.json()) as any).text.format).toEqual({ ...bare, description: null, strict: false });
  expect(JSON.parse(body.output.at(-1).content[0].text)).toEqual({ city: 'Paris' });
  const writer = book.requests(tag, 'writer')[0].body;
  expect(writer.response_format.type).toBe('json_schema');
  expect(writer.response_format.json_schema.schema).toMatchObject(format.schema);
  // The planning turns are not shaped: they must stay free to call tools.
  expect(book.requests(tag, 'supervisor')[0].body.response_format).toBeUndefined();
});
