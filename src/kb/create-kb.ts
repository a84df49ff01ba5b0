// The knowledge base a configuration asks for: PostgreSQL (kb_ tables) when CORTEX_DATABASE_URL is
// set, otherwise its own SQLite file beside the conversation store. On first start it takes in
// the sample corpus that ships with the project, once.
import { ensureDataDir } from '../store/data-dir.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { PostgresDatabase, SqliteDatabase } from '../store/sql.ts';
import { ingestPath } from './ingest.ts';
import { SqlKnowledgeBase } from './sql-kb.ts';
import type { KnowledgeBase } from './types.ts';

export const SAMPLE_CORPUS = fileURLToPath(new URL('../../samples/corpus', import.meta.url));

export async function openKnowledgeBase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { schema?: string } = {},
): Promise<KnowledgeBase> {
  if (config.databaseUrl) return SqlKnowledgeBase.open(new PostgresDatabase(config.databaseUrl, { ...opts, max: 4 }));
  ensureDataDir(config.dataDir);
  return SqlKnowledgeBase.open(new SqliteDatabase(join(config.dataDir, 'knowledge.db')));
}

/** Ingests the sample corpus the first time a knowledge base is opened; returns documents added. */
export async function seedSampleCorpus(kb: KnowledgeBase): Promise<number> {
  if (await kb.getMeta('sample_corpus_ingested')) return 0;
  const report = await ingestPath(kb, SAMPLE_CORPUS);
  await kb.setMeta('sample_corpus_ingested', new Date().toISOString());
  return report.added;
}
