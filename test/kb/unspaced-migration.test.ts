// Chinese and Japanese chunks indexed before their words were set apart were found by no word
// inside a sentence. Opening such a knowledge base indexes them again, word by word.
import { describe, expect, it } from 'vitest';
import { kbMigrations, SqlKnowledgeBase } from '../../src/kb/sql-kb.ts';
import { migrate } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/sql.ts';
import { migrationBackends } from '../support/migration-backends.ts';

const backends = migrationBackends('kb-unspaced');

const TEA = '# 绿茶\n\n绿茶应该用八十度左右的水冲泡。冲泡时间大约两到三分钟。';
const BICYCLE = '# 自転車の手入れ\n\nタイヤの空気圧は毎週確認してください。';
const VOLCANO = '# Volcanoes\n\nShield volcanoes have gentle slopes built by fluid basalt lava flows.';

/** A chunk as the versions before stored it: its text indexed as written. */
async function storeAsBefore(db: Database, n: number, title: string, text: string): Promise<void> {
  const doc = `doc_${n}`;
  await db.run(
    'INSERT INTO kb_documents (id, source, title, hash, bytes, chunk_count, ingested_at) VALUES (?, ?, ?, ?, ?, 1, ?)',
    [doc, `/docs/${n}.md`, title, `hash${n}`, text.length, new Date().toISOString()],
  );
  if (db.dialect === 'sqlite') {
    await db.run(
      'INSERT INTO kb_chunks (id, document_id, ordinal, heading, start_offset, end_offset) VALUES (?, ?, 0, ?, 0, ?)',
      [n, doc, title, text.length],
    );
    await db.run('INSERT INTO kb_fts (rowid, heading, text) VALUES (?, ?, ?)', [n, `${title} ${title}`, text]);
  } else
    await db.run(
      `INSERT INTO kb_chunks (document_id, ordinal, heading, start_offset, end_offset, text, tsv)
       VALUES (?, 0, ?, 0, ?, ?, setweight(to_tsvector('english', ?), 'A') || to_tsvector('english', ?))`,
      [doc, title, text.length, text, `${title} ${title}`, text],
    );
}

describe.each(backends)(
  'knowledge base stored before Chinese and Japanese were split into words, on $name',
  (backend) => {
    it('is indexed again word by word when opened, its text unchanged', async () => {
      const db = await backend.open();
      const migrations = kbMigrations(db.dialect);
      await migrate(db, migrations.slice(0, -1), 'kb_schema_migrations');
      await storeAsBefore(db, 1, '绿茶', TEA);
      await storeAsBefore(db, 2, '自転車の手入れ', BICYCLE);
      await storeAsBefore(db, 3, 'Volcanoes', VOLCANO);
      const kb = await SqlKnowledgeBase.open(db);
      try {
        expect((await kb.search('冲泡时间', 5)).map((h) => h.text)).toEqual([TEA]);
        expect((await kb.search('空気圧', 5)).map((h) => h.text)).toEqual([BICYCLE]);
        expect((await kb.search('basalt lava', 5)).map((h) => h.text)).toEqual([VOLCANO]);
        expect(await kb.search('红茶价格', 5)).toEqual([]);
      } finally {
        await kb.close();
      }
    });
  },
);
