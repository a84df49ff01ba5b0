// Tool names that are also names of every JavaScript object's properties (`toString`,
// `constructor`, `__proto__`, `hasOwnProperty`): a client's function may have any of them and is
// then called like any other, and a model calling one that nobody offered is calling no tool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat } from '../support/app-server.ts';
import { ask } from '../support/team-script.ts';
import type { Reply, UpstreamRequest } from '../support/mock-openai-upstream.ts';
import { startWeatherTeam, WEATHER_PARAMETERS, weatherScript, type WeatherTeam } from './weather-team.ts';

let team: WeatherTeam;
beforeAll(async () => {
  team = await startWeatherTeam();
});
afterAll(() => team.close());

const NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];
const MODELS = ['cortex-flow-supervisor', 'cortex-flow'];
const RESULT = 'ZX-SUNNY-21C';
const hasToolResult = (req: UpstreamRequest) => req.body.messages.some((m: any) => m.role === 'tool');
const offered = (req: UpstreamRequest): string[] => (req.body.tools ?? []).map((t: any) => t.function.name);
const toolOf = (name: string) => ({ type: 'function', function: { name, parameters: WEATHER_PARAMETERS } });

/** The lead calls `name` first; once a tool result is in, the weather team's usual answer. */
const calling =
  (name: string) =>
  (req: UpstreamRequest): Reply =>
    req.agent === 'writer' || hasToolResult(req)
      ? weatherScript(req)
      : { toolCalls: [{ name, arguments: { city: 'Paris' } }] };

describe('a client function named like an object property', () => {
  for (const name of NAMES)
    for (const model of MODELS)
      it(`${name} is offered, called and answered on ${model}`, async () => {
        team.script(calling(name));
        const before = team.upstream.requests.length;
        const question = { role: 'user', content: 'Weather in Paris?' };
        const paused = await chat(team.server.baseUrl, { model, messages: [question], tools: [toolOf(name)] });
        expect(paused.status).toBe(200);
        expect(offered(team.upstream.requests[before])).toContain(name);
        const choice = paused.body.choices[0];
        expect(choice.finish_reason).toBe('tool_calls');
        const call = choice.message.tool_calls[0];
        expect(call.function.name).toBe(name);
        expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

        const resumed = await chat(team.server.baseUrl, {
          model,
          tools: [toolOf(name)],
          messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: RESULT }],
        });
        expect(resumed.status).toBe(200);
        expect(resumed.body.choices[0].message.content).toBe(
          model === 'cortex-flow' ? `The writer says: ${RESULT}` : `The weather: ${RESULT}`,
        );
      });
});

describe('a model calling an object property name that was not offered', () => {
  for (const name of ['toString', 'constructor', '__proto__'])
    for (const model of MODELS)
      for (const tools of [[toolOf('get_weather')], undefined])
        it(`${name} on ${model}, ${tools ? 'with' : 'without'} client tools: no call reaches the client`, async () => {
          team.script(calling(name));
          const res = await chat(team.server.baseUrl, {
            model,
            messages: [{ role: 'user', content: 'Weather in Paris?' }],
            ...(tools ? { tools } : {}),
          });
          expect(res.status).toBe(502);
          expect(res.body.error.code).toBe('upstream_bad_tool_call');
          expect(res.body.error.message).toContain(`called the tool ${name}, which was not offered to it`);
        });

  it('a specialist calling toString fails with the reason, and the supervisor answers without it', async () => {
    team.script((req) => {
      if (req.agent === 'researcher') return { toolCalls: [{ name: 'toString', arguments: {} }] };
      if (hasToolResult(req)) return { text: 'The research failed.' };
      return { toolCalls: [ask('researcher', 'Find the weather in Paris')] };
    });
    const res = await chat(team.server.baseUrl, { messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe('The research failed.');
    const run = await (await fetch(`${team.server.baseUrl}/v1/runs/${res.body.metadata.run_id}`)).json();
    expect(run.events).toContainEqual(
      expect.objectContaining({
        type: 'agent_finished',
        agent: 'researcher',
        ok: false,
        error: expect.stringContaining('toString, a tool it does not have'),
      }),
    );
  });
});
