// A run paused for client tools resumes whichever way the next request keeps its state: `store`
// says only whether the NEW response is kept (OpenAI), not whether the paused run it answers is
// used. A stored response that paused is resumed by a `store: false` request naming it, and a run
// paused under `store: false` (its checkpoint sealed in the reasoning item) by a `store: true`
// request carrying that item back; also after a restart. `researchCalls` counts the team's
// expensive work: resumed runs do none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { PausingOrchestrator } from '../support/pausing-orchestrator.ts';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A server on a data directory that outlives it (a restart is another server on the same one). */
async function serve(dataDir: string) {
  const team = new PausingOrchestrator();
  const server = await startTestServer(team, { CORTEX_DATA_DIR: dataDir });
  servers.push(server);
  const client = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
  return { team, server, client };
}

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-crossing-'));
  dirs.push(dir);
  return dir;
}

const lookupOrder = {
  type: 'function' as const,
  name: 'lookup_order',
  parameters: { type: 'object', properties: { id: { type: 'number' } }, required: ['id'] },
  strict: false,
};
const question = { role: 'user' as const, content: 'Where is order 42?' };
const RESUMED = 'From earlier research (order 42 exists) and your tool (order 42 shipped).';
const resultsFor = (output: any[]) =>
  output
    .filter((i) => i.type === 'function_call')
    .map((c) => ({ type: 'function_call_output' as const, call_id: c.call_id, output: 'order 42 shipped' }));

async function ask(client: OpenAI, body: Record<string, unknown>, stream: boolean): Promise<any> {
  const request = { model: 'cortex-flow', tools: [lookupOrder], ...body } as any;
  return stream ? client.responses.stream(request).finalResponse() : client.responses.create(request);
}

describe('store: false answering a stored response that paused', () => {
  for (const stream of [false, true]) {
    it(`resumes its run, keeps nothing, and leaves the stored response as it was (stream: ${stream})`, async () => {
      const { team, server, client } = await serve(dataDir());
      const paused = await ask(client, { input: [question] }, stream);
      expect(paused.output.at(-1).type).toBe('function_call');
      const stored = await server.store.getMessages(paused.conversation_id ?? paused.metadata.conversation_id);

      const answered = await ask(
        client,
        { store: false, previous_response_id: paused.id, input: resultsFor(paused.output) },
        stream,
      );
      expect(answered.output_text).toBe(RESUMED);
      expect(team.researchCalls).toBe(1); // the first turn's research only
      expect(team.inputs[1].resume).toMatchObject({ runId: paused.metadata.run_id });
      // Not kept: the stored conversation still ends with the calls, and the response is not found.
      const conversationId = paused.metadata.conversation_id;
      expect(await server.store.getMessages(conversationId)).toEqual(stored);
      expect(await client.responses.retrieve(answered.id).catch((err) => err.status)).toBe(404);

      // The paused run was used, not taken: a kept request answering the same calls resumes it too.
      const kept = await ask(client, { previous_response_id: paused.id, input: resultsFor(paused.output) }, stream);
      expect(kept.output_text).toBe(RESUMED);
      expect(team.researchCalls).toBe(1);
    });
  }

  it('resumes it after a restart', async () => {
    const dir = dataDir();
    const first = await serve(dir);
    const paused = await ask(first.client, { input: [question] }, false);
    await servers.splice(0)[0].close();

    const { team, client } = await serve(dir);
    const answered = await ask(
      client,
      { store: false, previous_response_id: paused.id, input: resultsFor(paused.output) },
      false,
    );
    expect(answered.output_text).toBe(RESUMED);
    expect(team.researchCalls).toBe(0);
  });

  it('with results that answer no call of the paused run: refused as a kept request is, naming the item', async () => {
    const { team, client } = await serve(dataDir());
    const paused = await ask(client, { input: [question] }, false);
    const nope = { type: 'function_call_output', call_id: 'call_nope', output: 'x' };
    for (const store of [false, true])
      for (const [input, param] of [
        [[nope], 'input[0].call_id'],
        [[...resultsFor(paused.output), nope], 'input[1].call_id'],
      ] as const) {
        const refused = await ask(client, { store, previous_response_id: paused.id, input }, false).catch((e) => e);
        expect(refused.status, `store: ${store}`).toBe(400);
        expect(refused.error).toMatchObject({ code: 'invalid_tool_call_id', param });
      }
    expect(team.inputs).toHaveLength(1);
  });
});

describe('store: true carrying back a run paused under store: false', () => {
  it('resumes it from the sealed checkpoint, also after a restart, and keeps the turn', async () => {
    const dir = dataDir();
    const first = await serve(dir);
    const sealing = { store: false, include: ['reasoning.encrypted_content'] };
    const paused = await ask(first.client, { ...sealing, input: [question] }, false);
    expect(typeof paused.output[0].encrypted_content).toBe('string');
    await servers.splice(0)[0].close();

    const { team, server, client } = await serve(dir);
    for (const stream of [false, true]) {
      // Codex-style: the whole history again (the reasoning item with it), the results last.
      const answered = await ask(client, { input: [question, ...paused.output, ...resultsFor(paused.output)] }, stream);
      expect(answered.output_text).toBe(RESUMED);
      // Kept: found by its id, its conversation holding the history it was given and its answer.
      expect((await client.responses.retrieve(answered.id)).output_text).toBe(RESUMED);
      const stored = await server.store.getMessages(answered.metadata.conversation_id);
      expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    }
    expect(team.researchCalls).toBe(0);
  });
});
