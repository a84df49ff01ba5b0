// A fresh install: the app on its embedded defaults (empty data directory, no API key), asked a
// research question by the official openai package, streaming and not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

let app: App;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'first-run-'));
  app = await createApp(loadConfig({ CORTEX_DATA_DIR: dir, CORTEX_LOG_LEVEL: 'silent' }));
  client = new OpenAI({ baseURL: `${await app.server.listen({ host: '127.0.0.1', port: 0 })}/v1`, apiKey: 'unused' });
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('first run on the embedded defaults', () => {
  it('answers a research question with a cited answer from the sample corpus', async () => {
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'What does the knowledge base index chunks with?' }],
    });
    const text: string = r.choices[0].message.content;
    expect(text).toMatch(/FTS5|BM25/);
    expect(text).toMatch(/\[\d+\]/);
    expect(r.metadata.engine).toBe('offline-extractive');
    expect(r.metadata.sources[0]).toMatchObject({
      index: expect.any(Number),
      title: expect.any(String),
      url: expect.stringMatching(/^kb:\/\//),
    });
  });

  it('streams the same cited answer', async () => {
    const stream = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'What does the knowledge base index chunks with?' }],
      stream: true,
    });
    let text = '';
    let metadata: any;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      metadata = (chunk as any).metadata ?? metadata;
    }
    expect(text).toMatch(/FTS5|BM25/);
    expect(metadata.engine).toBe('offline-extractive');
    expect(metadata.sources.length).toBeGreaterThan(0);
  });

  it('streams a short answer as several content chunks, like a model', async () => {
    const stream = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'What is 17% of 2,340?' }],
      stream: true,
    });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces.join('')).toContain('17% of 2,340 = **397.8**');
    expect(pieces.length).toBeGreaterThanOrEqual(5);
  });

  it('remembers a name across requests of one conversation', async () => {
    const headers = { 'x-conversation-id': 'first-run-alice' };
    const intro: any = await client.chat.completions.create(
      { model: 'cortex-flow', messages: [{ role: 'user', content: 'My name is Alice' }] },
      { headers },
    );
    expect(intro.choices[0].message.content).toMatch(/^Nice to meet you, Alice!/);
    const later: any = await client.chat.completions.create(
      { model: 'cortex-flow', messages: [{ role: 'user', content: 'What is my name?' }] },
      { headers },
    );
    expect(later.choices[0].message.content).toContain('Alice');
    expect(later.metadata.sources).toEqual([]);
  });

  it('follows up on its earlier answers across requests of one conversation', async () => {
    const headers = { 'x-conversation-id': 'first-run-follow-up' };
    const ask = async (content: string) =>
      (
        await client.chat.completions.create(
          { model: 'cortex-flow', messages: [{ role: 'user', content }] },
          { headers },
        )
      ).choices[0].message.content!;
    const first = await ask('How long do solar panels last?');
    expect(first).toContain('Most manufacturers guarantee their panels for 25 years. [1]');
    expect(await ask('Summarize the key findings')).toContain(
      '- Most manufacturers guarantee their panels for 25 years. [1]',
    );
    expect(await ask('What did I ask you first?')).toContain('"How long do solar panels last?"');
  });

  it('runs an agent model alone', async () => {
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow-researcher',
      messages: [{ role: 'user', content: 'How long do solar panels last?' }],
    });
    expect(r.metadata.agents_used).toEqual(['researcher']);
    expect(r.choices[0].message.content).toContain('25 years. [1]');
    expect(r.metadata.sources.map((s: any) => s.index)).toEqual([1]);
  });

  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];

  it('answers client tools with tool_choice "auto" without a call, and says why in metadata', async () => {
    const r: any = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'How long do solar panels last?' }],
      tools,
      tool_choice: 'auto',
    });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(r.metadata.notes[0]).toMatch(/^Tool calling needs a configured language model/);
  });

  it('refuses tool_choice "required" and a named tool with a 400 that says a model is needed', async () => {
    for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }] as const) {
      const err: any = await client.chat.completions
        .create({ model: 'cortex-flow', messages: [{ role: 'user', content: 'Weather?' }], tools, tool_choice })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err.status).toBe(400);
      expect(err.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'tool_choice',
        code: 'tool_calling_needs_a_model',
        message: expect.stringMatching(/needs a configured language model.*CORTEX_MODEL/),
      });
    }
  });
});
