// POST /v1/responses against the Open Responses OpenAPI document: every response object and every
// streamed event is validated (ajv), for a basic response, a streamed one, instructions, function
// tool calls (plain and streamed), an image input, a multi-turn input, previous_response_id and
// text.format json_schema; and what each of them must do besides having the right shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectEventShape, expectResponseShape, parseSse } from '../support/open-responses-schemas.ts';
import { PausingOrchestrator } from '../support/pausing-orchestrator.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { SCRIPTED_ANSWER, ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

let scripted: TestServer;
let recording: TestServer;
let recorder: RecordingOrchestrator;
let pausing: TestServer;
let pauser: PausingOrchestrator;

beforeAll(async () => {
  scripted = await startTestServer(new ScriptedOrchestrator());
  recorder = new RecordingOrchestrator();
  recording = await startTestServer(recorder);
  pauser = new PausingOrchestrator();
  pausing = await startTestServer(pauser);
});
afterAll(async () => {
  await Promise.all([scripted?.close(), recording?.close(), pausing?.close()]);
});

async function create(srv: TestServer, body: Record<string, unknown>) {
  const res = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', ...body }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function stream(srv: TestServer, body: Record<string, unknown>) {
  const res = await fetch(`${srv.baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', stream: true, ...body }),
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events = parseSse(await res.text());
  for (const e of events) expectEventShape(e);
  events.forEach((e, i) => expect(e.sequence_number).toBe(i));
  return events;
}

const weather = {
  type: 'function',
  name: 'lookup_order',
  description: 'Looks an order up',
  parameters: { type: 'object', properties: { id: { type: 'number' } }, required: ['id'] },
};

describe('Open Responses conformance', () => {
  it('a basic response: the answer as output_text citing its sources, progress as reasoning, usage', async () => {
    const { status, body } = await create(scripted, { input: 'What is the capital of France?' });
    expect(status).toBe(200);
    expectResponseShape(body);
    expect(body).toMatchObject({ object: 'response', status: 'completed', model: 'cortex-flow', error: null });
    expect(body.id).toMatch(/^resp_/);
    const [reasoning, message] = body.output;
    expect(reasoning.type).toBe('reasoning');
    expect(reasoning.summary).toEqual([{ type: 'summary_text', text: 'researcher: looking it up' }]);
    expect(message).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(message.content[0].text).toBe(SCRIPTED_ANSWER);
    const marker = SCRIPTED_ANSWER.indexOf('[1]');
    expect(message.content[0].annotations).toEqual([
      { type: 'url_citation', url: 'kb://doc_1#0', title: 'Atlas', start_index: marker, end_index: marker + 3 },
    ]);
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(body.metadata.conversation_id).toMatch(/^conv_/);
    // The echoed settings Open Responses requires, non-null.
    expect(body).toMatchObject({ temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0, store: true });
    expect(body).toMatchObject({ top_logprobs: 0, background: false, service_tier: 'default' });
  });

  it('a streamed response: the semantic events in order, the text deltas adding up to the answer', async () => {
    const events = await stream(scripted, { input: 'What is the capital of France?' });
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.reasoning_summary_text.delta');
    expect(types).toContain('response.reasoning_summary_text.done');
    const textStart = types.indexOf('response.content_part.added');
    expect(types.indexOf('response.reasoning_summary_text.done')).toBeLessThan(textStart);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((e) => e.delta).join('')).toBe(SCRIPTED_ANSWER);
    expect(events.find((e) => e.type === 'response.output_text.done')!.text).toBe(SCRIPTED_ANSWER);
    expect(types.filter((t) => t === 'response.output_item.done')).toHaveLength(2);
    const completed = events.at(-1)!.response;
    expect(completed.status).toBe('completed');
    expect(completed.output.map((i: any) => i.type)).toEqual(['reasoning', 'message']);
    expect(completed.output[1].content[0].annotations).toHaveLength(1);
    expect(completed.usage.output_tokens).toBeGreaterThan(0);
    expect(events[0].response.id).toBe(completed.id);
  });

  it('instructions become the system prompt and are echoed', async () => {
    const { body } = await create(recording, { instructions: 'Answer in French.', input: 'Hello' });
    expectResponseShape(body);
    expect(body.instructions).toBe('Answer in French.');
    expect(recorder.inputs.at(-1)!.messages.slice(0, 2)).toMatchObject([
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('an image input reaches the team with the text', async () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const { body } = await create(recording, {
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is in this picture?' },
            { type: 'input_image', image_url: png, detail: 'low' },
          ],
        },
      ],
    });
    expectResponseShape(body);
    expect(recorder.inputs.at(-1)!.messages.at(-1)).toMatchObject({
      role: 'user',
      content: 'What is in this picture?',
      images: [{ url: png, detail: 'low' }],
    });
  });

  it('a text file inlined as input_file is read into the message; a PDF is refused, not dropped', async () => {
    const notes = `data:text/plain;base64,${Buffer.from('Paris is the capital.').toString('base64')}`;
    const { body } = await create(recording, {
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Summarise the file.' },
            { type: 'input_file', filename: 'notes.txt', file_data: notes },
          ],
        },
      ],
    });
    expectResponseShape(body);
    expect(recorder.inputs.at(-1)!.messages.at(-1)!.content).toBe(
      'Summarise the file.\n[notes.txt]\nParis is the capital.',
    );
    const pdf = await create(recording, {
      input: [
        {
          role: 'user',
          content: [{ type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }],
        },
      ],
    });
    expect(pdf.status).toBe(400);
    expect(pdf.body.error).toMatchObject({ code: 'unsupported_file', param: 'input[0].content[0].file_data' });
  });

  it('a multi-turn input (items with and without `type`) is the conversation the team sees', async () => {
    const { body } = await create(recording, {
      input: [
        { role: 'user', content: 'My name is Ada.' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello Ada.' }] },
        { role: 'developer', content: 'Be brief.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is my name?' }] },
      ],
    });
    expectResponseShape(body);
    const seen = recorder.inputs.at(-1)!.messages.filter((m) => m.role !== 'system');
    expect(seen.map((m) => [m.role, m.content])).toEqual([
      ['user', 'My name is Ada.'],
      ['assistant', 'Hello Ada.'],
      ['user', 'What is my name?'],
    ]);
  });

  it('previous_response_id continues the stored conversation with only the new input', async () => {
    const first = await create(recording, { input: 'Remember the number 42.' });
    const second = await create(recording, { input: 'Which number?', previous_response_id: first.body.id });
    expectResponseShape(second.body);
    expect(second.body.previous_response_id).toBe(first.body.id);
    expect(second.body.metadata.conversation_id).toBe(first.body.metadata.conversation_id);
    expect(recorder.inputs.at(-1)!.messages.map((m) => m.content)).toEqual([
      'Remember the number 42.',
      'Echo: Remember the number 42.',
      'Which number?',
    ]);
    const missing = await create(recording, { input: 'x', previous_response_id: 'resp_nope' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' });
  });

  it("text.format json_schema is passed to the run (as chat's response_format is) and echoed whole", async () => {
    const format = {
      type: 'json_schema',
      name: 'city',
      description: 'A city',
      schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: true,
    };
    const { body } = await create(recording, { input: 'Capital of France?', text: { format } });
    expectResponseShape(body);
    expect(body.text.format).toEqual(format);
    expect(recorder.inputs.at(-1)!.generation.responseFormat).toEqual({
      type: 'json_schema',
      jsonSchema: { name: 'city', description: 'A city', schema: format.schema, strict: true },
    });
    const bad = await create(recording, { input: 'x', text: { format: { type: 'json_schema', name: 'city' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.param).toBe('text.format.schema');
  });

  it('a function tool call, then its output resumes the paused run', async () => {
    const { body } = await create(pausing, { input: 'Where is order 42?', tools: [weather] });
    expectResponseShape(body);
    expect(body.tools).toEqual([{ ...weather, strict: true }]);
    const call = body.output.find((i: any) => i.type === 'function_call');
    expect(call).toMatchObject({ name: 'lookup_order', arguments: '{"id":42}', status: 'completed' });
    expect(call.id).toMatch(/^fc_/);
    const resumed = await create(pausing, {
      previous_response_id: body.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'shipped' }],
      tools: [weather],
    });
    expectResponseShape(resumed.body);
    expect(resumed.body.output.at(-1).content[0].text).toBe(
      'From earlier research (order 42 exists) and your tool (shipped).',
    );
    expect(pauser.researchCalls).toBe(1);
  });

  it('the same output sent again (a retry, a double submit) is answered in a branch, not refused', async () => {
    const { body } = await create(pausing, { input: 'Where is order 7?', tools: [weather] });
    const call = body.output.find((i: any) => i.type === 'function_call');
    const output = {
      previous_response_id: body.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'shipped' }],
      tools: [weather],
    };
    const resumed = await create(pausing, output);
    const researched = pauser.researchCalls;
    const again = await create(pausing, output);
    expect(again.status).toBe(200);
    expectResponseShape(again.body);
    // The paused run was resumed once: the copy starts the team again from the call and its output.
    expect(pauser.researchCalls).toBe(researched + 1);
    expect(pauser.inputs.at(-1)!.resume).toBeUndefined();
    const context = pauser.inputs.at(-1)!.messages;
    expect(context.at(-2)).toMatchObject({ role: 'assistant', toolCalls: [{ id: call.call_id }] });
    expect(context.at(-1)).toMatchObject({ role: 'tool', toolCallId: call.call_id, content: 'shipped' });
    // In a branch: the first answer's conversation keeps one copy of the output.
    expect(again.body.metadata.conversation_id).not.toBe(resumed.body.metadata.conversation_id);
    const kept = await pausing.store.getMessages(resumed.body.metadata.conversation_id);
    expect(kept.filter((m) => m.role === 'tool')).toHaveLength(1);
    // Output for a call the response never made is still refused.
    const stranger = await create(pausing, { ...output, input: [{ ...output.input[0], call_id: 'call_unknown' }] });
    expect(stranger.status).toBe(400);
  });

  it('a streamed function tool call: arguments delta and done, then the item done', async () => {
    const events = await stream(pausing, { input: 'Where is order 42?', tools: [weather] });
    const types = events.map((e) => e.type);
    const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call')!;
    expect(added.item).toMatchObject({ status: 'in_progress', arguments: '' });
    const delta = events.find((e) => e.type === 'response.function_call_arguments.delta')!;
    const done = events.find((e) => e.type === 'response.function_call_arguments.done')!;
    expect(delta.item_id).toBe(added.item.id);
    expect(done).toMatchObject({ item_id: added.item.id, arguments: '{"id":42}' });
    expect(types.indexOf(delta.type)).toBeLessThan(types.indexOf(done.type));
    const final = events.at(-1)!;
    expect(final.type).toBe('response.completed');
    expect(final.response.output.find((i: any) => i.type === 'function_call')).toMatchObject({
      id: added.item.id,
      name: 'lookup_order',
      arguments: '{"id":42}',
    });
  });
});
