// `store: false` with `include: ["reasoning.encrypted_content"]`: the server keeps nothing, and a run
// paused for client tools travels with the client instead, sealed in the reasoning item. The request
// that sends the item back with the tool results resumes the run (no second research), as OpenAI's
// stateless clients (Codex-style agents, the AI SDK with `store: false`) expect of reasoning state.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, tool } from 'ai';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectResponseShape } from '../support/open-responses-schemas.ts';
import { PausingOrchestrator } from '../support/pausing-orchestrator.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(env: Record<string, string> = {}) {
  const pauser = new PausingOrchestrator();
  const server = await startTestServer(pauser, env);
  servers.push(server);
  return { pauser, server };
}

const lookupOrder = {
  type: 'function' as const,
  name: 'lookup_order',
  description: 'Looks an order up',
  parameters: { type: 'object', properties: { id: { type: 'number' } }, required: ['id'] },
  strict: false,
};
const stateless = { model: 'cortex-flow', store: false, tools: [lookupOrder] };
const question = { role: 'user' as const, content: 'Where is order 42?' };
const RESUMED = 'From earlier research (order 42 exists) and your tool (order 42 shipped).';

/** The client's next input, Codex-style: everything so far, then the result of each call. */
function replay(output: any[]): any[] {
  const calls = output.filter((i) => i.type === 'function_call');
  return [
    question,
    ...output,
    ...calls.map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: 'order 42 shipped' })),
  ];
}

describe('store: false with reasoning.encrypted_content', () => {
  it('hands the paused run to the client sealed, and resumes it from what the client sends back', async () => {
    for (const stream of [false, true]) {
      const { pauser, server } = await serve();
      const client = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
      const ask = async (input: any[]) =>
        stream
          ? client.responses.stream({ ...stateless, input, include: ['reasoning.encrypted_content'] }).finalResponse()
          : client.responses.create({ ...stateless, input, include: ['reasoning.encrypted_content'] });

      const paused: any = await ask([question]);
      expectResponseShape(paused);
      expect(paused.output.map((i: any) => i.type)).toEqual(['reasoning', 'function_call']);
      const sealed = paused.output[0].encrypted_content;
      expect(typeof sealed).toBe('string');
      // Sealed: the findings the checkpoint holds cannot be read off it.
      expect(Buffer.from(sealed.split('.').at(-1), 'base64url').toString('latin1')).not.toContain('order 42 exists');

      const answered = await ask(replay(paused.output));
      expect(answered.output_text).toBe(RESUMED);
      expect(pauser.researchCalls).toBe(1); // resumed, not researched again
      // Nothing was kept on the server, for either turn.
      const kept: any = await (await fetch(`${server.baseUrl}/v1/conversations`)).json();
      expect(kept.data).toEqual([]);
    }
  });

  it('gives nothing sealed unless include asks, and then the tool results start the run over', async () => {
    const { pauser, server } = await serve();
    const client = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const paused: any = await client.responses.create({ ...stateless, input: [question] });
    expect(paused.output.some((i: any) => 'encrypted_content' in i)).toBe(false);
    const answered = await client.responses.create({ ...stateless, input: replay(paused.output) });
    expect(answered.output_text).toBe('Researched everything again.');
    expect(pauser.researchCalls).toBe(2);
  });

  it('refuses sealed content that was altered, or sealed for another key, naming the item', async () => {
    const { server } = await serve({ CORTEX_API_KEYS: 'key-a,key-b' });
    const as = (key: string) => new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: key, maxRetries: 0 });
    const paused: any = await as('key-a').responses.create({
      ...stateless,
      input: [question],
      include: ['reasoning.encrypted_content'],
    });
    const input = replay(paused.output);
    const sealed: string = input[1].encrypted_content;
    const altered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const [key, content] of [
      ['key-a', altered],
      ['key-b', sealed],
    ]) {
      const refused = await as(key)
        .responses.create({
          ...stateless,
          input: input.map((i, n) => (n === 1 ? { ...i, encrypted_content: content } : i)),
        })
        .catch((err) => err);
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
      expect(refused.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_encrypted_content',
        param: 'input[1].encrypted_content',
      });
    }
  });

  it("the AI SDK's openai.responses with store: false runs the tool and resumes the paused run", async () => {
    const { pauser, server } = await serve();
    const model = createOpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'unused' }).responses('cortex-flow');
    const result = await generateText({
      model,
      prompt: 'Where is order 42?',
      tools: {
        lookup_order: tool({
          description: 'Looks an order up',
          inputSchema: z.object({ id: z.number() }),
          execute: async ({ id }) => `order ${id} shipped`,
        }),
      },
      stopWhen: stepCountIs(3),
      providerOptions: { openai: { store: false, include: ['reasoning.encrypted_content'] } },
    });
    expect(result.text).toBe(RESUMED);
    expect(pauser.researchCalls).toBe(1);
  });
});
