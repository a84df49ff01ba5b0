// Real clients that keep their own history and never send a conversation id, against the live
// server: each turn resends the whole chat as the client holds it, and must come back to the one
// conversation the server keeps, each message stored once and seen once by the agents.
import { createOpenAI } from '@ai-sdk/openai';
import { AIMessageChunk, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool, type ModelMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import {
  startMockUpstream,
  type MockUpstream,
  type Reply,
  type UpstreamRequest,
} from '../support/mock-openai-upstream.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';

const conversationCount = async (srv: TestServer) =>
  (await (await fetch(`${srv.baseUrl}/v1/conversations?limit=100`)).json()).data.length;
const listed = async (srv: TestServer, id: string) =>
  (await (await fetch(`${srv.baseUrl}/v1/conversations/${encodeURIComponent(id)}`)).json()).messages;

describe("LangChain's ChatOpenAI with content blocks (outputVersion v1)", () => {
  let srv: TestServer;
  const team = new RecordingOrchestrator({ answer: (input) => `Echo: ${input.messages.at(-1)?.content}, said twice.` });
  beforeAll(async () => {
    srv = await startTestServer(team);
  });
  afterAll(() => srv.close());

  it('keeps one conversation over 10 streamed and invoked turns, and a regenerate branches once', async () => {
    // The conversation each answer names, as the client receives it (LangChain keeps no such field).
    const ids: string[] = [];
    const model = new ChatOpenAI({
      model: 'cortex-flow',
      apiKey: 'unused',
      maxRetries: 0,
      outputVersion: 'v1',
      configuration: {
        baseURL: `${srv.baseUrl}/v1`,
        fetch: async (url: RequestInfo | URL, init?: RequestInit) => {
          const res = await fetch(url, init);
          ids.push(res.headers.get('x-conversation-id')!);
          return res;
        },
      },
    });
    // A streamed reply concatenated as LangChain apps keep it: with content blocks, one text block per
    // chunk, sent back as that many text parts of the assistant message.
    const reply = async (history: BaseMessage[], stream: boolean) => {
      if (!stream) return model.invoke(history);
      let whole: AIMessageChunk | undefined;
      for await (const chunk of await model.stream(history)) whole = whole ? whole.concat(chunk) : chunk;
      return whole!;
    };
    const before = await conversationCount(srv);
    const history: BaseMessage[] = [new SystemMessage('Be brief.')];
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      history.push(new HumanMessage(`blocks q${i}`));
      history.push(await reply(history, i % 3 !== 2));
      expected.push(`user: blocks q${i}`, `assistant: Echo: blocks q${i}, said twice.`);
    }
    expect(Array.isArray(history.at(-1)!.content) && history.at(-1)!.content.length).toBeGreaterThan(3);

    expect(new Set(ids).size).toBe(1);
    expect(await conversationCount(srv)).toBe(before + 1);
    const [id] = ids;
    const stored = (await listed(srv, id)).map((m: any) => `${m.role}: ${m.content}`);
    expect(stored).toEqual(expected);
    expect(team.inputs.at(-1)!.messages.map((m) => `${m.role}: ${m.content}`)).toEqual([
      'system: Be brief.',
      ...expected.slice(0, -1),
    ]);

    // Regenerate the last answer: a new conversation holding the shared history once, the original kept.
    const again = await reply(history.slice(0, -1), true);
    const branch = ids.at(-1)!;
    expect(branch).not.toBe(id);
    expect(await conversationCount(srv)).toBe(before + 2);
    expect((await listed(srv, branch)).map((m: any) => `${m.role}: ${m.content}`)).toEqual(expected);
    expect((await listed(srv, id)).map((m: any) => `${m.role}: ${m.content}`)).toEqual(expected);
    // And the regenerated chat goes on in its branch.
    await reply([...history.slice(0, -1), again, new HumanMessage('blocks q10')], true);
    expect(ids.at(-1)).toBe(branch);
    expect(await listed(srv, branch)).toHaveLength(22);
  });
});

describe("the AI SDK's response.messages with a client tool, through the real team", () => {
  let upstream: MockUpstream;
  let srv: TestServer;
  // The lead agent calls get_weather when asked about the weather, then answers from its result.
  const script = (req: UpstreamRequest): Reply => {
    const last = req.body.messages.at(-1);
    if (last.role === 'tool') return { text: `It is ${last.content}.` };
    if (/weather/.test(last.content)) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
    return { text: `You said: ${last.content}` };
  };
  beforeAll(async () => {
    upstream = await startMockUpstream(script);
    const env = {
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_LLM_MAX_RETRIES: '0',
    };
    srv = await startTestServer(createTeam(loadConfig(env), new ToolRegistry()), env);
  });
  afterAll(async () => {
    await srv.close();
    await upstream.close();
  });

  it('keeps tool calls, results and answers in one conversation across turns, each stored once', async () => {
    const model = createOpenAI({ baseURL: `${srv.baseUrl}/v1`, apiKey: 'unused' }).chat('cortex-flow-supervisor');
    const tools = {
      get_weather: tool({
        inputSchema: jsonSchema<{ city: string }>({
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        }),
        execute: async ({ city }) => `sunny in ${city}`,
      }),
    };
    const before = await conversationCount(srv);
    const ids: string[] = [];
    const messages: ModelMessage[] = [];
    for (let i = 0; i < 4; i++) {
      messages.push({ role: 'user', content: i % 2 ? `weather now? (${i})` : `hello ${i}` });
      const settings = { model, messages, tools, stopWhen: stepCountIs(3) };
      const { response } = i < 2 ? await generateText(settings) : await streamText(settings);
      const { messages: answered, headers } = await response;
      messages.push(...answered);
      ids.push(headers!['x-conversation-id']);
    }

    expect(new Set(ids).size).toBe(1);
    expect(await conversationCount(srv)).toBe(before + 1);
    const stored = (await listed(srv, ids[0])).map((m: any) => [m.role, m.content, m.tool_calls?.length ?? 0]);
    const turn = (i: number): unknown[][] =>
      i % 2
        ? [
            ['user', `weather now? (${i})`, 0],
            ['assistant', '', 1],
            ['tool', 'sunny in Oslo', 0],
            ['assistant', 'It is sunny in Oslo.', 0],
          ]
        : [
            ['user', `hello ${i}`, 0],
            ['assistant', `You said: hello ${i}`, 0],
          ];
    expect(stored).toEqual([0, 1, 2, 3].flatMap(turn));
  });
});
