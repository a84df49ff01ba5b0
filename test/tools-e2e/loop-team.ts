// A live server running the real team against the in-suite upstream, scripted for multi-step
// client tool loops: the supervisor sends the researcher once, then calls the client's tools over
// several steps (the first step two at once), then hands over to the writer, who quotes every
// result the client sent. Counting the researcher's upstream calls tells whether a resume redid the
// team's research.
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
import { ask } from '../support/team-script.ts';

export interface LoopTeam {
  upstream: MockUpstream;
  server: TestServer;
  /** Upstream calls made by `agent` for loops whose tools include `tool`. */
  calls(agent: string, tool?: string): UpstreamRequest[];
  close(): Promise<void>;
}

const clientTools = (req: UpstreamRequest): string[] =>
  (req.body.tools ?? []).map((t: any) => t.function.name).filter((n: string) => !n.startsWith('cortex__'));

/** The client tools the supervisor calls at each step: two at once first, then one a step. */
export function stepsOf(tools: string[], count: number): string[][] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? tools.slice(0, 2) : [tools[i % tools.length]]));
}

export function loopScript(steps: number) {
  return (req: UpstreamRequest): Reply => {
    const messages: any[] = req.body.messages;
    if (req.agent === 'writer') {
      const text = JSON.stringify(messages);
      const results = [...text.matchAll(/returned:\\n([^"\\]*)/g)].map((m) => m[1]);
      return { text: `Final: ${results.join(' | ')}` };
    }
    if (req.agent !== 'supervisor') return { text: `The ${req.agent} found fact-${req.agent}.` };
    const calls = messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []));
    const names = calls.map((c: any) => c.function.name as string);
    if (!names.includes('cortex__ask_researcher')) return { toolCalls: [ask('researcher', 'Find the facts')] };
    const done = messages.filter(
      (m) => m.role === 'assistant' && m.tool_calls?.some((c: any) => !c.function.name.startsWith('cortex__')),
    ).length;
    const tools = clientTools(req);
    if (done < steps && tools.length)
      return {
        toolCalls: stepsOf(tools, steps)[done].map((name) => ({ name, arguments: { step: done, name } })),
      };
    return { toolCalls: [ask('writer', 'Write the answer')] };
  };
}

export async function startLoopTeam(steps = 5, env: Record<string, string> = {}): Promise<LoopTeam> {
  const upstream = await startMockUpstream(loopScript(steps));
  const all = {
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_LOG_LEVEL: 'silent',
    ...env,
  };
  const server = await startTestServer(createTeam(loadConfig(all), new ToolRegistry()), all);
  return {
    upstream,
    server,
    calls: (agent, tool) =>
      upstream.requests.filter(
        (r) => r.agent === agent && (!tool || clientTools(r).includes(tool) || JSON.stringify(r.body).includes(tool)),
      ),
    async close() {
      await server.close();
      await upstream.close();
    },
  };
}
