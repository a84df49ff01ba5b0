// Conversations outlive a process: two server processes sharing one PostgreSQL serve alternate
// turns of one conversation, and a server on SQLite restarted mid-conversation continues it. The
// servers run the LLM team against the in-suite upstream, which shows what context reached it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { startServerProcess } from '../support/server-process.ts';
import { freshSchema, urlWithSchema, type TestSchema } from '../support/postgres.ts';

let upstream: MockUpstream;

beforeAll(async () => {
  // Echo the conversation the supervisor received, so the test can read the context.
  upstream = await startMockUpstream((req) => ({
    text: `Seen: ${req.body.messages
      .filter((m: any) => m.role === 'user')
      .map((m: any) => m.content)
      .join(' | ')}`,
  }));
});
afterAll(() => upstream.close());

const startServer = (env: Record<string, string>) => startServerProcess(upstream.baseUrl, env);

async function ask(url: string, conversationId: string, content: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      conversation_id: conversationId,
      messages: [{ role: 'user', content }],
    }),
  });
  const body = (await res.json()) as any;
  if (!res.ok) throw new Error(JSON.stringify(body));
  return body.choices[0].message.content;
}

describe('conversations across processes', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await freshSchema('procs');
  });
  afterAll(() => schema.drop());

  it('two server processes sharing PostgreSQL serve alternate turns of one conversation', async () => {
    const env = { CORTEX_DATABASE_URL: urlWithSchema(schema.url, schema.schema) };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]); // both migrate at once
    try {
      expect(await ask(a.url, 'shared', 'My name is Alice')).toBe('Seen: My name is Alice');
      expect(await ask(b.url, 'shared', 'What is my name?')).toBe('Seen: My name is Alice | What is my name?');
      expect(await ask(a.url, 'shared', 'And again?')).toBe('Seen: My name is Alice | What is my name? | And again?');
      const conv = (await (await fetch(`${b.url}/v1/conversations/shared`)).json()) as any;
      expect(conv.messages.map((m: any) => m.role)).toEqual([
        'user',
        'assistant',
        'user',
        'assistant',
        'user',
        'assistant',
      ]);
    } finally {
      expect(await a.stop()).toBe(0);
      expect(await b.stop()).toBe(0);
    }
  });

  it('a server on SQLite restarted mid-conversation continues it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cortex-restart-'));
    try {
      const first = await startServer({ CORTEX_DATA_DIR: dataDir });
      await ask(first.url, 'kept', 'Remember the number 42');
      expect(await first.stop()).toBe(0);
      const second = await startServer({ CORTEX_DATA_DIR: dataDir });
      expect(await ask(second.url, 'kept', 'Which number?')).toBe('Seen: Remember the number 42 | Which number?');
      expect(await second.stop()).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
