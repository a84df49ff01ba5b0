// What OpenAI refuses is refused here too, with a 400 naming the parameter path; and the team's own
// tools never reach a client, whatever the model and whether the answer is JSON or a stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat } from '../support/app-server.ts';
import { streamChat } from '../support/http-client.ts';
import { ask } from '../support/team-script.ts';
import { startWeatherTeam, WEATHER_PARAMETERS, weatherScript, type WeatherTeam } from './weather-team.ts';

let team: WeatherTeam;
beforeAll(async () => {
  team = await startWeatherTeam();
});
afterAll(() => team.close());

const weather = { type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } };
const question = { role: 'user', content: 'Weather in Paris?' };
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

async function refused(body: Record<string, unknown>) {
  const res = await chat(team.server.baseUrl, body);
  expect(res.status).toBe(400);
  expect(res.body.error.type).toBe('invalid_request_error');
  return res.body.error;
}

describe('400s as OpenAI answers them', () => {
  it('a tool name outside ^[a-zA-Z0-9_-]{1,64}$: too long, or another character, worded and coded as OpenAI does', async () => {
    const named = (name: string) => ({ messages: [question], tools: [{ type: 'function', function: { name } }] });
    expect(await refused(named('get weather!'))).toMatchObject({
      param: 'tools[0].function.name',
      code: 'invalid_value',
      message:
        "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
    });
    expect(await refused(named('a'.repeat(65)))).toMatchObject({
      param: 'tools[0].function.name',
      code: 'string_above_max_length',
      message: "Invalid 'tools[0].function.name': string too long. Expected a string with maximum length 64.",
    });
    const res = await fetch(`${team.server.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        input: 'Weather?',
        tools: [{ type: 'function', name: 'a'.repeat(65) }],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({
      param: 'tools[0].name',
      code: 'string_above_max_length',
    });
  });

  it('a tool_choice naming a function that is not offered', async () => {
    const error = await refused({
      messages: [question],
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(error.param).toBe('tool_choice.function.name');
    expect(error.message).toContain('get_time');
  });

  it('the legacy function_call naming a function that is not among functions', async () => {
    const error = await refused({
      messages: [question],
      functions: [{ name: 'get_weather', parameters: WEATHER_PARAMETERS }],
      function_call: { name: 'get_time' },
    });
    expect(error.param).toBe('tool_choice.function.name');
  });

  it('a tool message whose tool_call_id answers no earlier call', async () => {
    const error = await refused({
      tools: [weather],
      messages: [
        question,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_nobody_made', content: 'rain' },
      ],
    });
    expect(error.param).toBe('messages[3].tool_call_id');
    expect(error.code).toBe('invalid_tool_call_id');
  });

  it('two tools of one name, in tools, in the legacy functions and on the Responses API', async () => {
    const other = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };
    const error = await refused({ messages: [question], tools: [weather, other] });
    expect(error).toMatchObject({ code: 'duplicate_tool_name', param: 'tools[1].function.name' });
    const legacy = await refused({
      messages: [question],
      functions: [weather.function, other.function],
    });
    expect(legacy).toMatchObject({ code: 'duplicate_tool_name', param: 'functions[1].name' });
    const res = await fetch(`${team.server.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        input: 'Weather?',
        tools: [
          { type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS },
          { type: 'function', name: 'get_weather', parameters: {} },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'duplicate_tool_name', param: 'tools[1].name' });
  });

  it('parameters that are no JSON Schema of an object, before any run starts', async () => {
    const requests = team.upstream.requests.length;
    const withParameters = (parameters: unknown) => ({
      messages: [question],
      tools: [weather, { type: 'function', function: { name: 'get_time', parameters } }],
    });
    const cases: [unknown, string][] = [
      [{ type: 'string' }, `got 'type: "string"'`],
      [{ type: 'object', properties: { city: { type: 'nonsense' } } }, '"nonsense" is not a valid JSON Schema type'],
      [{ type: 'object', properties: { city: { type: 'string' } }, required: 'city' }, "'required' must be an array"],
      [{ type: 'object', properties: { city: { $ref: '#/$defs/missing' } } }, 'names nothing in the schema'],
    ];
    for (const [parameters, says] of cases) {
      const error = await refused(withParameters(parameters));
      expect(error).toMatchObject({ code: 'invalid_function_parameters', param: 'tools[1].function.parameters' });
      expect(error.message).toContain(says);
    }
    expect(team.upstream.requests.length).toBe(requests);
  });

  it('an input_audio part: unsupported_content, not a silent drop', async () => {
    const error = await refused({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is said here?' },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          ],
        },
      ],
    });
    expect(error).toMatchObject({ code: 'unsupported_content', param: 'messages[0].content[1]' });
  });

  it('a file by id (there is no files API) and a file that is not a PDF', async () => {
    const byId = await refused({
      messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }],
    });
    expect(byId).toMatchObject({ code: 'unsupported_content', param: 'messages[0].content[0].file' });
    const text = await refused({
      messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:text/plain;base64,aGk=' } }] }],
    });
    expect(text).toMatchObject({ code: 'unsupported_content', param: 'messages[0].content[0].file.file_data' });
  });

  it('more images than the limit', async () => {
    const images = Array.from({ length: 17 }, () => ({ type: 'image_url', image_url: { url: PNG } }));
    const error = await refused({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Look' }, ...images] }] });
    expect(error).toMatchObject({ code: 'too_many_content_parts', param: 'messages[0].content[17]' });
  });

  it('an image for a model that cannot see names that model', async () => {
    const error = await refused({
      model: 'cortex-flow-supervisor',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PNG } }] }],
    });
    expect(error).toMatchObject({ code: 'model_lacks_vision', param: 'messages[0].content' });
    expect(error.message).toContain('openai:mock-model');
  });

  it('a json_schema the answer cannot be checked against', async () => {
    const error = await refused({
      messages: [question],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { $ref: '#/definitions/missing' } },
      },
    });
    expect(error).toMatchObject({ code: 'unsupported_schema', param: 'response_format.json_schema.schema' });
  });
});

describe('tool schemas OpenAI accepts are accepted', () => {
  it('local references, definitions and unions', async () => {
    const parameters = {
      type: 'object',
      $defs: { city: { type: 'string', minLength: 1 } },
      properties: {
        city: { $ref: '#/$defs/city' },
        unit: { anyOf: [{ type: 'string', enum: ['C', 'F'] }, { type: 'null' }] },
        days: { type: ['integer', 'null'] },
      },
      required: ['city'],
    };
    const res = await chat(team.server.baseUrl, {
      model: 'cortex-flow-supervisor',
      messages: [question],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.choices[0].finish_reason).toBe('tool_calls');
  });

  it('a schema nested too deep is refused as such, and a body nested 20,000 deep before it is parsed (a 502 once)', async () => {
    const send = async (depth: number) => {
      const parameters = `${'{"type":"object","properties":{"next":'.repeat(depth)}{"type":"nonsense"}${'}}'.repeat(depth)}`;
      const body = `{"model":"cortex-flow-supervisor","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"deep","parameters":${parameters}}}]}`;
      const res = await fetch(`${team.server.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, error: ((await res.json()) as any).error };
    };
    // 200 schema levels: 400 levels of JSON, within the body's limit, past the schema's.
    expect(await send(200)).toMatchObject({
      status: 400,
      error: {
        code: 'invalid_function_parameters',
        param: 'tools[0].function.parameters',
        message: "Invalid schema for function 'deep': the schema is nested deeper than 64 levels.",
      },
    });
    expect(await send(20_000)).toMatchObject({ status: 400, error: { code: 'invalid_json' } });
  });
});

describe('function calling options', () => {
  const twoCalls = () =>
    team.script((req) =>
      req.agent === 'supervisor'
        ? {
            toolCalls: [
              { name: 'get_weather', arguments: { city: 'Paris' } },
              { name: 'get_weather', arguments: { city: 'Rome' } },
            ],
          }
        : { text: 'unused' },
    );

  it('strict reaches the upstream as the client set it, and only then', async () => {
    twoCalls();
    const strictWeather = { type: 'function', function: { ...weather.function, strict: true } };
    await chat(team.server.baseUrl, { model: 'cortex-flow-supervisor', messages: [question], tools: [strictWeather] });
    const sent = () =>
      team.upstream.requests.at(-1)!.body.tools.find((t: any) => t.function.name === 'get_weather').function;
    expect(sent().strict).toBe(true);
    await chat(team.server.baseUrl, { model: 'cortex-flow-supervisor', messages: [question], tools: [weather] });
    expect(sent()).not.toHaveProperty('strict');
    // The Responses API echoes its default (true) but passes on only what the client sent.
    const responses = async (tool: Record<string, unknown>) => {
      const res = await fetch(`${team.server.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'cortex-flow-supervisor',
          input: 'Weather in Paris?',
          tools: [{ type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS, ...tool }],
        }),
      });
      return ((await res.json()) as any).tools[0].strict;
    };
    expect(await responses({ strict: false })).toBe(false);
    expect(sent().strict).toBe(false);
    expect(await responses({})).toBe(true);
    expect(sent()).not.toHaveProperty('strict');
  });

  it('parallel_tool_calls: false means at most one client call per turn', async () => {
    twoCalls();
    const base = { model: 'cortex-flow-supervisor', messages: [question], tools: [weather] };
    const parallel = await chat(team.server.baseUrl, base);
    expect(parallel.body.choices[0].message.tool_calls).toHaveLength(2);
    const single = await chat(team.server.baseUrl, { ...base, parallel_tool_calls: false });
    expect(single.body.choices[0].finish_reason).toBe('tool_calls');
    expect(single.body.choices[0].message.tool_calls.map((c: any) => c.function.arguments)).toEqual([
      '{"city":"Paris"}',
    ]);
  });

  it('a tool_choice that requires a call holds for the request that resumes the run too, streamed and on the Responses API', async () => {
    // The first turn calls the client's tool and hands over to the writer; a resumed turn calls the
    // tool again only when it must. OpenAI applies tool_choice to every request, results or not.
    team.script((req) => {
      if (req.agent === 'writer') return { text: 'The writer wrote.' };
      const handOver = req.body.tools.some((t: any) => t.function.name === 'cortex__ask_writer');
      if (!req.body.messages.some((m: any) => m.role === 'tool'))
        return {
          toolCalls: [
            { name: 'get_weather', arguments: { city: 'Paris' } },
            ...(handOver ? [ask('writer', 'Write it')] : []),
          ],
        };
      if (req.body.tool_choice === 'auto') return { text: 'The weather: sunny' };
      return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] };
    });
    // A paused run, and the request that sends its result.
    const resumeOfPaused = async () => {
      const paused = await chat(team.server.baseUrl, { messages: [question], tools: [weather] });
      const message = paused.body.choices[0].message;
      return {
        messages: [question, message, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: 'sunny' }],
        tools: [weather],
      };
    };
    const named = { type: 'function', function: { name: 'get_weather' } };
    const streamed = await streamChat(team.server.baseUrl, { ...(await resumeOfPaused()), tool_choice: named });
    expect(team.upstream.requests.at(-1)!.body.tool_choice).toEqual(named);
    const deltas = streamed.frames.flatMap((f) => f.choices?.[0]?.delta?.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, function: { name: 'get_weather' } });
    expect(deltas.map((d: any) => d.function.arguments).join('')).toBe('{"city":"Rome"}');
    expect(streamed.frames.find((f) => f.choices?.[0]?.finish_reason).choices[0].finish_reason).toBe('tool_calls');
    // Without a forced choice the resumed run goes on as before: the writer writes the answer.
    const answered = await chat(team.server.baseUrl, await resumeOfPaused());
    expect(answered.body.choices[0].message.content).toBe('The writer wrote.');

    const responses = (body: Record<string, unknown>) =>
      fetch(`${team.server.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'cortex-flow-supervisor',
          tools: [{ type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS }],
          tool_choice: 'required',
          ...body,
        }),
      }).then(async (r) => (await r.json()) as any);
    const first = await responses({ input: 'Weather in Paris?' });
    const call = first.output.find((i: any) => i.type === 'function_call');
    const next = await responses({
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
    });
    expect(team.upstream.requests.at(-1)!.body.tool_choice).toBe('required');
    expect(next.output.at(-1)).toMatchObject({ type: 'function_call', arguments: '{"city":"Rome"}' });
  });

  it("passes the model's arguments for a client tool on as written, even when they are no JSON, as OpenAI does", async () => {
    const cut = '{"city": "Par';
    team.script((req) =>
      req.agent === 'supervisor' ? { toolCalls: [{ name: 'get_weather', arguments: cut }] } : { text: 'unused' },
    );
    for (const model of ['cortex-flow-supervisor', 'cortex-flow']) {
      const res = await chat(team.server.baseUrl, { model, messages: [question], tools: [weather] });
      expect(res.status, model).toBe(200);
      expect(res.body.choices[0].finish_reason).toBe('tool_calls');
      expect(res.body.choices[0].message.tool_calls.map((c: any) => c.function.arguments)).toEqual([cut]);
      // Streamed, the fragments add up to the same arguments, sent once.
      const streamed = await streamChat(team.server.baseUrl, {
        model,
        messages: [question],
        tools: [weather],
        stream: true,
      });
      const deltas = streamed.frames.flatMap((f) => f.choices?.[0]?.delta?.tool_calls ?? []);
      expect(deltas.filter((d: any) => d.id)).toHaveLength(1);
      expect(deltas.map((d: any) => d.function?.arguments ?? '').join('')).toBe(cut);
    }
    // The team's own tools still need arguments they can run with.
    team.script((req) =>
      req.agent === 'supervisor'
        ? { toolCalls: [{ name: 'cortex__ask_researcher', arguments: '{"task": "Wea' }] }
        : { text: 'unused' },
    );
    const own = await chat(team.server.baseUrl, { messages: [question], tools: [weather] });
    expect(own.status).toBe(502);
    expect(own.body.error.message).toContain('ask_researcher');
  });

  it('refuses results that answer no call the paused run waits for, named conversation or Responses API', async () => {
    team.script(weatherScript);
    const model = 'cortex-flow-supervisor';
    const paused = await chat(team.server.baseUrl, { model, messages: [question], tools: [weather] });
    const [call] = paused.body.choices[0].message.tool_calls;
    const conversation_id = paused.body.conversation_id;
    const result = (id: string) => ({ role: 'tool', tool_call_id: id, content: '18 C' });
    const stranger = await chat(team.server.baseUrl, {
      model,
      conversation_id,
      tools: [weather],
      messages: [result('call_nope')],
    });
    expect(stranger.status).toBe(400);
    expect(stranger.body.error).toMatchObject({ code: 'invalid_tool_call_id', param: 'messages[0].tool_call_id' });
    const extra = await chat(team.server.baseUrl, {
      model,
      conversation_id,
      tools: [weather],
      messages: [result(call.id), result('call_nope')],
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toMatchObject({ code: 'invalid_tool_call_id', param: 'messages[1].tool_call_id' });
    // The run still waits, and resumes with its own call's result.
    const resumed = await chat(team.server.baseUrl, {
      model,
      conversation_id,
      tools: [weather],
      messages: [result(call.id)],
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.choices[0].message.content).toBe('The weather: 18 C');

    const tool = { type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS };
    const responses = (body: Record<string, unknown>) =>
      fetch(`${team.server.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, tools: [tool], ...body }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const first = await responses({ input: 'Weather in Paris?' });
    expect(first.body.output.at(-1).type).toBe('function_call');
    const refused = await responses({
      previous_response_id: first.body.id,
      input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_tool_call_id', param: 'input[0].call_id' });
  });

  it('the legacy functions: offered as tools, one call answered as function_call, the result as a function message', async () => {
    twoCalls();
    const functions = [{ name: 'get_weather', parameters: WEATHER_PARAMETERS }];
    const res = await chat(team.server.baseUrl, { model: 'cortex-flow-supervisor', messages: [question], functions });
    expect(res.status).toBe(200);
    expect(res.body.choices[0].finish_reason).toBe('function_call');
    // One call per turn, as function_call allowed.
    expect(res.body.choices[0].message).toMatchObject({
      content: null,
      function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    expect(res.body.choices[0].message.tool_calls).toBeUndefined();
    expect(team.upstream.requests.at(-1)!.body.tools.map((t: any) => t.function.name)).toContain('get_weather');

    team.script((req) => ({ text: `From the function: ${req.body.messages.at(-1).content}` }));
    const final = await chat(team.server.baseUrl, {
      model: 'cortex-flow-supervisor',
      functions,
      messages: [
        question,
        res.body.choices[0].message,
        { role: 'function', name: 'get_weather', content: 'ZX-LEGACY sunny' },
      ],
    });
    expect(final.body.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: 'From the function: ZX-LEGACY sunny' },
    });
    // The paused run went on (its work kept), in the same conversation: a legacy result answers by
    // the function's name, which is the call's id.
    expect(final.body.conversation_id).toBe(res.body.conversation_id);
    const trace = ((await (await fetch(`${team.server.baseUrl}/v1/runs/${final.body.metadata.run_id}`)).json()) as any)
      .events;
    expect(trace.some((e: any) => e.type === 'progress' && /resumes with the results/.test(e.text))).toBe(true);
  });

  it('a streamed legacy function call: delta.function_call, name first, then arguments', async () => {
    twoCalls();
    const res = await fetch(`${team.server.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow-supervisor',
        stream: true,
        messages: [question],
        functions: [{ name: 'get_weather', parameters: WEATHER_PARAMETERS }],
      }),
    });
    const choices = (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .flatMap((f) => JSON.parse(f.slice(6)).choices);
    const calls = choices.map((c: any) => c.delta.function_call).filter(Boolean);
    expect(calls[0]).toEqual({ name: 'get_weather', arguments: '' });
    expect(calls.map((c: any) => c.arguments).join('')).toBe('{"city":"Paris"}');
    expect(choices.at(-1).finish_reason).toBe('function_call');
  });
});

describe('the team’s own tools never reach a client', () => {
  const MODELS = [
    'cortex-flow',
    'cortex-flow-supervisor',
    'cortex-flow-researcher',
    'cortex-flow-analyst',
    'cortex-flow-writer',
  ];
  for (const model of MODELS)
    for (const stream of [false, true])
      it(`${model}, ${stream ? 'streamed' : 'JSON'}`, async () => {
        // Every agent calls an internal tool in the same turn as the client's tool.
        team.script((req) => {
          const offered = (req.body.tools ?? []).map((t: any) => t.function.name);
          if (!offered.includes('get_weather')) return { text: 'The researcher found 42.' };
          if (req.body.messages.some((m: any) => m.role === 'tool')) return { text: 'done' };
          // An agent without tools of its own calls one it was not offered: a bad call, named without the prefix.
          const internal = offered.includes('cortex__ask_researcher')
            ? [ask('researcher', 'Find the facts')]
            : [{ name: 'cortex__calculator', arguments: { expression: '1+1' } }];
          return { toolCalls: [...internal, { name: 'get_weather', arguments: { city: 'Paris' } }] };
        });
        const res = await fetch(`${team.server.baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, stream, messages: [question], tools: [weather] }),
        });
        const body = await res.text();
        const offersCalculator = model.endsWith('supervisor') || model.endsWith('analyst');
        if (offersCalculator || model === 'cortex-flow') {
          expect(res.status).toBe(200);
          expect(body).toContain('get_weather');
        }
        expect(body).not.toContain('cortex__');
        expect(body).not.toMatch(/"name":\s*"(ask_researcher|calculator)"/);
      });
});
