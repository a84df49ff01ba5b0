// Client tool calls and their results, as clients really send them back: with upstreams that
// number their calls the same in every answer, with calls the client never answers, with one of n
// choices answered, with one resume sent twice at once, and with histories OpenAI would refuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat } from '../support/app-server.ts';
import type { UpstreamRequest } from '../support/mock-openai-upstream.ts';
import { startWeatherTeam, WEATHER_PARAMETERS, type WeatherTeam } from './weather-team.ts';
import { NO_CLIENT_RESULT } from '../../src/agents/model-messages.ts';

let team: WeatherTeam;
beforeAll(async () => {
  team = await startWeatherTeam();
});
afterAll(() => team.close());

const tools = [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } }];
const model = 'cortex-flow-supervisor';
const toolResults = (req: UpstreamRequest) => req.body.messages.filter((m: any) => m.role === 'tool');

/**
 * An upstream that names every call `call_0`, as some OpenAI-compatible servers do, calls
 * get_weather for the city the user asks about, and answers from the results once they are in.
 */
function sameIdEveryTime(calls = 1, delayMs = 0) {
  team.script((req) => {
    const last = req.body.messages.at(-1);
    if (last.role === 'tool')
      return {
        delayMs,
        text: `The weather: ${toolResults(req)
          .map((m: any) => m.content)
          .join(' / ')}`,
      };
    if (/never mind/i.test(last.content)) return { text: 'Hi.' };
    const city = /in (\w+)/.exec(last.content)?.[1] ?? 'Paris';
    return {
      toolCalls: Array.from({ length: calls }, (_, i) => ({
        id: `call_${i}`,
        name: 'get_weather',
        arguments: { city },
      })),
    };
  });
}

async function pause(content: string, extra: Record<string, unknown> = {}) {
  const res = await chat(team.server.baseUrl, { model, tools, messages: [{ role: 'user', content }], ...extra });
  expect(res.status).toBe(200);
  expect(res.body.choices[0].finish_reason).toBe('tool_calls');
  return res.body;
}

const resultFor = (call: any, content: string) => ({ role: 'tool', tool_call_id: call.id, content });

describe('tool-call ids', () => {
  it("are the server's own: an upstream repeating `call_0` never resumes another conversation's run", async () => {
    sameIdEveryTime();
    const a = await pause('Weather in Paris?');
    const b = await pause('Weather in London? My PIN is 1234.');
    const callA = a.choices[0].message.tool_calls[0];
    const callB = b.choices[0].message.tool_calls[0];
    expect(callA.id).not.toBe('call_0');
    expect(callA.id).not.toBe(callB.id);

    const resumed = await chat(team.server.baseUrl, {
      model,
      tools,
      messages: [{ role: 'user', content: 'Weather in Paris?' }, a.choices[0].message, resultFor(callA, 'sunny')],
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.choices[0].message.content).toBe('The weather: sunny');
    expect(resumed.body.conversation_id).toBe(a.conversation_id);
    expect(JSON.stringify(team.upstream.requests.at(-1)!.body)).not.toContain('1234');
    const roles = (await team.server.store.getMessages(a.conversation_id)).map((m) => m.role);
    expect(roles).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });
});

describe('a call the client never answers', () => {
  it('leaves the stored conversation usable: the next turn reads the call as unanswered', async () => {
    sameIdEveryTime();
    const paused = await pause('Weather in Rome?');
    const next = await chat(team.server.baseUrl, {
      model,
      tools,
      conversation_id: paused.conversation_id,
      messages: [{ role: 'user', content: 'Never mind. Say hi.' }],
    });
    expect(next.status).toBe(200);
    expect(next.body.choices[0].message.content).toBe('Hi.');
    const sent = team.upstream.requests.at(-1)!.body.messages;
    const call = paused.choices[0].message.tool_calls[0];
    expect(sent.find((m: any) => m.role === 'tool')).toMatchObject({
      tool_call_id: call.id,
      content: NO_CLIENT_RESULT,
    });
    // And the turn after that too.
    const after = await chat(team.server.baseUrl, {
      model,
      conversation_id: paused.conversation_id,
      messages: [{ role: 'user', content: 'Never mind again.' }],
    });
    expect(after.status).toBe(200);
  });

  it('on the Responses API too: previous_response_id followed by a new message instead of the output', async () => {
    sameIdEveryTime();
    const post = (body: Record<string, unknown>) =>
      fetch(`${team.server.baseUrl}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, ...body }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const weather = [{ type: 'function', name: 'get_weather', parameters: WEATHER_PARAMETERS }];
    const first = await post({ input: 'Weather in Oslo?', tools: weather });
    expect(first.body.output.map((o: any) => o.type)).toContain('function_call');
    const next = await post({ previous_response_id: first.body.id, input: 'Never mind. Say hi.' });
    expect(next.status).toBe(200);
    expect(next.body.output.at(-1).content[0].text).toBe('Hi.');
  });
});

describe('histories OpenAI refuses are refused with a 400 naming the message', () => {
  const call = (id: string) => ({
    role: 'assistant',
    content: null,
    tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
  });
  const question = { role: 'user', content: 'Weather in Paris?' };
  const refused = async (messages: unknown[]) => {
    const res = await chat(team.server.baseUrl, { model, tools, messages });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    return res.body.error;
  };

  it('a call without a result, followed by a user message or ending the request', async () => {
    const moved = await refused([question, call('call_a'), { role: 'user', content: 'Never mind.' }]);
    expect(moved).toMatchObject({ code: 'missing_tool_results', param: 'messages[2]' });
    expect(moved.message).toContain('call_a');
    const ending = await refused([question, call('call_a')]);
    expect(ending).toMatchObject({ code: 'missing_tool_results', param: 'messages[1]' });
  });

  it('two results for one call, and a result after the conversation went on', async () => {
    const twice = await refused([
      question,
      call('call_a'),
      resultFor({ id: 'call_a' }, '1'),
      resultFor({ id: 'call_a' }, '2'),
    ]);
    expect(twice).toMatchObject({ code: 'duplicate_tool_result', param: 'messages[3].tool_call_id' });
    const late = await refused([
      question,
      call('call_a'),
      resultFor({ id: 'call_a' }, 'sunny'),
      { role: 'user', content: 'And tomorrow?' },
      resultFor({ id: 'call_a' }, 'rain'),
    ]);
    expect(late).toMatchObject({ code: 'invalid_tool_call_id', param: 'messages[4].tool_call_id' });
  });

  it('two results for one call sent alone (answering a paused run)', async () => {
    const paused = await pause('Weather in Quito?');
    const [only] = paused.choices[0].message.tool_calls;
    const requests = team.upstream.requests.length;
    const twice = await refused([resultFor(only, 'sunny'), resultFor(only, 'rain')]);
    expect(twice).toMatchObject({ code: 'duplicate_tool_result', param: 'messages[1].tool_call_id' });
    expect(team.upstream.requests.length).toBe(requests); // no run started
  });

  it('results sent alone for only some of the calls a run waits for', async () => {
    sameIdEveryTime(2);
    const paused = await pause('Weather in Lima?');
    const [first, second] = paused.choices[0].message.tool_calls;
    const requests = team.upstream.requests.length;
    const error = await refused([resultFor(first, 'sunny')]);
    expect(error).toMatchObject({ code: 'missing_tool_results', param: 'messages[0]' });
    expect(error.message).toContain(second.id);
    expect(team.upstream.requests.length).toBe(requests); // no run started
    // Both results resume it.
    const resumed = await chat(team.server.baseUrl, {
      model,
      tools,
      messages: [resultFor(first, 'sunny'), resultFor(second, 'warm')],
    });
    expect(resumed.body.choices[0].message.content).toBe('The weather: sunny / warm');
    expect(resumed.body.conversation_id).toBe(paused.conversation_id);
  });

  it('results sent alone that no paused run waits for', async () => {
    const error = await refused([resultFor({ id: 'call_nobody_made' }, 'sunny')]);
    expect(error).toMatchObject({ code: 'invalid_tool_call_id', param: 'messages[0].tool_call_id' });
  });
});

describe('resuming', () => {
  it("the second of n choices: its own run goes on, in a branch without the first choice's calls", async () => {
    sameIdEveryTime();
    const paused = await pause('Weather in Cairo?', { n: 2 });
    const second = paused.choices[1].message;
    const res = await chat(team.server.baseUrl, {
      model,
      tools,
      messages: [{ role: 'user', content: 'Weather in Cairo?' }, second, resultFor(second.tool_calls[0], 'hot')],
    });
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe('The weather: hot');
    const sent = JSON.stringify(team.upstream.requests.at(-1)!.body.messages);
    expect(sent).toContain(second.tool_calls[0].id);
    expect(sent).not.toContain(paused.choices[0].message.tool_calls[0].id);
    const roles = (await team.server.store.getMessages(res.body.conversation_id)).map((m) => m.role);
    expect(roles).toEqual(['user', 'assistant', 'tool', 'assistant']);
    const next = await chat(team.server.baseUrl, {
      model,
      conversation_id: res.body.conversation_id,
      messages: [{ role: 'user', content: 'Never mind. Thanks.' }],
    });
    expect(next.status).toBe(200);
  });

  it('sent twice at once: one resumes the conversation, the other branches; no transcript holds the turn twice', async () => {
    sameIdEveryTime(1, 300);
    const question = { role: 'user', content: 'Weather in Quito?' };
    const paused = await pause(question.content);
    const message = paused.choices[0].message;
    const body = { model, tools, messages: [question, message, resultFor(message.tool_calls[0], 'mild')] };
    const [one, two] = await Promise.all([chat(team.server.baseUrl, body), chat(team.server.baseUrl, body)]);
    expect([one.status, two.status]).toEqual([200, 200]);
    const ids = [one.body.conversation_id, two.body.conversation_id];
    expect(ids).toContain(paused.conversation_id);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) {
      const roles = (await team.server.store.getMessages(id)).map((m) => m.role);
      expect(roles).toEqual(['user', 'assistant', 'tool', 'assistant']);
    }
  });
});
