// The causes of quotes that answer another question than the one asked, found on material of other
// genres than READMEs (history, a specification, a FAQ, fare tables, German prose): each test
// holds one of them fixed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { classify } from '../../src/offline/intents.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunEvent, RunEventOf } from '../../src/orchestrator/events.ts';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { createToolRegistry } from '../../src/tools/create-tools.ts';
import { paragraphs } from '../../src/offline/text.ts';
import { passage, quoted } from '../support/offline-passages.ts';

describe('a sentence that leans on its neighbour', () => {
  it('is quoted with the sentence its pronoun stands for', () => {
    const tides = passage(
      1,
      'Tides — Spring and neap tides',
      'When the Sun and the Moon pull at right angles, the range is smallest. These are called neap tides.',
    );
    expect(quoted('What are neap tides?', [tides])).toEqual([
      'When the Sun and the Moon pull at right angles, the range is smallest. These are called neap tides.',
    ]);
  });

  it('is quoted after the sentence it goes on from', () => {
    const guild = passage(
      2,
      'The guild — Offices',
      'The guild kept three foreign offices, called factories. They were in Antwerp, Lisbon and Seville.',
    );
    expect(quoted('Where did the guild have its foreign offices?', [guild])).toEqual([
      'The guild kept three foreign offices, called factories. They were in Antwerp, Lisbon and Seville.',
    ]);
  });
});

describe("a table's rows", () => {
  it("are read with their columns' names, which the question may ask by", () => {
    const timetable = passage(
      3,
      'Ferry timetable',
      '## Ferry timetable\n\n| Day | First boat | Last boat |\n|-----|-----|-----|\n' +
        '| Weekdays | 6:15 | 22:40 |\n| Sundays | 8:00 | 20:30 |',
    );
    expect(paragraphs(timetable.text)[0].heading).toBe('Ferry timetable Day First boat Last boat');
    expect(quoted('When does the last boat leave on Sundays?', [timetable])).toEqual(['Sundays — 8:00 — 20:30']);
  });
});

describe('questions in German, French or Spanish', () => {
  it('are not matched on their auxiliaries, and "wann" asks for a date', () => {
    const ferry = passage(
      4,
      'Die Fähre',
      'Die Fähre wurde im Jahr 1921 gebaut. Später wurde sie blau gestrichen und bekam einen neuen Motor.',
    );
    expect(quoted('Wann wurde die Fähre gebaut?', [ferry])).toEqual(['Die Fähre wurde im Jahr 1921 gebaut.']);
    // "wurde" alone is no answer to "when was it opened".
    expect(quoted('Wann wurde die Fähre eröffnet?', [ferry])).toEqual([]);
    // "Wann" asks for a date: what the ferry is made of is not when it was built.
    const wooden = passage(11, 'Die Holzfähre', 'Die Holzfähre wurde aus Eichenholz gebaut.');
    expect(quoted('Wann wurde die Holzfähre gebaut?', [wooden])).toEqual([]);
    // "Wie viel" asks for a figure: how long a crossing takes is not what it costs.
    const crossing = passage(10, 'Die Fähre — Überfahrt', 'Eine Fahrt mit der Fähre dauert eine halbe Stunde.');
    expect(quoted('Wie viel kostet eine Fahrt mit der Fähre?', [crossing])).toEqual([]);
  });
});

describe('the shape of an answer', () => {
  it('takes a year before 1500 for a date', () => {
    const treaty = passage(5, 'The treaty', 'The towns forced the king to sign the treaty of Lund in 1370.');
    expect(quoted('When was the treaty of Lund signed?', [treaty])).toEqual([
      'The towns forced the king to sign the treaty of Lund in 1370.',
    ]);
  });

  it('does not let a sentence without it keep a question heading from its first sentence', () => {
    const faq = passage(
      6,
      'Library FAQ',
      '## What happens if I return something late?\n\n' +
        "We charge 20 cents per item for each day it is late. Children's cards are never charged late fees.\n\n" +
        '## What if I lose a book?\n\nYou pay the cost of the book plus a processing fee of 3 euros.',
    );
    expect(quoted('How much is the late fee at the library?', [faq])).toEqual([
      'We charge 20 cents per item for each day it is late.',
    ]);
  });
});

describe('names', () => {
  it('an initialism is found in a title that spells it out', () => {
    const spec = passage(
      7,
      'The Lantern Heartbeat Protocol — Timing',
      'The default heartbeat interval is 30 seconds. The interval must not be shorter than 5 seconds.',
    );
    expect(quoted('What is the default heartbeat interval of LHP?', [spec])).toEqual([
      'The default heartbeat interval is 30 seconds.',
    ]);
  });

  it('a word made of a letter and a word is not that word ("e-readers" are not "readers")', () => {
    const faq = passage(8, 'Library FAQ — Loans', 'Readers may borrow up to twenty books at the library at once.');
    expect(quoted('Does the library lend e-readers?', [faq])).toEqual([]);
    const gadgets = passage(9, 'Library FAQ — Devices', 'The library lends e-readers for two weeks.');
    expect(quoted('Does the library lend e-readers?', [faq, gadgets])).toEqual([
      'The library lends e-readers for two weeks.',
    ]);
  });
});

describe('a question about a text the message brings', () => {
  const lease =
    "The tenant pays a deposit of two months' rent before moving in. The deposit is returned within 30 days " +
    'after the tenant moves out. Rent is due on the first day of each month. Smoking is not allowed anywhere.';

  it('is recognised, the question after the text or before it', () => {
    expect(classify(`${lease}\n\nWhat does this say about the deposit?`, [])).toEqual({
      kind: 'ask-text',
      text: lease,
      question: 'What does this say about the deposit?',
    });
    expect(classify(`Here is my lease:\n${lease}\n\nIs smoking allowed?`, [])).toMatchObject({
      kind: 'ask-text',
      text: lease,
    });
    expect(classify(`What does the following text say about rent? ${lease}`, [])).toMatchObject({
      kind: 'ask-text',
      text: lease,
      question: 'What does the following text say about rent?',
    });
  });

  it('is not made of a question with a line of context', () => {
    expect(classify('I installed the server yesterday.\n\nHow do I add documents?', [])).toEqual({
      kind: 'research',
    });
  });

  it('a request to summarise with "please" after it is still one', () => {
    expect(classify(`${lease}\nSummarize this please.`, [])).toMatchObject({ kind: 'summarize-text', text: lease });
  });
});

describe('the engine', () => {
  let dir: string;
  let kb: KnowledgeBase;
  let engine: OfflineOrchestrator;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'offline-unrelated-'));
    const docs = join(dir, 'docs');
    mkdirSync(docs);
    writeFileSync(
      join(docs, 'silk-road.md'),
      '# The Silk Road\n\nThe Silk Road was a network of trade routes between China and the Mediterranean. ' +
        'Merchants carried silk, spices and paper along the routes.\n\n## Decline\n\n' +
        'The trade along the routes came to an end in the fifteenth century, when ships carried goods by sea.\n',
    );
    writeFileSync(
      join(docs, 'membership.md'),
      '# Membership terms\n\n## Ending your membership\n\n' +
        'Your membership ends on 31 December of the year in which you cancel it. ' +
        'You may end it at any time from your account page.\n',
    );
    const config = loadConfig({ CORTEX_DATA_DIR: dir });
    kb = await openKnowledgeBase(config);
    expect((await ingestPath(kb, docs)).failed).toEqual([]);
    engine = new OfflineOrchestrator('cortex-flow', createToolRegistry(config, kb), { pauseMs: 0 });
  });
  afterAll(async () => {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function converse(...turns: string[]): Promise<{ events: RunEvent[]; done: RunEventOf<'run_finished'> }> {
    const messages: ChatMessage[] = [];
    let events: RunEvent[] = [];
    for (const content of turns) {
      messages.push({ role: 'user', content });
      events = [];
      for await (const e of engine.run(
        { runId: 'r', conversationId: 'c', model: 'cortex-flow', messages: [...messages], generation: {} },
        new AbortController().signal,
      ))
        events.push(e);
      messages.push({ role: 'assistant', content: (events.at(-1) as RunEventOf<'run_finished'>).text });
    }
    return { events, done: events.at(-1) as RunEventOf<'run_finished'> };
  }

  it('answers a follow-up ("And when did it end?") from the documents of the answer it follows', async () => {
    const { done } = await converse('What did merchants carry on the Silk Road?', 'And when did it end?');
    expect(done.text).toContain('came to an end in the fifteenth century');
    expect(done.text).not.toContain('membership');
    expect(done.sources.every((s) => s.title.startsWith('The Silk Road'))).toBe(true);
  });

  it('answers a question about a pasted text from that text, without searching the knowledge base', async () => {
    const text =
      'Our membership costs 40 euros a year. Members may bring one guest per visit. ' +
      'Guests pay 5 euros at the door. The club house closes at 22:00 every day.';
    const { done, events } = await converse(`${text}\n\nWhat does this say about guests?`);
    expect(events.some((e) => e.type === 'tool_call')).toBe(false);
    expect(done.sources).toEqual([]);
    expect(done.text).toContain('- Guests pay 5 euros at the door.');
    expect(done.text).not.toContain('Your membership ends');
    const none = await converse(`${text}\n\nWhat does this say about parking?`);
    expect(none.done.text).toMatch(/^Your text says nothing I could quote/);
    expect(none.done.sources).toEqual([]);
  });

  it('reads "the following email" as the text asked about, not a word the text must say', async () => {
    const email =
      'Dear team, the quarterly report is now due on Friday 6 June instead of Monday. ' +
      'Please send your figures to Maria by Wednesday noon. The template has not changed since last quarter.';
    const { done } = await converse(`What does the following email say about the report? ${email}`);
    expect(done.text).toContain('- Dear team, the quarterly report is now due on Friday 6 June instead of Monday.');
    expect(done.sources).toEqual([]);
  });
});
