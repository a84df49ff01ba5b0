// A specialist whose model gets a tool call wrong (arguments that are no JSON, a tool it does not
// have): it is asked again as often as CORTEX_LLM_MAX_RETRIES allows, the trace records the call
// with what was wrong with it, and a specialist that keeps getting it wrong fails with that reason,
// which the supervisor is told.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { calculatorTool } from '../../src/tools/calculator.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import {
  startMockUpstream,
  type MockUpstream,
  type Reply,
  type UpstreamRequest,
} from '../support/mock-openai-upstream.ts';
import { ask, ScriptBook, teamScript } from '../support/team-script.ts';

let upstream: MockUpstream;
let book: ScriptBook;
const servers: Record<string, TestServer> = {};

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  for (const retries of ['0', '1']) {
    const env = {
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstream.baseUrl,
      CORTEX_LLM_MAX_RETRIES: retries,
    };
    servers[retries] = await startTestServer(
      createTeam(loadConfig(env), new ToolRegistry().register(calculatorTool())),
      env,
    );
  }
});
afterAll(async () => {
  for (const s of Object.values(servers)) await s.close();
  await upstream.close();
});

const NOT_JSON = { name: 'calculator', arguments: '{"expression": "2+' };
const NOT_ITS_TOOL = { name: 'search_web', arguments: { query: 'solar panels' } };
const toolResults = (req: UpstreamRequest) => req.body.messages.filter((m: any) => m.role === 'tool');

/** The supervisor asks the analyst, then answers with what the analyst's delegation returned. */
async function askAnalyst(retries: '0' | '1', tag: string, analyst: (turn: number) => Reply) {
  book.add(
    tag,
    teamScript(tag, {
      plan: { toolCalls: [ask('analyst', `Compute 2+2 [[${tag}]]`)] },
      specialist: (_agent, req) => analyst(1 + req.body.messages.filter((m: any) => m.role === 'assistant').length),
      next: (_turn, req) => ({ text: `Done: ${toolResults(req).at(-1).content} [[${tag}]]` }),
    }),
  );
  const res = await chat(servers[retries].baseUrl, {
    messages: [{ role: 'user', content: `What is 2+2? [[${tag}]]` }],
  });
  expect(res.status).toBe(200);
  const run = await (await fetch(`${servers[retries].baseUrl}/v1/runs/${res.body.metadata.run_id}`)).json();
  return { answer: res.body.choices[0].message.content as string, events: run.events as any[] };
}

const progress = (events: any[]) => events.filter((e) => e.type === 'progress').map((e) => e.text);

describe('with CORTEX_LLM_MAX_RETRIES=0', () => {
  it('arguments that are no JSON fail the specialist at once, naming the tool and what was wrong', async () => {
    const { answer, events } = await askAnalyst('0', 'no-json-0', () => ({ toolCalls: [NOT_JSON] }));
    expect(book.requests('no-json-0', 'analyst')).toHaveLength(1);
    const what = 'calculator with arguments that are not valid JSON';
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_call',
        agent: 'analyst',
        toolName: 'calculator',
        input: '{"expression": "2+',
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        agent: 'analyst',
        toolName: 'calculator',
        isError: true,
        output: { error: expect.stringContaining(`analyst called ${what} (`) },
      }),
    );
    expect(progress(events)).toContainEqual(
      expect.stringMatching(/^analyst called calculator with arguments that are not valid JSON \(/),
    );
    expect(progress(events).join('\n')).not.toContain('asking it again');
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'agent_finished',
        agent: 'analyst',
        ok: false,
        error: expect.stringMatching(/^it called calculator with arguments that are not valid JSON \(.+\)\.$/),
      }),
    );
    // The supervisor is told why, and goes on.
    expect(answer).toContain(`The analyst failed: it called ${what}`);
  });

  it('a call to a tool the specialist does not have fails it at once, naming the tool and its own', async () => {
    const { answer, events } = await askAnalyst('0', 'no-tool-0', () => ({ toolCalls: [NOT_ITS_TOOL] }));
    expect(book.requests('no-tool-0', 'analyst')).toHaveLength(1);
    const what = 'search_web, a tool it does not have (its tools: calculator)';
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_call',
        agent: 'analyst',
        toolName: 'search_web',
        input: { query: 'solar panels' },
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        toolName: 'search_web',
        isError: true,
        output: { error: `analyst called ${what}` },
      }),
    );
    expect(progress(events)).toContain(`analyst called ${what}`);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'agent_finished', agent: 'analyst', ok: false, error: `it called ${what}.` }),
    );
    expect(answer).toContain(`The analyst failed: it called ${what}.`);
  });
});

describe('with CORTEX_LLM_MAX_RETRIES=1', () => {
  it('the specialist is asked once more, sees what was wrong, and its corrected call runs', async () => {
    const { answer, events } = await askAnalyst('1', 'fixed-1', (turn) =>
      turn === 1
        ? { toolCalls: [NOT_JSON] }
        : turn === 2
          ? { toolCalls: [{ name: 'calculator', arguments: { expression: '2+2' } }] }
          : { text: '2+2 is 4. [[fixed-1]]' },
    );
    const calls = book.requests('fixed-1', 'analyst');
    expect(calls).toHaveLength(3);
    expect(JSON.stringify(toolResults(calls[1]))).toContain('JSON');
    expect(progress(events)).toContainEqual(
      expect.stringMatching(
        /^analyst called calculator with arguments that are not valid JSON \(.+\); asking it again$/,
      ),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'agent_finished', agent: 'analyst', ok: true }));
    expect(answer).toContain('2+2 is 4.');
  });

  it('a specialist that gets it wrong again fails after its one retry', async () => {
    const { events } = await askAnalyst('1', 'twice-1', () => ({ toolCalls: [NOT_ITS_TOOL] }));
    expect(book.requests('twice-1', 'analyst')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'tool_result' && e.isError)).toHaveLength(2);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'agent_finished',
        agent: 'analyst',
        ok: false,
        error: 'it called search_web, a tool it does not have (its tools: calculator).',
      }),
    );
  });
});
