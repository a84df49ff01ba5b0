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
});
