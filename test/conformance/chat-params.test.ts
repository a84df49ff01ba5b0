// Request parameters in the combinations real clients send, through the official `openai` client
// against the live server and the real team (the in-suite upstream): what OpenAI refuses together
// is refused with OpenAI's error, and what it accepts is served with its chunk sequence.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamChat } from '../support/http-client.ts';
import { startWeatherTeam, WEATHER_PARAMETERS, type WeatherTeam } from '../tools-e2e/weather-team.ts';

let team: WeatherTeam;
let client: OpenAI;
beforeAll(async () => {
  team = await startWeatherTeam();
  client = new OpenAI({ baseURL: `${team.server.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => team.close());

// The single-agent model: its one turn writes the answer the client receives.
const ask = { model: 'cortex-flow-supervisor', messages: [{ role: 'user' as const, content: 'Weather in Paris?' }] };
const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } };

/** The error OpenAI's client raised for `body`, checked to be a 400 that never reached the upstream. */
async function refused(body: Record<string, unknown>): Promise<any> {
  const before = team.upstream.requests.length;
  const error = await client.chat.completions.create({ ...ask, ...body } as any).catch((e) => e);
  expect(error, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
  expect(team.upstream.requests.length).toBe(before);
  return error.error;
}

describe('parameters OpenAI refuses', () => {
  it("max_tokens with max_completion_tokens: OpenAI's 400 naming max_tokens; either alone bounds the answer", async () => {
    expect(await refused({ max_tokens: 3, max_completion_tokens: 3 })).toEqual({
      message: "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'invalid_parameter_combination',
    });
    team.script(() => ({ text: 'one two three four five six seven eight nine ten eleven twelve' }));
    for (const budget of [{ max_tokens: 3 }, { max_completion_tokens: 3 }]) {
      const r = await client.chat.completions.create({ ...ask, ...budget });
      expect(r.choices[0], JSON.stringify(budget)).toMatchObject({
        message: { content: 'one two three' },
        finish_reason: 'length',
      });
      expect(r.usage?.completion_tokens).toBe(3);
    }
  });

  it('store: a boolean, as OpenAI types it; metadata is served with it or without', async () => {
    expect(await refused({ store: 'yes' })).toMatchObject({ param: 'store', code: 'invalid_type' });
    team.script(() => ({ text: 'Sunny.' }));
    for (const store of [true, false, undefined]) {
      const r = await client.chat.completions.create({ ...ask, store, metadata: { team: 'weather' } });
      expect(r.choices[0].message.content).toBe('Sunny.');
    }
  });

  it("stop: the array's own error, as OpenAI names it: more than 4 sequences, or one that is no string", async () => {
    expect(await refused({ stop: ['a', 'b', 'c', 'd', 'e'] })).toMatchObject({
      param: 'stop',
      code: 'array_above_max_length',
      message: "Invalid 'stop': array too long. Expected an array with maximum length 4.",
    });
    expect(await refused({ stop: ['a', 7] })).toMatchObject({
      param: 'stop[1]',
      code: 'invalid_type',
      message: "Invalid type for 'stop[1]': expected string, but got a number.",
    });
    expect(await refused({ stop: 7 })).toMatchObject({ param: 'stop', code: 'invalid_type' });
  });

  it('an integer parameter given a fraction: the message OpenAI words', async () => {
    for (const param of ['seed', 'n', 'max_completion_tokens'])
      expect(await refused({ [param]: 1.5 })).toEqual({
        message: `Invalid type for '${param}': expected an integer, but got a decimal number instead.`,
        type: 'invalid_request_error',
        param,
        code: 'invalid_type',
      });
  });
});

describe('n > 1 streamed', () => {
  it('each choice: role first, its text cut before a stop split across deltas, one finish_reason; then usage over all choices, [DONE]', async () => {
    // Three characters a delta: the stop sequence "D of" arrives split over " EN", "D o" and "f t".
    team.script(() => ({ text: 'Sunny in Paris. END of the report', chunkSize: 3 }));
    const one = await client.chat.completions.create({ ...ask, stop: ['xyz', 'D of'] });
    expect(one.choices[0]).toMatchObject({ message: { content: 'Sunny in Paris. EN' }, finish_reason: 'stop' });
    const r = await streamChat(team.server.baseUrl, {
      ...ask,
      n: 2,
      stop: 'D of',
      stream_options: { include_usage: true },
    });
    expect(r.status).toBe(200);
    expect(r.done).toBe(true);
    const usage = r.frames.at(-1);
    expect(usage.choices).toEqual([]);
    expect(r.frames.slice(0, -1).every((f) => f.usage === null)).toBe(true);
    for (const index of [0, 1]) {
      const mine = r.frames.flatMap((f) => f.choices.filter((c: any) => c.index === index));
      expect(mine[0].delta).toEqual({ role: 'assistant' });
      expect(mine.map((c: any) => c.delta.content ?? '').join('')).toBe('Sunny in Paris. EN');
      expect(mine.filter((c: any) => c.finish_reason !== null).map((c: any) => c.finish_reason)).toEqual(['stop']);
      expect(mine.at(-1).finish_reason).toBe('stop');
    }
    // The prompt is counted once, the completions of both choices together.
    expect(usage.usage.prompt_tokens).toBe(one.usage!.prompt_tokens);
    expect(usage.usage.completion_tokens).toBe(2 * one.usage!.completion_tokens);
  });

  it("tool calls in every choice, whole arguments despite a stop sequence inside them, as the client's stream helper assembles them", async () => {
    team.script(() => ({
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Paris', note: 'wind. END' } },
        { name: 'get_weather', arguments: { city: 'Rome' } },
      ],
    }));
    const stream = client.chat.completions.stream({
      ...ask,
      n: 2,
      stop: ['END'],
      tools: [weather],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices.map((c) => c.index)).toEqual([0, 1]);
    for (const c of final.choices) {
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.content).toBeNull();
      expect(c.message.tool_calls?.map((t: any) => JSON.parse(t.function.arguments))).toEqual([
        { city: 'Paris', note: 'wind. END' },
        { city: 'Rome' },
      ]);
    }
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    // parallel_tool_calls: false leaves one call per choice.
    const single = await client.chat.completions.create({ ...ask, n: 2, tools: [weather], parallel_tool_calls: false });
    expect(single.choices.map((c) => c.message.tool_calls?.length)).toEqual([1, 1]);
  });
});
