// The exact bytes of the stream, read with plain HTTP: the SSE framing of the spec, keep-alive
// comments, an error after the stream began, and a client leaving.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { expectOpenAiShape } from '../support/openai-schemas.ts';
import { SCRIPTED_ANSWER, ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

const team = new ScriptedOrchestrator();
let srv: TestServer;
let quiet: TestServer;
const quietTeam = new ScriptedOrchestrator();

beforeAll(async () => {
  srv = await startTestServer(team, { CORTEX_SSE_KEEPALIVE_SECONDS: '0.05' });
  quiet = await startTestServer(quietTeam, { CORTEX_SSE_KEEPALIVE_SECONDS: '0' });
});
afterAll(async () => {
  await srv.close();
  await quiet.close();
});

async function rawStream(baseUrl: string, body: Record<string, unknown>): Promise<{ headers: Headers; text: string }> {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      stream: true,
      messages: [{ role: 'user', content: 'Capital of France?' }],
      ...body,
    }),
  });
  return { headers: res.headers, text: await res.text() };
}

describe('SSE on the wire', () => {
  it('frames every chunk as "data: <json>\\n\\n" and ends with "data: [DONE]\\n\\n"', async () => {
    team.pauseMs = 0;
    const { headers, text } = await rawStream(srv.baseUrl, { stream_options: { include_usage: true } });
    expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const frames = text.split('\n\n').filter(Boolean);
    for (const f of frames) expect(f).toMatch(/^data: /);
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice('data: '.length)));
    for (const c of chunks) expectOpenAiShape('CreateChatCompletionStreamResponse', c);
    expect(chunks[0].choices).toEqual([
      { index: 0, delta: { role: 'assistant' }, logprobs: null, finish_reason: null },
    ]);
    const contents = chunks.filter((c) => c.choices[0]?.delta?.content !== undefined);
    expect(contents.map((c) => c.choices[0].delta.content).join('')).toBe(SCRIPTED_ANSWER);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish).toHaveLength(1);
    expect(finish[0].choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(new Set(chunks.map((c) => `${c.id}/${c.created}/${c.model}/${c.object}`))).toEqual(
      new Set([`${chunks[0].id}/${chunks[0].created}/cortex-flow/chat.completion.chunk`]),
    );
  });

  it('sends no usage chunk unless asked', async () => {
    const { text } = await rawStream(srv.baseUrl, {});
    expect(text).not.toContain('"usage"');
  });

  it('sends ": ping" comments while nothing else flows, and none when keep-alives are off', async () => {
    team.pauseMs = 300;
    quietTeam.pauseMs = 300;
    const pinged = await rawStream(srv.baseUrl, {});
    const silent = await rawStream(quiet.baseUrl, {});
    team.pauseMs = 0;
    expect(pinged.text).toMatch(/(^|\n\n): ping\n\n/);
    expect(pinged.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(silent.text).not.toContain(': ping');
  });

  it('sends an error after the stream began as one "data: {"error": ...}" frame, then ends', async () => {
    team.failMidway = true;
    const { text } = await rawStream(srv.baseUrl, {});
    team.failMidway = false;
    const frames = text.split('\n\n').filter(Boolean);
    const last = JSON.parse(frames.at(-1)!.slice('data: '.length));
    expect(last).toEqual({
      error: {
        message: 'The upstream model failed with status 503.',
        type: 'server_error',
        param: null,
        code: 'upstream_error',
        run_id: expect.stringMatching(/^run_/),
      },
    });
    expectOpenAiShape('ErrorResponse', last);
    expect(text).not.toContain('[DONE]');
  });

  it('aborts the run when the client goes away', async () => {
    team.pauseMs = 2000;
    const before = team.signals.length;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${srv.baseUrl}/v1/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.once('data', () => {
            req.destroy(); // leave after the first frame
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.end(JSON.stringify({ model: 'cortex-flow', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      setTimeout(() => reject(new Error('no first frame')), 5000);
    });
    const signal = team.signals[before];
    for (let i = 0; i < 100 && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    team.pauseMs = 0;
    expect(signal.aborted).toBe(true);
  });
});
