// The real team against the in-suite upstream: a run that researched, then paused for the client's
// `get_weather`, resumes without researching again whichever way the next Responses request sets
// `store`: a `store: false` request naming the stored response, or a kept request carrying back the
// sealed checkpoint of a run paused under `store: false`. The researcher's upstream calls count the
// work: a run started over asks it again, since the client's history holds no research.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UpstreamRequest } from '../support/mock-openai-upstream.ts';
import { ask } from '../support/team-script.ts';
import { startWeatherTeam, WEATHER_PARAMETERS, type WeatherTeam } from './weather-team.ts';

let team: WeatherTeam;
beforeAll(async () => {
  team = await startWeatherTeam();
  team.script(researchThenWeather);
});
afterAll(() => team.close());

const FINDING = 'The researcher found: Paris is in France.';
const RESULT = 'ZX-SUNNY-21C';

/** The supervisor researches first, then asks the client, then hands over to the writer. */
function researchThenWeather(req: UpstreamRequest) {
  const seen = JSON.stringify(req.body.messages);
  if (req.agent === 'researcher') return { text: FINDING };
  if (req.agent === 'writer') return { text: `The writer wrote: ${seen.includes(RESULT) ? RESULT : 'nothing'}` };
  if (!seen.includes(FINDING)) return { toolCalls: [ask('researcher', 'Where is Paris?')] };
  if (!seen.includes(RESULT)) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
  return { toolCalls: [ask('writer', 'Tell the weather')] };
}

const researched = () => team.upstream.requests.filter((r) => r.agent === 'researcher').length;

async function respond(body: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${team.server.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      tools: [{ type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS }],
      ...body,
    }),
  });
  const json: any = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

/** The text of the response's message items (the SDK's `output_text`). */
const textOf = (response: any): string =>
  response.output
    .filter((i: any) => i.type === 'message')
    .flatMap((i: any) => i.content.map((c: any) => c.text))
    .join('');

const resultsFor = (output: any[]) =>
  output
    .filter((i) => i.type === 'function_call')
    .map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: RESULT }));

it('store: false naming a stored response that paused resumes its run: no second research', async () => {
  const before = researched();
  const paused = await respond({ input: 'Weather in Paris?' });
  expect(paused.output.at(-1).type).toBe('function_call');
  expect(researched()).toBe(before + 1);
  const answered = await respond({ store: false, previous_response_id: paused.id, input: resultsFor(paused.output) });
  expect(textOf(answered)).toBe(`The writer wrote: ${RESULT}`);
  expect(researched()).toBe(before + 1);
});

it('store: true carrying back a run paused under store: false resumes it: no second research', async () => {
  const before = researched();
  const question = { role: 'user', content: 'Weather in Paris?' };
  const paused = await respond({ store: false, include: ['reasoning.encrypted_content'], input: [question] });
  expect(paused.output.find((i: any) => i.type === 'reasoning')?.encrypted_content).toEqual(expect.any(String));
  const answered = await respond({ input: [question, ...paused.output, ...resultsFor(paused.output)] });
  expect(textOf(answered)).toBe(`The writer wrote: ${RESULT}`);
  expect(researched()).toBe(before + 1);
});
