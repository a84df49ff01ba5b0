// Multi-step agent loops of real client libraries against the live server and the real team
// (in-suite upstream, loop-team.ts): five steps of client tools, two calls at once in the first, a
// tool whose failure the client sends as its result. The team's research is done once per loop,
// each step resumes its own paused run, the answer uses every result, and the conversation holds
// each message once, whichever way the client keeps its history.
import { createOpenAI } from '@ai-sdk/openai';
import { HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type { RunnableToolFunctionWithParse } from 'openai/lib/RunnableFunction';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loopScript, startLoopTeam, type LoopTeam } from './loop-team.ts';

let team: LoopTeam;
let client: OpenAI;
beforeAll(async () => {
  team = await startLoopTeam(5);
  client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => team.close());
beforeEach(() => {
  team.upstream.setResponder(loopScript(5));
});

const PARAMETERS = { type: 'object', properties: { step: { type: 'number' }, name: { type: 'string' } } };
/** What the client's tools return: `beta` fails, and the client sends its error as the result. */
const run = (name: string, args: { step: number }) =>
  name === 'beta' ? `error: beta failed at ${args.step}` : `${name}-${args.step}`;
const EXPECTED = 'Final: alpha-0 | error: beta failed at 0 | error: beta failed at 1 | gamma-2 | alpha-3';

const conversations = async (): Promise<string[]> =>
  (await (await fetch(`${team.server.baseUrl}/v1/conversations?limit=100`)).json()).data.map((c: any) => c.id);
const transcript = async (id: string): Promise<string[]> =>
  (await (await fetch(`${team.server.baseUrl}/v1/conversations/${id}`)).json()).messages.map((m: any) =>
    m.role === 'assistant' && m.tool_calls?.length
      ? `calls ${m.tool_calls.map((c: any) => c.function.name).join('+')}`
      : `${m.role}: ${m.content}`,
  );
const loopTranscript = (question: string, tools = ['alpha', 'beta', 'gamma']) => [
  `user: ${question}`,
  `calls ${tools[0]}+${tools[1]}`,
  `tool: ${run(tools[0], { step: 0 })}`,
  `tool: ${run(tools[1], { step: 0 })}`,
  `calls ${tools[1]}`,
  `tool: ${run(tools[1], { step: 1 })}`,
  `calls ${tools[2]}`,
  `tool: ${run(tools[2], { step: 2 })}`,
  `calls ${tools[0]}`,
  `tool: ${run(tools[0], { step: 3 })}`,
  expect.stringMatching(/^assistant: Final: /),
];

/** Runs `loop`, then checks one research, one new conversation holding the loop once, and no slot held. */
async function oneLoop(question: string, loop: () => Promise<string>) {
  const before = team.upstream.requests.length;
  const known = new Set(await conversations());
  expect(await loop()).toBe(EXPECTED);
  const agents = team.upstream.requests.slice(before).map((r) => r.agent);
  expect(agents.filter((a) => a === 'researcher')).toHaveLength(1);
  expect(agents.filter((a) => a === 'writer')).toHaveLength(1);
  const added = (await conversations()).filter((id) => !known.has(id));
  expect(added).toHaveLength(1);
  expect(await transcript(added[0])).toEqual(loopTranscript(question));
  expect(team.server.deps.gate.running).toBe(0);
}

describe("the openai package's runTools", () => {
  const runnable = (name: string): RunnableToolFunctionWithParse<{ step: number }> => ({
    type: 'function',
    function: {
      name,
      description: `The ${name} tool`,
      parameters: PARAMETERS,
      // A parse error is the helper's way of sending a tool's failure back as its result.
      parse: (text: string) => {
        const args = JSON.parse(text) as { step: number };
        if (name === 'beta') throw new Error(run(name, args));
        return args;
      },
      function: (args: { step: number }) => run(name, args),
    },
  });
  for (const stream of [false, true])
    it(`runs five steps, streamed: ${stream}`, async () => {
      await oneLoop(`runTools ${stream}`, async () => {
        const params = {
          model: 'cortex-flow',
          messages: [{ role: 'user' as const, content: `runTools ${stream}` }],
          tools: ['alpha', 'beta', 'gamma'].map(runnable),
        };
        const runner = stream
          ? client.chat.completions.runTools({ ...params, stream: true, stream_options: { include_usage: true } })
          : client.chat.completions.runTools(params);
        const content = (await runner.finalContent())!;
        // Each step counts the context it was given: it grows with the results, never resets.
        const usage = await runner.totalUsage();
        expect(usage.prompt_tokens).toBeGreaterThan(5 * 10);
        expect(usage.completion_tokens).toBeGreaterThan(0);
        return content;
      });
    });
});

describe("the AI SDK's multi-step loop", () => {
  const tools = Object.fromEntries(
    ['alpha', 'beta', 'gamma'].map((name) => [
      name,
      tool({
        inputSchema: jsonSchema<{ step: number }>(PARAMETERS as never),
        execute: async (args) => run(name, args),
      }),
    ]),
  );
  const provider = () => createOpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused' });
  for (const api of ['chat', 'responses'] as const)
    for (const stream of [false, true])
      it(`on ${api}, streamed: ${stream}`, async () => {
        const prompt = `AI SDK ${api} ${stream}`;
        await oneLoop(prompt, async () => {
          const settings = { model: provider()[api]('cortex-flow'), prompt, tools, stopWhen: stepCountIs(8) };
          const result = stream ? streamText(settings) : await generateText(settings);
          expect(await result.steps).toHaveLength(5);
          return result.text;
        });
      });
});

it("LangChain's bindTools in a manual loop, invoked and streamed in turn", async () => {
  const model = new ChatOpenAI({
    model: 'cortex-flow',
    apiKey: 'unused',
    maxRetries: 0,
    configuration: { baseURL: `${team.server.baseUrl}/v1` },
  }).bindTools(
    ['alpha', 'beta', 'gamma'].map((name) => ({ type: 'function', function: { name, parameters: PARAMETERS } })),
  );
  await oneLoop('LangChain loop', async () => {
    const history: BaseMessage[] = [new HumanMessage('LangChain loop')];
    for (let i = 0; i < 8; i++) {
      let ai;
      if (i % 2) ai = await model.invoke(history);
      else for await (const chunk of await model.stream(history)) ai = ai ? ai.concat(chunk) : chunk;
      history.push(ai!);
      if (!ai!.tool_calls?.length) return ai!.content as string;
      for (const c of ai!.tool_calls)
        history.push(new ToolMessage({ tool_call_id: c.id!, content: run(c.name, c.args as { step: number }) }));
    }
    throw new Error('the loop did not end');
  });
});

describe("the openai package's Responses API", () => {
  const tools = ['alpha', 'beta', 'gamma'].map((name) => ({
    type: 'function' as const,
    name,
    parameters: PARAMETERS,
    strict: false,
  }));
  for (const chain of [true, false])
    it(chain ? 'chained by previous_response_id' : 'resending the whole input', async () => {
      const question = `Responses ${chain}`;
      await oneLoop(question, async () => {
        let input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: question }];
        let previous: string | undefined;
        for (let i = 0; i < 8; i++) {
          const res = await client.responses.create({
            model: 'cortex-flow',
            input,
            tools,
            ...(previous ? { previous_response_id: previous } : {}),
          });
          const calls = res.output.filter((o) => o.type === 'function_call');
          if (!calls.length) return res.output_text;
          const outputs = calls.map((c) => ({
            type: 'function_call_output' as const,
            call_id: c.call_id,
            output: run(c.name, JSON.parse(c.arguments)),
          }));
          if (chain) [previous, input] = [res.id, outputs];
          else input = [...input, ...(res.output as OpenAI.Responses.ResponseInput), ...outputs];
        }
        throw new Error('the loop did not end');
      });
    });
});

it('two loops interleaved step by step, same question and other tools, each resume their own run', async () => {
  const question = 'Same first question';
  const loop = (names: string[]) => {
    const tools = names.map((name) => ({ type: 'function' as const, function: { name, parameters: PARAMETERS } }));
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: question }];
    return async (): Promise<string | undefined> => {
      const res = await client.chat.completions.create({ model: 'cortex-flow', messages, tools });
      const message = res.choices[0].message;
      messages.push(message);
      if (!message.tool_calls?.length) return message.content!;
      for (const c of message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[])
        messages.push({
          role: 'tool',
          tool_call_id: c.id,
          content: run(c.function.name, JSON.parse(c.function.arguments)),
        });
    };
  };
  const before = team.upstream.requests.length;
  const known = new Set(await conversations());
  const a = loop(['alpha', 'beta', 'gamma']);
  const b = loop(['delta', 'epsilon', 'zeta']);
  let answers: (string | undefined)[] = [];
  for (let i = 0; i < 5; i++) answers = await Promise.all([a(), b()]);
  expect(answers).toEqual([EXPECTED, 'Final: delta-0 | epsilon-0 | epsilon-1 | zeta-2 | delta-3']);
  expect(team.upstream.requests.slice(before).filter((r) => r.agent === 'researcher')).toHaveLength(2);
  const added = (await conversations()).filter((id) => !known.has(id));
  const transcripts = await Promise.all(added.map(transcript));
  expect(transcripts).toHaveLength(2);
  expect(transcripts).toContainEqual(loopTranscript(question));
  expect(transcripts).toContainEqual(loopTranscript(question, ['delta', 'epsilon', 'zeta']));
});
