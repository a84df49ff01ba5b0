// Client tool loops that are left mid-way: a client that never sends its results, and one whose
// request carrying them is dropped while the team works (an SDK's timeout, a closed tab) and then
// sent again. Nothing may be left holding a run slot, and the resend goes on from the paused run's
// checkpoint instead of starting the team's research over.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { until } from '../support/team-script.ts';
import { loopScript, startLoopTeam, type LoopTeam } from './loop-team.ts';

let team: LoopTeam;
let client: OpenAI;
beforeAll(async () => {
  team = await startLoopTeam(2);
  client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => team.close());
beforeEach(() => {
  team.upstream.setResponder(loopScript(2));
});

const PARAMETERS = { type: 'object', properties: { step: { type: 'number' }, name: { type: 'string' } } };
const tools = ['alpha', 'beta'].map((name) => ({
  type: 'function' as const,
  function: { name, parameters: PARAMETERS },
}));
const base = () => team.server.baseUrl;
const runs = async (conversationId: string): Promise<string[]> =>
  (await (await fetch(`${base()}/v1/runs?conversation_id=${conversationId}&limit=100`)).json()).data
    .map((r: any) => r.status)
    .reverse();
const roles = async (conversationId: string): Promise<string[]> =>
  (await (await fetch(`${base()}/v1/conversations/${conversationId}`)).json()).messages.map((m: any) => m.role);

async function firstStep(question: string) {
  const res = await client.chat.completions.create({
    model: 'cortex-flow',
    messages: [{ role: 'user', content: question }],
    tools,
  });
  expect(res.choices[0].finish_reason).toBe('tool_calls');
  const message = res.choices[0].message;
  const results = message.tool_calls!.map((c) => ({
    role: 'tool' as const,
    tool_call_id: c.id,
    content: `done ${c.id.slice(-4)}`,
  }));
  return { conversationId: (res as any).conversation_id as string, message, results };
}

it('a loop the client never goes on with leaves its run paused and no slot held', async () => {
  const { conversationId } = await firstStep('Left after the first step');
  expect(await runs(conversationId)).toEqual(['tool_calls']);
  expect(team.server.deps.gate.running).toBe(0);
  // The conversation stays usable: a new question there is answered (the calls read as unanswered).
  const next = await client.chat.completions.create({
    model: 'cortex-flow',
    messages: [{ role: 'user', content: 'Something else' }],
    conversation_id: conversationId,
  } as never);
  expect(next.choices[0].message.content).toMatch(/^Final: /);
  expect(await runs(conversationId)).toEqual(['tool_calls', 'completed']);
});

for (const alone of [false, true])
  it(`a resume dropped mid-way and sent again goes on from the checkpoint (${alone ? 'results alone' : 'history resent'})`, async () => {
    const question = `Dropped resume ${alone}`;
    const before = team.upstream.requests.length;
    const step = await firstStep(question);
    const messages: OpenAI.ChatCompletionMessageParam[] = alone
      ? step.results
      : [{ role: 'user', content: question }, step.message, ...step.results];

    // The supervisor's resumed turn takes long enough for the client to give up on it.
    const script = loopScript(2);
    team.upstream.setResponder((req) => ({ ...script(req), ...(req.agent === 'supervisor' ? { delayMs: 400 } : {}) }));
    const paused = team.upstream.requests.length;
    const leave = new AbortController();
    const dropped = client.chat.completions.create({ model: 'cortex-flow', messages, tools }, { signal: leave.signal });
    await until(() => team.upstream.requests.length > paused, 'the resumed turn');
    leave.abort();
    await expect(dropped).rejects.toThrow();
    await until(() => team.server.deps.gate.running === 0, 'the run slot');
    team.upstream.setResponder(script);

    const from = team.upstream.requests.length;
    const again = await client.chat.completions.create({ model: 'cortex-flow', messages, tools });
    expect(again.choices[0].finish_reason).toBe('tool_calls');
    expect((again as any).conversation_id).toBe(step.conversationId);
    const resumed = team.upstream.requests.slice(from);
    // The research is not done again, and the supervisor sees each result once.
    expect(resumed.map((r) => r.agent)).toEqual(['supervisor']);
    const seen = resumed[0].body.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.content);
    expect(seen).toEqual([
      expect.stringContaining('The researcher found fact-researcher.'),
      ...step.results.map((r) => r.content),
    ]);
    expect(await runs(step.conversationId)).toEqual(['tool_calls', 'cancelled', 'tool_calls']);
    expect(await roles(step.conversationId)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
    expect(team.upstream.requests.slice(before).filter((r) => r.agent === 'researcher')).toHaveLength(1);
  });
