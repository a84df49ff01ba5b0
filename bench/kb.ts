// The knowledge base at size: a generated corpus of at least 50 MB of Markdown (deterministic
// pseudo-text with Zipf-distributed words, headings and paragraphs), ingested through the real
// ingest path; then p50/p99 search latency over 500 queries. SQLite FTS5 and PostgreSQL.
// Run: npm run bench -- kb      (BENCH_KB_MB to change the size)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ingestPath } from '../src/kb/ingest.ts';
import { SqlKnowledgeBase } from '../src/kb/sql-kb.ts';
import { PostgresDatabase, SqliteDatabase, type Database } from '../src/store/sql.ts';
import { percentile } from './lib-load.ts';

const MEGABYTES = Number(process.env.BENCH_KB_MB ?? 50);
const FILE_BYTES = 100_000;
const PG_URL =
  process.env.CORTEX_BENCH_DATABASE_URL ??
  process.env.CORTEX_TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

const rand = rng(42);
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ren',
  'sa',
  'to',
  'vel',
  'qu',
  'an',
  'dor',
  'is',
  'ul',
  'pe',
  'tri',
  'nox',
  'ba',
  'ge',
  'hal',
  'or',
  'zen',
];
const VOCABULARY = Array.from({ length: 8000 }, (_, i) => {
  let w = '';
  let n = i + 1;
  do {
    w += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  return w;
});
// Zipf: word i is drawn with probability ~ 1 / (i + 1).
const cumulative: number[] = [];
VOCABULARY.reduce((sum, _, i) => (cumulative[i] = sum + 1 / (i + 1)), 0);
const total = cumulative.at(-1)!;
function word(): string {
  const x = rand() * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo];
}
const sentence = () => {
  const words = Array.from({ length: 8 + Math.floor(rand() * 12) }, word);
  return `${words[0][0].toUpperCase()}${words.join(' ').slice(1)}.`;
};

function generateCorpus(dir: string): number {
  let bytes = 0;
  for (let f = 0; bytes < MEGABYTES * 1e6; f++) {
    const parts = [`# Document ${f}: ${word()} ${word()}`];
    let size = parts[0].length;
    while (size < FILE_BYTES) {
      const block =
        rand() < 0.15
          ? `## ${word()} ${word()}`
          : Array.from({ length: 3 + Math.floor(rand() * 4) }, sentence).join(' ');
      parts.push(block);
      size += block.length + 2;
    }
    const text = parts.join('\n\n');
    const sub = join(dir, `part-${Math.floor(f / 100)}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `doc-${f}.md`), text);
    bytes += Buffer.byteLength(text);
  }
  return bytes;
}

async function measure(name: string, db: Database, corpus: string, bytes: number): Promise<void> {
  const kb = await SqlKnowledgeBase.open(db);
  const t0 = performance.now();
  const report = await ingestPath(kb, corpus);
  const seconds = (performance.now() - t0) / 1000;
  if (report.failed.length) throw new Error(`${report.failed.length} files failed: ${report.failed[0].error}`);
  console.log(
    `${name}: ingested ${report.added} files, ${report.chunks} chunks, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s = ${(bytes / 1e6 / seconds).toFixed(2)} MB/s`,
  );
  const queryRand = rng(7);
  const queries = Array.from({ length: 500 }, () =>
    Array.from({ length: 2 + Math.floor(queryRand() * 2) }, () => VOCABULARY[50 + Math.floor(queryRand() * 3000)]).join(
      ' ',
    ),
  );
  for (const q of queries.slice(0, 20)) await kb.search(q, 5);
  const times: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const t = performance.now();
    hits += (await kb.search(q, 5)).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `  search (top 5, ${queries.length} queries of 2-3 words, ${(hits / queries.length).toFixed(1)} hits each): p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms`,
  );
  await kb.close();
}

const dir = mkdtempSync(join(tmpdir(), 'bench-kb-'));
try {
  const corpus = join(dir, 'corpus');
  const bytes = generateCorpus(corpus);
  await measure('SQLite FTS5', new SqliteDatabase(join(dir, 'knowledge.db')), corpus, bytes);
  const schema = `bench_kb_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await measure('PostgreSQL full-text', new PostgresDatabase(PG_URL, { schema }), corpus, bytes);
  } catch (err) {
    console.log(`PostgreSQL: skipped (${(err as Error).message})`);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
