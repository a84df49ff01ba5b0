// The offline extractive engine over the sample corpus: each intent, relevance-gated quotes with
// gap-free citations, agents as models working alone, and a stream paced like a model's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.ts';
import { openKnowledgeBase, seedSampleCorpus } from '../../src/kb/create-kb.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunEvent, RunEventOf } from '../../src/orchestrator/events.ts';
import type { ChatMessage, RunInput } from '../../src/orchestrator/types.ts';
import { createToolRegistry } from '../../src/tools/create-tools.ts';
import { calculatorTool } from '../../src/tools/calculator.ts';
import { ToolRegistry } from '../../src/tools/types.ts';

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

async function ask(
  messages: ChatMessage[] | string,
  opts: Partial<RunInput> = {},
  on: OfflineOrchestrator = engine,
): Promise<{ events: RunEvent[]; done: RunEventOf<'run_finished'> }> {
  const events: RunEvent[] = [];
  const input = typeof messages === 'string' ? [{ role: 'user' as const, content: messages }] : messages;
  for await (const e of on.run(
    { runId: 'r', conversationId: 'c', model: 'cortex-flow', messages: input, generation: {}, ...opts },
    new AbortController().signal,
  ))
    events.push(e);
  const done = events.find((e) => e.type === 'run_finished') as RunEventOf<'run_finished'>;
  return { events, done };
}

/** A conversation played through the engine: each user turn answered before the next. */
async function converse(...turns: string[]) {
  const messages: ChatMessage[] = [];
  let last!: Awaited<ReturnType<typeof ask>>;
  for (const content of turns) {
    messages.push({ role: 'user', content });
    last = await ask([...messages]);
    messages.push({ role: 'assistant', content: last.done.text });
  }
  return last;
}

const searched = (events: RunEvent[]) =>
  events.some((e) => e.type === 'tool_call' && e.toolName === 'search_knowledge_base');
const started = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'agent_started').map((e) => (e as RunEventOf<'agent_started'>).agent);

describe('research over the knowledge base', () => {
  it('quotes the sentence that answers, citing real chunks', async () => {
    const { done, events } = await ask('How long do solar panels last?');
    expect(done.text).toContain('Most manufacturers guarantee their panels for 25 years. [1]');
    expect(done.agentsUsed).toEqual(['researcher', 'writer']);
    expect(done.sources.length).toBeGreaterThan(0);
    for (const s of done.sources) {
      const [, docId, ordinal] = /^kb:\/\/(doc_[0-9a-f]+)#(\d+)$/.exec(s.url)!;
      const doc = (await kb.list()).find((d) => d.id === docId)!;
      expect(doc.title).toBe('Solar photovoltaic energy');
      expect(Number(ordinal)).toBeLessThan(doc.chunkCount);
    }
    expect(searched(events)).toBe(true);
  });

  it('numbers citations 1..n without gaps, listing only the sources it cites', async () => {
    for (const q of [
      'How efficient are solar panels?',
      'What drives the water cycle?',
      'What does the knowledge base index chunks with?',
      'How are conversations stored?',
    ]) {
      const { done, events } = await ask(q);
      // The search returned more passages than the answer quotes: their numbers are not reused.
      const found = events.find((e) => e.type === 'tool_result' && e.toolName === 'search_knowledge_base') as
        RunEventOf<'tool_result'> | undefined;
      expect((found?.output as unknown[]).length).toBeGreaterThan(done.sources.length);
      const cited = [...new Set([...done.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))].sort();
      expect(cited.length, q).toBeGreaterThan(0);
      expect(cited).toEqual(cited.map((_, i) => i + 1));
      expect(done.sources.map((s) => s.index)).toEqual(cited);
    }
  });

  it('drops the noisy "Key terms" and "Figures" lines', async () => {
    const { done } = await ask('How efficient are solar panels?');
    expect(done.text).not.toMatch(/Key terms|Figures/);
  });

  it("keeps to the client's max_tokens and stop, as a model would", async () => {
    const question = 'How long do solar panels last?';
    const whole = (await ask(question)).done;
    const cut = (await ask(question, { generation: { maxTokens: 8 } })).done;
    expect(cut.finishReason).toBe('length');
    expect(whole.text.startsWith(cut.text)).toBe(true);
    expect(encode(cut.text).length).toBe(8);
    const stopped = (await ask(question, { generation: { stop: ['25 years'] } })).done;
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(whole.text.slice(0, whole.text.indexOf('25 years')));
  });

  it("escapes a document's own bracketed numbers, so that they are not read as its citations", async () => {
    const own = mkdtempSync(join(tmpdir(), 'offline-brackets-'));
    const config = loadConfig({ CORTEX_DATA_DIR: own });
    const base = await openKnowledgeBase(config);
    try {
      const file = join(own, 'zorblat.md');
      writeFileSync(file, '# Zorblat warranty\n\nThe zorblat warranty lasts 7 years from purchase [2].\n');
      expect((await ingestPath(base, file)).failed).toEqual([]);
      const other = new OfflineOrchestrator('cortex-flow', createToolRegistry(config, base), { pauseMs: 0 });
      const { done } = await ask('How long does the zorblat warranty last?', {}, other);
      expect(done.text).toContain('The zorblat warranty lasts 7 years from purchase \\[2\\]. [1]');
      expect(done.sources).toHaveLength(1);
      expect([...done.text.matchAll(/(?<!\\)\[(\d+)\]/g)].map((m) => m[1])).toEqual(['1', '1']);
    } finally {
      await base.close();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('says plainly when nothing answers, names what it searched, and cites nothing', async () => {
    const { done } = await ask('Who won the 1987 chess olympiad?');
    expect(done.text).toMatch(/^I found nothing that answers "Who won the 1987 chess olympiad\?"/);
    expect(done.text).toContain('"chess", "olympiad"');
    expect(done.sources).toEqual([]);
  });

  it('speaks of one searched word as "it"', async () => {
    const { done } = await ask('What is photosynthesis?');
    expect(done.text).toContain('I searched the knowledge base for "photosynthesis": no passage contains it.');
  });

  it('echoes a long message only in part', async () => {
    const long = 'Why do the northern lights dance across the polar sky at night? '.repeat(200);
    const { done } = await ask(long);
    expect(done.text).toMatch(/^I found nothing that answers "Why do the northern lights .{100,200}\.\.\."/);
    expect(done.text.length).toBeLessThan(1000);
  });

  it('quotes nothing when passages share only a word or two with the question', async () => {
    for (const q of ['Is solar energy expensive?', 'What is the best water bottle?', 'Tell me about AI trends']) {
      const { done } = await ask(q);
      expect(done.text, q).toMatch(/^I found nothing that answers/);
      expect(done.text, q).toMatch(/passages? shares? some of these words, but none answers the question/);
      expect(done.sources, q).toEqual([]);
    }
  });

  it('is deterministic', async () => {
    const q = 'What drives the water cycle?';
    expect((await ask(q)).done.text).toBe((await ask(q)).done.text);
  });
});

describe('intents recognised before any search', () => {
  it('greets without searching', async () => {
    const { done, events } = await ask('Hello!');
    expect(done.text).toMatch(/^Hello! I'm Cortex Flow/);
    expect(searched(events)).toBe(false);
    expect(done.agentsUsed).toEqual(['supervisor']);
  });

  it('acknowledges "My name is Alice" and remembers it', async () => {
    const intro = await ask('My name is Alice');
    expect(intro.done.text).toMatch(/^Nice to meet you, Alice!/);
    expect(searched(intro.events)).toBe(false);
    const later = await converse('My name is Alice', 'How long do solar panels last?', 'what is my name');
    expect(later.done.text).toContain('Your name is **Alice**');
    expect(later.done.sources).toEqual([]);
  });

  it('says it does not know a name it was never told', async () => {
    const { done } = await ask('What is my name?');
    expect(done.text).toMatch(/haven't told me your name/);
  });

  it('remembers "I\'m Bob and I like green"', async () => {
    const intro = await ask("I'm Bob and I like green");
    expect(intro.done.text).toBe(
      'Nice to meet you, Bob! You told me: "I like green". I\'ll remember it for the rest of this conversation.',
    );
    expect((await converse("I'm Bob and I like green", 'What do I like?')).done.text).toContain('"I like green"');
    expect((await converse("I'm Bob and I like green", 'Hi there')).done.text).toMatch(/^Hello, Bob!/);
  });

  it('answers questions about the conversation itself', async () => {
    const first = await converse('Research AI agents', 'How long do solar panels last?', 'What did I ask you first?');
    expect(first.done.text).toBe('Your first message in this conversation was: "Research AI agents"');
    expect(searched(first.events)).toBe(false);
    const previous = await converse('What is 12 times 7?', 'What did I just ask?');
    expect(previous.done.text).toContain('"What is 12 times 7?"');
  });

  it('summarises the key findings of earlier answers, citing their sources again', async () => {
    const { done, events } = await converse(
      'How long do solar panels last?',
      'What drives the water cycle?',
      'Summarize the key findings',
    );
    expect(done.text).toContain('- Most manufacturers guarantee their panels for 25 years. [1]');
    expect(done.text).toContain('- The Sun drives it by heating water, and gravity brings water back down. [2]');
    expect(done.sources.map((s) => s.title)).toEqual([
      'Solar photovoltaic energy — Efficiency and lifetime',
      'The water cycle',
    ]);
    expect(searched(events)).toBe(false);
    expect(done.agentsUsed).toEqual(['writer']);
  });

  it('tells more about the last topic, without repeating what it said', async () => {
    const { done } = await converse('How long do solar panels last?', 'Tell me more');
    expect(done.text).toMatch(/^More on "How long do solar panels last\?":/);
    expect(done.text).toContain('Panels slowly lose output as they age');
    expect(done.text).not.toContain('Most manufacturers guarantee their panels for 25 years.');
    expect(done.sources.length).toBeGreaterThan(0);
  });

  it('answers "and the second point?" from the last answer', async () => {
    const { done } = await converse(
      'How long do solar panels last?',
      'What drives the water cycle?',
      'Summarize the key findings',
      'and the second point?',
    );
    expect(done.text).toContain('- The Sun drives it by heating water, and gravity brings water back down. [1]');
    expect(done.sources.map((s) => s.title)).toEqual(['The water cycle']);
  });

  it('summarises a pasted text from its own sentences, never the knowledge base', async () => {
    const reef =
      'The Great Barrier Reef is the largest coral reef system in the world, stretching over 2,300 kilometres. ' +
      'It is made of nearly 3,000 individual reefs and 900 islands. Rising sea temperatures cause coral bleaching. ' +
      'Mass bleaching events hit the reef in 2016, 2017 and 2020. Bleached coral is not dead, but it starves if the ' +
      'water stays warm. Scientists are breeding heat-tolerant coral to help the reef recover, ' +
      'using solar-powered labs.';
    const { done, events } = await ask(`Summarise this text: ${reef}`);
    expect(searched(events)).toBe(false);
    expect(done.sources).toEqual([]);
    const points = [...done.text.matchAll(/^- (.+)$/gm)].map((m) => m[1]);
    expect(points.length).toBeGreaterThan(0);
    expect(points.length).toBeLessThan(6);
    for (const p of points) expect(reef).toContain(p);
    expect(points[0]).toMatch(/^The Great Barrier Reef is the largest/);
    expect(done.agentsUsed).toEqual(['writer']);
  });

  it('computes arithmetic and conversions as people type them, integers shown whole', async () => {
    const cases: [string, string][] = [
      ['What is 17% of 2,340?', '**397.8**'],
      ['what is 12 times 7?', '**84**'],
      ['sqrt(144)', '**12**'],
      ['2^10', '**1024**'],
      ['Convert 5 km to miles', '**3.1068559611867 miles**'],
      ['100 F in C', '**37.777777777778 degC**'],
      ['1234 * 5678', '1234 * 5678 = **7006652**'],
      ['What is 15 percent of 80?', '**12**'],
    ];
    for (const [q, expected] of cases) {
      const { done, events } = await ask(q);
      expect(done.text, q).toContain(expected);
      expect(
        events.some((e) => e.type === 'tool_call' && e.toolName === 'calculator'),
        q,
      ).toBe(true);
      expect(searched(events), q).toBe(false);
      expect(done.agentsUsed, q).toEqual(['analyst']);
    }
  });

  it('says plainly that writing, translating and coding need a configured model', async () => {
    for (const q of [
      'Write a haiku about the sea',
      'Translate "good morning" into French',
      'Write code to sort a list',
    ]) {
      const { done, events } = await ask(q);
      expect(done.text, q).toMatch(/needs a language model, and none is configured/);
      expect(done.text, q).toContain('CORTEX_MODEL=openai:gpt-4.1-mini');
      expect(searched(events), q).toBe(false);
      expect(done.sources, q).toEqual([]);
    }
  });
});

describe('the agents as models work alone', () => {
  it('cortex-flow-researcher searches and quotes by itself', async () => {
    const { done, events } = await ask('How long do solar panels last?', { model: 'cortex-flow-researcher' });
    expect(done.text).toContain('25 years. [1]');
    expect(done.agentsUsed).toEqual(['researcher']);
    expect(started(events)).toEqual(['researcher']);
  });

  it('cortex-flow-analyst computes, and searches nothing', async () => {
    const sum = await ask('What is 12 times 7?', { model: 'cortex-flow-analyst' });
    expect(sum.done.text).toContain('**84**');
    expect(sum.done.agentsUsed).toEqual(['analyst']);
    const research = await ask('How long do solar panels last?', { model: 'cortex-flow-analyst' });
    expect(research.done.agentsUsed).toEqual(['analyst']);
    expect(research.done.text).toMatch(/found no calculation/);
    expect(searched(research.events)).toBe(false);
  });

  it('cortex-flow-analyst compares', async () => {
    const { done } = await ask('Which is larger, 2^10 or 1000?', { model: 'cortex-flow-analyst' });
    expect(done.text).toBe('**2^10** (= 1024) is larger than 1000 (= 1000), by 24.');
    const units = await ask('Which is smaller, 5 km or 3 miles?', { model: 'cortex-flow-analyst' });
    expect(units.done.text).toMatch(
      /^\*\*3 miles\*\* \(= 3 miles\) is smaller than 5 km \(= 5 km\), by 0\.17\d* km\.$/,
    );
  });

  it("cortex-flow-writer reformats the conversation's material and nothing else", async () => {
    const pasted = await ask(
      'Shorten this: Bees make honey from nectar. They evaporate the water until it is thick. ' +
        'Then they seal the cell with wax. A strong hive stores many kilograms.',
      { model: 'cortex-flow-writer' },
    );
    expect(pasted.done.text).toMatch(/^Shortened to \d of its 4 sentences:/);
    expect(pasted.done.agentsUsed).toEqual(['writer']);
    expect(started(pasted.events)).toEqual(['writer']);
    const research = await ask('How long do solar panels last?', { model: 'cortex-flow-writer' });
    expect(research.done.agentsUsed).toEqual(['writer']);
    expect(searched(research.events)).toBe(false);
  });
});

describe('streaming like a model', () => {
  const deltas = (events: RunEvent[]) =>
    events.filter((e): e is RunEventOf<'text_delta'> => e.type === 'text_delta').map((e) => e.text);

  it('sends even a short answer as several word-sized deltas that add up to the answer', async () => {
    const { done, events } = await ask('what is 12 times 7?');
    const pieces = deltas(events);
    expect(pieces.length).toBeGreaterThanOrEqual(5);
    expect(pieces.join('')).toBe(done.text);
    for (const p of pieces) expect(p.trim()).not.toMatch(/\s/);
  });

  it('yields to the event loop between deltas instead of sending them in one burst', async () => {
    // A macrotask counter: it only advances when the engine lets the event loop turn.
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: number[] = [];
    try {
      for await (const e of engine.run(
        {
          runId: 'r',
          conversationId: 'c',
          model: 'cortex-flow',
          messages: [{ role: 'user', content: 'Hello' }],
          generation: {},
        },
        new AbortController().signal,
      ))
        if (e.type === 'text_delta') seen.push(ticks);
    } finally {
      running = false;
    }
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
  });

  it('emits an agent step when it starts, before its work is done', async () => {
    let searchDone = false;
    const tools = new ToolRegistry().register(calculatorTool()).register({
      name: 'search_knowledge_base',
      description: 'slow search',
      inputSchema: z.object({ query: z.string() }),
      async execute() {
        await new Promise((r) => setTimeout(r, 20));
        searchDone = true;
        return [];
      },
    });
    const slow = new OfflineOrchestrator('cortex-flow', tools);
    const order: string[] = [];
    for await (const e of slow.run(
      {
        runId: 'r',
        conversationId: 'c',
        model: 'cortex-flow',
        messages: [{ role: 'user', content: 'How do tides work?' }],
        generation: {},
      },
      new AbortController().signal,
    )) {
      if (e.type === 'progress') order.push(`progress(${e.agent}) searchDone=${searchDone}`);
      if (e.type === 'tool_result') order.push('tool_result');
    }
    expect(order[0]).toBe('progress(researcher) searchDone=false');
    expect(order[1]).toBe('tool_result');
  });
});

describe('client tools', () => {
  const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: {} } }];

  it('answers tool_choice "auto" without a call, with a note that tool calling needs a model', async () => {
    const { done } = await ask('How long do solar panels last?', { tools, toolChoice: 'auto' });
    expect(done.finishReason).toBe('stop');
    expect(done.toolCalls).toBeUndefined();
    expect(done.notes?.[0]).toMatch(/^Tool calling needs a configured language model/);
    expect((await ask('Hello')).done.notes).toBeUndefined();
  });

  it('refuses tool_choice "required" or a named tool, and accepts "auto"', () => {
    const base = { model: 'cortex-flow', messages: [], generation: {}, tools };
    expect(engine.refuse({ ...base, toolChoice: 'required' })).toMatchObject({
      param: 'tool_choice',
      code: 'tool_calling_needs_a_model',
      message: expect.stringMatching(/"tool_choice": "required".*needs a configured language model.*CORTEX_MODEL/),
    });
    expect(engine.refuse({ ...base, toolChoice: { name: 'get_weather' } })?.message).toMatch(/get_weather/);
    expect(engine.refuse({ ...base, toolChoice: 'auto' })).toBeUndefined();
    expect(engine.refuse({ ...base, toolChoice: undefined })).toBeUndefined();
  });
});
