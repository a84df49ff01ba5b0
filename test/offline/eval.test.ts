// The offline engine's evaluation: questions a newcomer asks over a corpus written for it (tea,
// bicycles, honeybees, an office handbook, next to the sample corpus), each judged by what a user
// relies on: an answerable fact is answered with the sentence that says it, an off-topic question
// quotes nothing, a pasted text is summarised from its own sentences, follow-ups work on the
// conversation, calculations are exact, introductions are remembered, and what needs a model says
// so. The suite fails if the score drops below its threshold; the score is printed by category.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openKnowledgeBase, seedSampleCorpus } from '../../src/kb/create-kb.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunEventOf } from '../../src/orchestrator/events.ts';
import type { ChatMessage } from '../../src/orchestrator/types.ts';
import { createToolRegistry } from '../../src/tools/create-tools.ts';

interface EvalSet {
  name: string;
  dir: string;
  /** The share of cases that must pass, overall and in every category (unless it has its own). */
  threshold: { overall: number; category: number; own?: Partial<Record<Case['category'], number>> };
  /** The fewest cases the set must have (40 unless it says). */
  minCases?: number;
}

interface Case {
  category: 'fact' | 'off-topic' | 'summary' | 'pasted' | 'follow-up' | 'arithmetic' | 'introduction' | 'needs-model';
  conversation?: string[];
  question: string;
  expect?: string;
  /** Written after the engine was tuned on the others, and never tuned on: how it generalises. */
  heldOut?: boolean;
}

const FIXTURES = fileURLToPath(new URL('../fixtures/offline-eval/', import.meta.url));
const SETS: EvalSet[] = [
  // Written for the engine, by the team.
  { name: 'offline engine evaluation', dir: FIXTURES, threshold: { overall: 0.9, category: 0.75 } },
  // Material the team did not write (the READMEs of seven npm packages, next to the sample corpus),
  // with questions written by someone who never saw the engine: what a user's own documents are like.
  {
    name: 'offline engine on material it was not written for',
    dir: join(FIXTURES, 'foreign'),
    // Measured when the set was written (2026-11-26): 31/66 before the engine learnt from it, 43/66
    // after; its questions still say things in other words than the READMEs do (recall is what an
    // extractive engine lacks), while an off-topic question is answered with nothing 23 times of 25.
    // After the recall work of 2026-11-26 (tuned on this set and the first): 51/66, 27 of 40 facts.
    threshold: { overall: 0.72, category: 0.6, own: { 'off-topic': 0.85 } },
  },
  // Held out: three more npm READMEs (body-parser, pg-pool, tmp) with 24 fact questions and 8
  // off-topic traps, written and scored before the engine's recall work, and never tuned on.
  {
    name: 'offline engine on held-out material',
    dir: join(FIXTURES, 'held-out'),
    // Measured when the set was written (2026-11-26), before the engine changed: 17/32 (9 of 24
    // facts, 8 of 8 off-topic); after the recall work tuned on the two sets above: 19/32 (11 facts).
    threshold: { overall: 0.55, category: 0.4, own: { 'off-topic': 0.85 } },
    minCases: 30,
  },
  // Held out: ten documents of other genres than READMEs (encyclopedic history and science, a
  // changelog, an RFC-style specification, a FAQ, terms of service, fare tables, German, French
  // and Spanish prose), with answerable questions, questions whose answer is absent, follow-ups in
  // a conversation and questions about a pasted text; written and scored before the engine changed.
  {
    name: 'offline engine on other genres',
    dir: join(FIXTURES, 'genres'),
    // Measured when the set was written (2026-11-27), before the engine changed: 63/85 (38 of 50
    // facts, 16 of 18 off-topic, 7 of 10 follow-ups, 1 of 2 summaries, 1 of 5 questions about a
    // pasted text, the others answered with unrelated passages of the knowledge base). After the
    // fixes it found: 75/85 (44 facts, 17 off-topic, 7 follow-ups, 2 summaries, 5 pasted); after
    // those the everyday set below found: 79/85 (45 facts, 17 off-topic, 10 follow-ups).
    threshold: { overall: 0.92, category: 0.7, own: { 'off-topic': 0.94 } },
    minCases: 80,
  },
  // Held out: eight documents of yet other kinds (a recipe collection, a product manual with
  // numbered steps and a troubleshooting table, meeting minutes, a medicine's leaflet, an API
  // reference with a parameter table and a changelog, scientific abstracts, an Italian travel
  // guide, a card game's rules in Portuguese), with the same kinds of questions as the set above.
  {
    name: 'offline engine on everyday documents',
    dir: join(FIXTURES, 'everyday'),
    // Measured when the set was written (2026-11-27), before the engine changed: 55/73 (38 of 47
    // facts, 9 of 12 off-topic, 4 of 8 follow-ups, 3 of 5 pasted, 1 of 1 summary). After the fixes
    // it found (word forms, units of other languages, dates in headings, follow-ups' related
    // words): 63/73 (42 facts, 9 off-topic, 6 follow-ups, 5 pasted, 1 summary).
    threshold: { overall: 0.86, category: 0.75 },
    minCases: 60,
  },
];

async function run(engine: OfflineOrchestrator, messages: ChatMessage[]): Promise<RunEventOf<'run_finished'>> {
  for await (const e of engine.run(
    { runId: 'eval', conversationId: 'eval', model: 'cortex-flow', messages, generation: {} },
    new AbortController().signal,
  ))
    if (e.type === 'run_finished') return e;
  throw new Error('the run did not finish');
}

/** Runs the earlier turns through the engine itself, then asks the question. */
async function answer(engine: OfflineOrchestrator, c: Case): Promise<RunEventOf<'run_finished'>> {
  const messages: ChatMessage[] = [];
  for (const turn of c.conversation ?? []) {
    messages.push({ role: 'user', content: turn });
    messages.push({ role: 'assistant', content: (await run(engine, [...messages])).text });
  }
  return run(engine, [...messages, { role: 'user', content: c.question }]);
}

/** Citations [1]..[n] without gaps, each listed in the sources, and nothing listed uncited. */
function citationsAreGapFree(done: RunEventOf<'run_finished'>): boolean {
  const cited = [...new Set([...done.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  const listed = done.sources.map((s) => s.index);
  return cited.every((n, i) => n === i + 1) && JSON.stringify(listed) === JSON.stringify(cited.map((_, i) => i + 1));
}

const bullets = (text: string) => [...text.matchAll(/^- (.+)$/gm)].map((m) => m[1]);

/** Why a case fails, or undefined when it passes. */
function judge(c: Case, done: RunEventOf<'run_finished'>): string | undefined {
  const { text, sources } = done;
  if (!citationsAreGapFree(done)) return 'citations have gaps or unlisted sources';
  const has = (s: string | undefined) => s === undefined || text.includes(s);
  switch (c.category) {
    case 'fact':
      if (!has(c.expect)) return 'the expected sentence is not quoted';
      if (!sources.length) return 'no source';
      return bullets(text).every((b) => /\[\d+\]$/.test(b)) ? undefined : 'a quote without a citation';
    case 'off-topic':
      return !sources.length && text.startsWith('I found nothing')
        ? undefined
        : 'quoted something for an off-topic question';
    case 'summary': {
      if (sources.length) return 'cited the knowledge base';
      // The summary proper: its bullet points, or the shortened paragraph under the first line.
      const kept = bullets(text).length
        ? bullets(text)
        : (/^Shortened to .*:\n\n(.+)$/s.exec(text)?.[1].split(/(?<=[.!?])\s+/) ?? []);
      if (!kept.length) return 'no summary';
      if (!kept.join(' ').includes(c.expect ?? '')) return 'the summary misses what it should keep';
      const pasted = c.question.replace(/\s+/g, ' ');
      return kept.every((s) => pasted.includes(s)) ? undefined : 'the summary has text that is not in the pasted text';
    }
    case 'pasted': {
      // A question about a text in the message is answered from that text: its own sentences, no
      // source of the knowledge base, or nothing when the text does not say ("nothing" expected).
      if (sources.length) return 'cited the knowledge base for a question about the pasted text';
      const pasted = c.question.replace(/\s+/g, ' ');
      if (!bullets(text).every((b) => pasted.includes(b))) return 'quoted text that is not in the pasted text';
      if (c.expect === 'nothing')
        return bullets(text).length ? 'quoted the pasted text for what it does not say' : undefined;
      return bullets(text).some((b) => b.includes(c.expect!)) ? undefined : 'the expected sentence is not quoted';
    }
    case 'arithmetic':
      if (!has(c.expect)) return 'wrong or missing result';
      return JSON.stringify(done.agentsUsed) === '["analyst"]' ? undefined : 'not computed by the analyst alone';
    case 'needs-model':
      return has(c.expect) && text.includes('CORTEX_MODEL') && !sources.length
        ? undefined
        : 'did not say it needs a model';
    default:
      return has(c.expect) ? undefined : `missing "${c.expect}"`;
  }
}

describe.each(SETS)('$name', (set) => {
  const cases: Case[] = JSON.parse(readFileSync(join(set.dir, 'cases.json'), 'utf8'));
  let dir: string;
  let kb: KnowledgeBase;
  let engine: OfflineOrchestrator;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'offline-eval-'));
    const config = loadConfig({ CORTEX_DATA_DIR: dir });
    kb = await openKnowledgeBase(config);
    await seedSampleCorpus(kb);
    const report = await ingestPath(kb, join(set.dir, 'corpus'));
    expect(report.failed).toEqual([]);
    engine = new OfflineOrchestrator('cortex-flow', createToolRegistry(config, kb), { pauseMs: 0 });
  });
  afterAll(async () => {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const { threshold } = set;
  const own = Object.entries(threshold.own ?? {}).map(([k, v]) => `, ${v * 100}% ${k}`);
  const title = `scores at least ${threshold.overall * 100}% overall and ${threshold.category * 100}% in each category${own.join('')}`;
  it(title, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(set.minCases ?? 40);
    const byCategory = new Map<string, { passed: number; total: number }>();
    const failures: string[] = [];
    const heldOut = { passed: 0, total: 0 };
    for (const c of cases) {
      const done = await answer(engine, c);
      const problem = judge(c, done);
      const score = byCategory.get(c.category) ?? { passed: 0, total: 0 };
      score.total++;
      if (!problem) score.passed++;
      else failures.push(`[${c.category}] ${c.question.slice(0, 70)}: ${problem}\n${done.text.slice(0, 300)}`);
      if (c.heldOut) {
        heldOut.total++;
        if (!problem) heldOut.passed++;
      }
      byCategory.set(c.category, score);
    }
    const passed = [...byCategory.values()].reduce((n, s) => n + s.passed, 0);
    const pct = (p: number, t: number) => `${((100 * p) / t).toFixed(1)}%`;
    const lines = [
      `${set.name}: ${passed}/${cases.length} = ${pct(passed, cases.length)}`,
      ...[...byCategory].map(
        ([k, s]) => `  ${k.padEnd(13)} ${String(s.passed).padStart(2)}/${s.total}  ${pct(s.passed, s.total)}`,
      ),
      ...(heldOut.total ? [`  (held out, never tuned on: ${heldOut.passed}/${heldOut.total})`] : []),
      ...failures.map((f) => `  FAILED ${f}`),
    ];
    console.log(lines.join('\n'));
    expect(passed / cases.length, lines.join('\n')).toBeGreaterThanOrEqual(threshold.overall);
    for (const [category, s] of byCategory)
      expect(s.passed / s.total, `${category}\n${lines.join('\n')}`).toBeGreaterThanOrEqual(
        threshold.own?.[category as Case['category']] ?? threshold.category,
      );
  });
});
