// Issue 11 "client tools pause and resume the team", the lifecycle's part: a run that pauses for a
// client tool has its checkpoint stored under the tool-call ids; the request carrying the tool
// results (with or without a conversation id, the whole history or only the results) continues
// that conversation with `resume`, also after a restart, on SQLite and on PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestServerOptions } from '../support/app-server.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { PausingOrchestrator } from '../support/pausing-orchestrator.ts';

const tools = [
  {
    type: 'function' as const,
    function: { name: 'lookup_order', parameters: { type: 'object', properties: { id: { type: 'number' } } } },
  },
];
const question = { role: 'user' as const, content: 'Where is order 42?' };
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Backend {
  name: string;
  env: Record<string, string>;
  options: TestServerOptions;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-resume-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return { name: 'sqlite', env: { CORTEX_DATA_DIR: dir }, options: {} };
}

async function postgresBackend(): Promise<Backend> {
  const schema: TestSchema = await freshSchema('resume');
  cleanups.push(() => schema.drop().catch(() => {}));
  const dir = mkdtempSync(join(tmpdir(), 'cortex-resume-pg-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return {
    name: 'postgres',
    env: { CORTEX_DATABASE_URL: schema.url, CORTEX_DATA_DIR: dir },
    options: { schema: schema.schema },
  };
}

async function boot(backend: Backend) {
  const team = new PausingOrchestrator();
  const srv: TestServer = await startTestServer(team, backend.env, {}, backend.options);
  const client = new OpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
  return { team, srv, client };
}

async function pause(backend: Backend) {
  const { srv, client } = await boot(backend);
  const first: any = await client.chat.completions.create({ model: 'cortex-flow', messages: [question], tools });
  await srv.close(); // a restart: the next server knows only what the store kept
  expect(first.choices[0].finish_reason).toBe('tool_calls');
  return first;
}

for (const make of [async () => sqliteBackend(), postgresBackend]) {
  describe('a run paused for a client tool', async () => {
    const backend = await make();

    it(`resumes after a restart from the resent history without a conversation id (${backend.name})`, async () => {
      const first = await pause(backend);
      const call = first.choices[0].message.tool_calls[0];
      const { team, srv, client } = await boot(backend);
      try {
        const second: any = await client.chat.completions.create({
          model: 'cortex-flow',
          messages: [
            question,
            first.choices[0].message,
            { role: 'tool', tool_call_id: call.id, content: 'shipped Monday' },
          ],
          tools,
        });
        expect(second.choices[0].message.content).toBe(
          'From earlier research (order 42 exists) and your tool (shipped Monday).',
        );
        expect(team.researchCalls).toBe(0);
        expect(team.inputs[0].resume).toMatchObject({ runId: first.metadata.run_id, pendingToolCallIds: [call.id] });
        expect(second.conversation_id).toBe(first.conversation_id);
        expect(team.inputs[0].conversationId).toBe(first.conversation_id);
        // The resent history is not stored again: the transcript holds each message once.
        const stored = await srv.store.getMessages(first.conversation_id);
        expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      } finally {
        await srv.close();
      }
    });

    it(`is found by its tool-call ids alone, once, and only for the same model (${backend.name})`, async () => {
      const resultsFor = (paused: any) => [
        { role: 'tool' as const, tool_call_id: paused.choices[0].message.tool_calls[0].id, content: 'shipped Monday' },
      ];
      const first = await pause(backend);
      const { team, srv, client } = await boot(backend);
      try {
        // Another model does not resume this team's run: it answers the results in a turn of its own.
        const other: any = await client.chat.completions.create({
          model: 'cortex-flow-supervisor',
          messages: resultsFor(first),
          tools,
        });
        expect(other.choices[0].message.content).toBe('Researched everything again.');
        expect(team.inputs[0].resume).toBeUndefined();
        // That turn answered the calls and went on: the paused run is no longer there to resume.
        const late = await client.chat.completions
          .create({ model: 'cortex-flow', messages: resultsFor(first), tools })
          .catch((err) => err);
        expect(late).toMatchObject({ status: 400, code: 'invalid_tool_call_id' });

        const second = await pause(backend);
        // Only the tool results, no history, no conversation id: the paused conversation goes on.
        const resumed: any = await client.chat.completions.create({
          model: 'cortex-flow',
          messages: resultsFor(second),
          tools,
        });
        expect(team.inputs[1].resume?.runId).toBe(second.metadata.run_id);
        expect(resumed.conversation_id).toBe(second.conversation_id);
        // Resumed for good: the same results alone again answer no waiting call (a 400, no second run).
        const again = await client.chat.completions
          .create({ model: 'cortex-flow', messages: resultsFor(second), tools })
          .catch((err) => err);
        expect(again).toMatchObject({ status: 400, code: 'invalid_tool_call_id', param: 'messages[0].tool_call_id' });
        expect(team.inputs).toHaveLength(2);
      } finally {
        await srv.close();
      }
    });

    it(`is not resumed once a later turn of its conversation went on without the results (${backend.name})`, async () => {
      const first = await pause(backend);
      const call = first.choices[0].message.tool_calls[0];
      const { team, srv, client } = await boot(backend);
      try {
        const moved: any = await client.chat.completions.create({
          model: 'cortex-flow',
          messages: [{ role: 'user', content: 'Forget it.' }],
          tools,
          // @ts-expect-error: the conversation_id extension
          conversation_id: first.conversation_id,
        });
        expect(moved.conversation_id).toBe(first.conversation_id);
        const stale = await client.chat.completions
          .create({ model: 'cortex-flow', messages: [{ role: 'tool', tool_call_id: call.id, content: 'x' }], tools })
          .catch((err) => err);
        expect(stale).toMatchObject({ status: 400, code: 'invalid_tool_call_id' });
        expect(team.inputs.every((i) => i.resume === undefined)).toBe(true);
        const roles = (await srv.store.getMessages(first.conversation_id)).map((m) => m.role);
        expect(roles).toEqual(['user', 'assistant', 'user', 'assistant']);
      } finally {
        await srv.close();
      }
    });
  });
}
