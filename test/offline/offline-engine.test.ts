// The offline extractive engine on the sample corpus: deterministic, cited, honest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openKnowledgeBase, seedSampleCorpus } from '../../src/kb/create-kb.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { createToolRegistry } from '../../src/tools/create-tools.ts';

let dir: string;
let kb: KnowledgeBase;
let engine: OfflineOrchestrator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'offline-'));
  const config = loadConfig({ CORTEX_DATA_DIR: dir });
  kb = await openKnowledgeBase(config);
  expect(await seedSampleCorpus(kb)).toBeGreaterThan(0);
  engine = new OfflineOrchestrator('cortex-flow', createToolRegistry(config, kb));
});
afterAll(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(messages: ChatMessage[]) {
  const events: RunEvent[] = [];
  for await (const e of engine.run(
    { runId: 'r', conversationId: 'c', model: 'cortex-flow', messages, generation: {} },
    new AbortController().signal,
  ))
    events.push(e);
  const done = events.find((e) => e.type === 'run_finished') as Extract<RunEvent, { type: 'run_finished' }>;
  return { events, done };
}

describe('offline extractive engine', () => {
  it('answers "What is my name?" from the transcript', async () => {
    const { done } = await ask([
      { role: 'user', content: 'My name is Alice' },
      { role: 'assistant', content: 'Nice to meet you.' },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(done.text).toContain('Alice');
    expect(done.sources).toEqual([]);
  });

  it('says it does not know a name it was never told', async () => {
    const { done } = await ask([{ role: 'user', content: 'What is my name?' }]);
    expect(done.text).toMatch(/haven't told me your name/);
    expect(done.text).not.toMatch(/Alice/);
  });

  it('answers a research question from the sample corpus with citations pointing at real chunks', async () => {
    const { done, events } = await ask([{ role: 'user', content: 'How long do solar panels last?' }]);
    expect(done.text).toContain('25 years');
    expect(done.agentsUsed).toEqual(['researcher', 'analyst', 'writer']);
    expect(done.sources.length).toBeGreaterThan(0);
    for (const s of done.sources) {
      expect(done.text).toContain(`[${s.index}]`);
      const [, docId, ordinal] = /^kb:\/\/(doc_[0-9a-f]+)#(\d+)$/.exec(s.url)!;
      const doc = (await kb.list()).find((d) => d.id === docId)!;
      expect(doc.title).toBe('Solar photovoltaic energy');
      expect(Number(ordinal)).toBeLessThan(doc.chunkCount);
    }
    expect(events.some((e) => e.type === 'tool_call' && e.toolName === 'search_knowledge_base')).toBe(true);
    // The streamed deltas add up to the answer.
    expect(
      events
        .filter((e) => e.type === 'text_delta')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe(done.text);
  });

  it('says plainly when it found nothing, rather than inventing', async () => {
    const { done } = await ask([{ role: 'user', content: 'Who won the 1987 chess olympiad?' }]);
    expect(done.text).toMatch(/^I found nothing about/);
    expect(done.sources).toEqual([]);
  });

  it('computes arithmetic with the calculator', async () => {
    const { done, events } = await ask([{ role: 'user', content: 'What is 12.5 * 4 + 3?' }]);
    expect(done.text).toContain('**53**');
    expect(events.some((e) => e.type === 'tool_call' && e.toolName === 'calculator')).toBe(true);
  });

  it('is deterministic', async () => {
    const q: ChatMessage[] = [{ role: 'user', content: 'What drives the water cycle?' }];
    expect((await ask(q)).done.text).toBe((await ask(q)).done.text);
  });
});
