// Chinese and Japanese write no spaces between words. The offline engine answers questions in them
// from documents in them as it does in English: the sentence that answers, quoted and cited, or
// nothing. Documents ingested beside the sample corpus, asked through the engine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openKnowledgeBase, seedSampleCorpus } from '../../src/kb/create-kb.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { OfflineOrchestrator } from '../../src/offline/offline-orchestrator.ts';
import type { RunEvent, RunEventOf } from '../../src/orchestrator/events.ts';
import { createToolRegistry } from '../../src/tools/create-tools.ts';

const TEA = [
  '# 绿茶',
  '绿茶是一种不经过发酵的茶。',
  '## 冲泡',
  '绿茶应该用八十度左右的水冲泡。冲泡时间大约两到三分钟。水温太高会让茶叶变苦。',
  '## 保存',
  '茶叶要放在密封罐里，避免阳光直射。开封后的绿茶最好在三个月内喝完。',
].join('\n\n');

const BICYCLE = [
  '# 自転車の手入れ',
  'タイヤの空気圧は毎週確認してください。チェーンには月に一度油をさします。',
  'ブレーキの効きが悪いときは、すぐに自転車店で点検を受けましょう。雨の日に乗った後は、車体を乾いた布でふきます。',
].join('\n\n');

const REDIS = [
  '# Redis 入门',
  'Redis 默认监听 6379 端口。使用 redis-cli 命令可以连接到本地服务器。',
  'Redis 把所有数据保存在内存中，并定期把快照写入磁盘。',
].join('\n\n');

let dir: string;
let kb: KnowledgeBase;
let engine: OfflineOrchestrator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'offline-cjk-'));
  const config = loadConfig({ CORTEX_DATA_DIR: dir });
  kb = await openKnowledgeBase(config);
  await seedSampleCorpus(kb);
  const docs = join(dir, 'docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'tea.md'), TEA);
  writeFileSync(join(docs, 'bicycle.md'), BICYCLE);
  writeFileSync(join(docs, 'redis.md'), REDIS);
  expect((await ingestPath(kb, docs)).added).toBe(3);
  engine = new OfflineOrchestrator('cortex-flow', createToolRegistry(config, kb));
});
afterAll(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(question: string): Promise<RunEventOf<'run_finished'>> {
  const events: RunEvent[] = [];
  for await (const e of engine.run(
    {
      runId: 'r',
      conversationId: 'c',
      model: 'cortex-flow',
      messages: [{ role: 'user', content: question }],
      generation: {},
    },
    new AbortController().signal,
  ))
    events.push(e);
  return events.find((e) => e.type === 'run_finished') as RunEventOf<'run_finished'>;
}

/** The sentences an answer quotes, without their citation marks. */
const quotedIn = (answer: string) => [...answer.matchAll(/^- (.+?) \[\d+\]$/gm)].map((m) => m[1]);

describe('questions and documents in Chinese and Japanese', () => {
  it('answers a Chinese question with the sentence that answers it, cited', async () => {
    const done = await ask('绿茶应该用多少度的水冲泡？');
    expect(quotedIn(done.text)).toEqual(['绿茶应该用八十度左右的水冲泡。']);
    expect(done.sources.map((s) => s.title)).toEqual(['绿茶 — 冲泡']);
    const storage = await ask('开封后的绿茶要在多长时间内喝完？');
    expect(quotedIn(storage.text)).toEqual(['开封后的绿茶最好在三个月内喝完。']);
  });

  it('answers a Japanese question with the sentence that answers it, cited', async () => {
    const done = await ask('チェーンにはどのくらいの頻度で油をさしますか？');
    expect(quotedIn(done.text)).toEqual(['チェーンには月に一度油をさします。']);
    expect(done.sources.map((s) => s.title)).toEqual(['自転車の手入れ']);
    const brakes = await ask('ブレーキの効きが悪いときはどうすればいいですか？');
    expect(quotedIn(brakes.text)).toEqual(['ブレーキの効きが悪いときは、すぐに自転車店で点検を受けましょう。']);
  });

  it('reads Latin names inside Chinese, in the question and in the text', async () => {
    const done = await ask('Redis 的默认端口是多少？');
    expect(quotedIn(done.text)).toEqual(['Redis 默认监听 6379 端口。']);
    const cli = await ask('怎么用redis-cli连接服务器？');
    expect(quotedIn(cli.text)).toEqual(['使用 redis-cli 命令可以连接到本地服务器。']);
  });

  it('quotes nothing when the passages found share only a word with the question, and names the words', async () => {
    for (const [q, words] of [
      ['绿茶的价格是多少？', '"绿茶", "价格"'],
      ['自転車の値段はいくらですか？', '"自転車", "値段"'],
    ]) {
      const done = await ask(q);
      expect(done.text, q).toMatch(/^I found nothing that answers/);
      expect(done.text, q).toContain(`I searched the knowledge base for ${words}`);
      expect(done.text, q).toMatch(/passages? shares? some of these words, but none answers the question/);
      expect(done.sources, q).toEqual([]);
    }
  });

  it('still answers English questions from English documents', async () => {
    const done = await ask('How long do solar panels last?');
    expect(done.text).toContain('Most manufacturers guarantee their panels for 25 years. [1]');
    for (const s of done.sources) expect(s.title).toMatch(/^Solar photovoltaic energy/);
  });

  it('summarises a pasted Chinese text from its own sentences', async () => {
    const reef =
      '大堡礁是世界上最大的珊瑚礁系统，绵延两千三百多公里。它由将近三千个独立的珊瑚礁和九百个岛屿组成。' +
      '海水温度上升会导致珊瑚白化。二零一六年和二零一七年，大规模白化事件两次袭击了大堡礁。' +
      '白化的珊瑚并没有死亡，但如果海水持续变暖，它就会饿死。科学家正在培育耐热的珊瑚，帮助大堡礁恢复。';
    const done = await ask(`Summarise this text: ${reef}`);
    const points = [...done.text.matchAll(/^- (.+)$/gm)].map((m) => m[1]);
    expect(points.length).toBeGreaterThan(1);
    expect(points.length).toBeLessThan(6);
    for (const p of points) {
      expect(reef).toContain(p);
      expect(p).toMatch(/^[^。]+。$/);
    }
    expect(points[0]).toBe('大堡礁是世界上最大的珊瑚礁系统，绵延两千三百多公里。');
  });
});
