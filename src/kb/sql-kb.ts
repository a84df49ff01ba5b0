// The knowledge base over SQL: SQLite's FTS5 ranked with bm25() on the embedded default,
// PostgreSQL's full-text search (tsvector, GIN index, ts_rank_cd) when that store is used.
import { createHash } from 'node:crypto';
import { migrate, type Migration } from '../store/migrations.ts';
import { codePointOrder, type Database, type Dialect, type Sql } from '../store/sql.ts';
import { storedText } from '../store/text.ts';
import { queryTerms, type KbDocument, type KbHit, type KnowledgeBase, type NewDocument } from './types.ts';
import { separateWords, UNSPACED } from './words.ts';

const DOCUMENTS = `
  CREATE TABLE kb_documents (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
  );
  CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`;

/**
 * What PostgreSQL indexes of a text: its words, also those inside a path, a URL, an e-mail address
 * or a scoped package name. Its parser keeps `@fastify/cors`, `src/kb/chunk.ts` or `bugs@gnu.org`
 * as one token each, so that "cors" or "chunk" found nothing there (SQLite's tokenizer splits them).
 * Only these separators go: a character class like [:alnum:] follows the database's locale, and in
 * a C locale would take the letters of every other script with them.
 */
const wordsOf = (sql: string) => `regexp_replace(${sql}, '[/@.:_\\\\]+', ' ', 'g')`;
const TSV = (title: string, text: string) =>
  `setweight(to_tsvector('english', ${wordsOf(title)}), 'A') || to_tsvector('english', ${wordsOf(text)})`;

/**
 * Chinese and Japanese write no spaces, and both tokenizers read a run of Han or kana as one word,
 * which no query word matched. The index gets the text with its words set apart (words.ts): on
 * SQLite, whose FTS table also holds the text returned, by a zero-width space (a separator to
 * unicode61, invisible, taken out again when read); on PostgreSQL, which keeps the text apart from
 * its tsvector, by a space.
 */
const ZWSP = '\u200b';
const indexedSqlite = (text: string) => separateWords(text, ZWSP);
const indexedPostgres = (text: string) => separateWords(text, ' ');
const SET_APART = /(?<=[\p{L}\p{N}])\u200b(?=[\p{L}\p{N}])/gu;
const asWritten = (text: string) => (text.includes(ZWSP) && UNSPACED.test(text) ? text.replace(SET_APART, '') : text);

/** Han and kana, roughly, for a database to find the chunks indexed before their words were set apart. */
const UNSPACED_RANGES = '\u2e80-\u9fff\uf900-\ufaff\uff66-\uff9d\u{1b000}-\u{1b16f}\u{20000}-\u{323af}';

const SQLITE: Migration[] = [
  {
    version: 1,
    name: 'documents and FTS5 chunks',
    sql: `${DOCUMENTS}
      CREATE TABLE kb_chunks (
        id INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        heading TEXT,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL
      );
      CREATE INDEX kb_chunks_by_document ON kb_chunks (document_id);
      CREATE VIRTUAL TABLE kb_fts USING fts5(heading, text, tokenize = 'porter unicode61');`,
  },
  {
    version: 2,
    name: 'Chinese and Japanese indexed word by word',
    sql: '',
    async backfill(tx) {
      const rows = await tx.all<{ rowid: number; heading: string; text: string }>(
        'SELECT rowid, heading, text FROM kb_fts WHERE heading GLOB ? OR text GLOB ?',
        [`*[${UNSPACED_RANGES}]*`, `*[${UNSPACED_RANGES}]*`],
      );
      for (const r of rows)
        await tx.run('UPDATE kb_fts SET heading = ?, text = ? WHERE rowid = ?', [
          indexedSqlite(r.heading),
          indexedSqlite(r.text),
          r.rowid,
        ]);
    },
  },
];

const POSTGRES: Migration[] = [
  {
    version: 1,
    name: 'documents and full-text chunks',
    sql: `${DOCUMENTS}
      CREATE TABLE kb_chunks (
        id BIGSERIAL PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        heading TEXT,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        text TEXT NOT NULL,
        tsv TSVECTOR NOT NULL
      );
      CREATE INDEX kb_chunks_by_document ON kb_chunks (document_id);
      CREATE INDEX kb_chunks_tsv ON kb_chunks USING GIN (tsv);`,
  },
  {
    version: 2,
    name: 'words inside paths, URLs and addresses indexed',
    sql: `UPDATE kb_chunks c SET tsv = ${TSV(`d.title || ' ' || coalesce(c.heading, '')`, 'c.text')}
      FROM kb_documents d WHERE d.id = c.document_id;`,
  },
  {
    version: 3,
    name: 'Chinese and Japanese indexed word by word',
    sql: '',
    async backfill(tx) {
      const rows = await tx.all<{ id: number; title: string; heading: string | null; text: string }>(
        `SELECT c.id, d.title, c.heading, c.text FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id
         WHERE (d.title || ' ' || coalesce(c.heading, '') || ' ' || c.text) ~ ?`,
        [`[${UNSPACED_RANGES}]`],
      );
      for (const r of rows)
        await tx.run(`UPDATE kb_chunks SET tsv = ${TSV('?', '?')} WHERE id = ?`, [
          indexedPostgres(`${r.title} ${r.heading ?? ''}`),
          indexedPostgres(r.text),
          r.id,
        ]);
    },
  },
];

/** The knowledge base's schema versions on a database, recorded in `kb_schema_migrations`. */
export const kbMigrations = (dialect: Dialect): Migration[] => (dialect === 'sqlite' ? SQLITE : POSTGRES);

/**
 * The document with U+0000 as U+FFFD, as the store keeps conversations (src/store/text.ts): PostgreSQL
 * refuses NUL in text, and a text file with one past the sample its encoding is told from (or a
 * UTF-16 one) failed to ingest there while SQLite indexed it. One character for one: the chunks'
 * offsets still point into the same text.
 */
function withoutNul(doc: NewDocument): NewDocument {
  return {
    ...doc,
    title: storedText(doc.title),
    chunks: doc.chunks.map((c) => ({ ...c, heading: storedText(c.heading), text: storedText(c.text) })),
  };
}

const documentId = (source: string) => `doc_${createHash('sha256').update(source).digest('hex').slice(0, 16)}`;

export class SqlKnowledgeBase implements KnowledgeBase {
  private readonly db: Database;

  private constructor(db: Database) {
    this.db = db;
  }

  static async open(db: Database): Promise<SqlKnowledgeBase> {
    await migrate(db, kbMigrations(db.dialect), 'kb_schema_migrations');
    return new SqlKnowledgeBase(db);
  }

  async upsertDocument(stored: NewDocument): Promise<'added' | 'updated' | 'unchanged'> {
    const doc = withoutNul(stored);
    const id = documentId(doc.source);
    return this.db.transaction(async (tx) => {
      const known = await tx.get<{ hash: string }>('SELECT hash FROM kb_documents WHERE id = ?', [id]);
      if (known?.hash === doc.hash) return 'unchanged';
      if (known) await this.deleteDocument(tx, id);
      await tx.run(
        'INSERT INTO kb_documents (id, source, title, hash, bytes, chunk_count, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [id, doc.source, doc.title, doc.hash, doc.bytes, doc.chunks.length, new Date().toISOString()],
      );
      for (const c of doc.chunks) {
        if (tx.dialect === 'sqlite') {
          const row = await tx.get<{ id: number }>(
            'INSERT INTO kb_chunks (document_id, ordinal, heading, start_offset, end_offset) VALUES (?, ?, ?, ?, ?) RETURNING id',
            [id, c.ordinal, c.heading, c.start, c.end],
          );
          await tx.run('INSERT INTO kb_fts (rowid, heading, text) VALUES (?, ?, ?)', [
            row!.id,
            indexedSqlite(`${doc.title} ${c.heading ?? ''}`),
            indexedSqlite(c.text),
          ]);
        } else {
          await tx.run(
            `INSERT INTO kb_chunks (document_id, ordinal, heading, start_offset, end_offset, text, tsv)
             VALUES (?, ?, ?, ?, ?, ?, ${TSV('?', '?')})`,
            [
              id,
              c.ordinal,
              c.heading,
              c.start,
              c.end,
              c.text,
              indexedPostgres(`${doc.title} ${c.heading ?? ''}`),
              indexedPostgres(c.text),
            ],
          );
        }
      }
      return known ? 'updated' : 'added';
    });
  }

  private async deleteDocument(tx: Sql, id: string): Promise<void> {
    if (tx.dialect === 'sqlite')
      await tx.run('DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM kb_chunks WHERE document_id = ?)', [id]);
    await tx.run('DELETE FROM kb_chunks WHERE document_id = ?', [id]);
    await tx.run('DELETE FROM kb_documents WHERE id = ?', [id]);
  }

  async search(query: string, limit: number): Promise<KbHit[]> {
    const terms = queryTerms(query);
    if (!terms.length) return [];
    const n = Math.max(1, Math.min(50, Math.floor(limit)));
    const rows =
      this.db.dialect === 'sqlite'
        ? await this.db.all(
            `SELECT c.document_id, d.title, d.source, c.ordinal, c.heading, f.text, -bm25(kb_fts, 2.0, 1.0) AS score
             FROM kb_fts f JOIN kb_chunks c ON c.id = f.rowid JOIN kb_documents d ON d.id = c.document_id
             WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts, 2.0, 1.0) LIMIT ${n}`,
            [terms.map((t) => `"${t}"`).join(' OR ')],
          )
        : await this.db.all(
            `SELECT c.document_id, d.title, d.source, c.ordinal, c.heading, c.text, ts_rank_cd(c.tsv, q) AS score
             FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id, to_tsquery('english', ?) q
             WHERE c.tsv @@ q ORDER BY score DESC, c.id LIMIT ${n}`,
            [terms.join(' | ')],
          );
    return rows.map((r) => ({
      documentId: String(r.document_id),
      title: String(r.title),
      source: String(r.source),
      ordinal: Number(r.ordinal),
      heading: (r.heading as string | null) ?? null,
      text: this.db.dialect === 'sqlite' ? asWritten(String(r.text)) : String(r.text),
      score: Number(r.score),
    }));
  }

  async list(): Promise<KbDocument[]> {
    const rows = await this.db.all(`SELECT * FROM kb_documents ORDER BY ${codePointOrder(this.db.dialect, 'source')}`);
    return rows.map((r) => ({
      id: String(r.id),
      source: String(r.source),
      title: String(r.title),
      hash: String(r.hash),
      bytes: Number(r.bytes),
      chunkCount: Number(r.chunk_count),
      ingestedAt: String(r.ingested_at),
    }));
  }

  async remove(idOrSource: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const doc = await tx.get<{ id: string }>('SELECT id FROM kb_documents WHERE id = ? OR source = ?', [
        idOrSource,
        idOrSource,
      ]);
      if (!doc) return false;
      await this.deleteDocument(tx, doc.id);
      return true;
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM kb_meta WHERE key = ?', [key]))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.transaction((tx) =>
      tx.run('INSERT INTO kb_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        key,
        value,
      ]),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
