// A live server running the real team against the in-suite upstream, scripted for one client tool,
// `get_weather`: the lead agent calls it, and once its result is in, answers (or, on the team
// model, hands over to the writer) with a sentence built from that result.
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { calculatorTool } from '../../src/tools/calculator.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { ask } from '../support/team-script.ts';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import {
  startMockUpstream,
  type MockUpstream,
  type Reply,
  type UpstreamRequest,
} from '../support/mock-openai-upstream.ts';

export const WEATHER_PARAMETERS: Record<string, any> = {
  type: 'object',
  properties: { city: { type: 'string' }, note: { type: 'string' } },
  required: ['city'],
};
/** Long enough that its arguments stream in several fragments. */
export const LONG_NOTE =
  'Please include the wind, the humidity and the chance of rain for the whole afternoon, hour by hour.';

export interface WeatherTeam {
  upstream: MockUpstream;
  server: TestServer;
  /** Replaces the default script (for a test's own upstream behaviour). */
  script(responder: (req: UpstreamRequest) => Reply): void;
  close(): Promise<void>;
}

const lastToolResult = (req: UpstreamRequest): string | undefined =>
  [...req.body.messages].reverse().find((m: any) => m.role === 'tool')?.content;

/** The default script: call get_weather, then answer from its result. */
export function weatherScript(req: UpstreamRequest): Reply {
  if (req.agent === 'writer') {
    const text = JSON.stringify(req.body.messages);
    const result = /returned:\\n([^"\\]*)/.exec(text)?.[1] ?? 'no result';
    return { text: `The writer says: ${result}` };
  }
  const result = lastToolResult(req);
  const teamLead = req.body.tools?.some((t: any) => t.function.name === 'cortex__ask_writer');
  if (result !== undefined)
    return teamLead ? { toolCalls: [ask('writer', 'Tell the weather')] } : { text: `The weather: ${result}` };
  return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', note: LONG_NOTE } }] };
}

/** `env` may depend on the upstream's URL (a provider other than `openai:` pointed at it). */
export async function startWeatherTeam(
  envOf: Record<string, string> | ((upstreamUrl: string) => Record<string, string>) = {},
): Promise<WeatherTeam> {
  const upstream = await startMockUpstream(weatherScript);
  const env = typeof envOf === 'function' ? envOf(upstream.baseUrl) : envOf;
  const config = loadConfig({
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_LOG_LEVEL: 'silent',
    ...env,
  });
  const server = await startTestServer(createTeam(config, new ToolRegistry().register(calculatorTool())), env);
  return {
    upstream,
    server,
    script: (r) => upstream.setResponder(r),
    async close() {
      await server.close();
      await upstream.close();
    },
  };
}
