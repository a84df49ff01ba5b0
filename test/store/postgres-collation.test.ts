// Lists on a PostgreSQL database whose collation is not C (en_US.UTF-8 or ICU, the default of many
// installations) come in the order they come in on SQLite: text by code point, 'B' before 'a'.
// The test schema's columns are given such a collation, as a database created with it would have.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';
import { createStore } from '../../src/store/create-store.ts';
import type { Store } from '../../src/store/types.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';

/** ICU's root locale: case and punctuation weigh less than letters ('a' < 'B' < 'b'). */
const LINGUISTIC = '"und-x-icu"';

let schema: TestSchema;
let store: Store;
let kb: KnowledgeBase;
let admin: pg.Client;

beforeAll(async () => {
  schema = await freshSchema('coll');
  store = await createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
  kb = await openKnowledgeBase({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
  admin = new pg.Client({ connectionString: schema.url });
  await admin.connect();
  await admin.query(`SET search_path = "${schema.schema}"`);
  for (const [table, column] of [
    ['conversations', 'id'],
    ['runs', 'id'],
    ['api_keys', 'id'],
    ['kb_documents', 'source'],
  ])
    await admin.query(`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE TEXT COLLATE ${LINGUISTIC}`);
});

afterAll(async () => {
  await admin?.end();
  await kb?.close();
  await store?.close();
  await schema?.drop();
});

const SAME_MOMENT = '2026-01-02T03:04:05.678Z';
const IDS = ['a', 'B', '_x', 'b', 'Z-1']; // by code point: B, Z-1, _x, a, b

describe('PostgreSQL lists under a linguistic collation', () => {
  it('pages conversations created in the same millisecond in code-point order of their ids', async () => {
    for (const id of IDS) {
      const at = new Date().toISOString();
      await store.appendTurn({
        conversationId: id,
        owner: '',
        title: id,
        messages: [{ role: 'user', content: id, tokenCount: 1 }],
        run: {
          id: `run_${id}`,
          conversationId: id,
          owner: '',
          model: 'cortex-flow',
          status: 'completed',
          error: null,
          agentsUsed: [],
          events: [],
          usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
          promptTokens: 0,
          completionTokens: 0,
          startedAt: at,
          finishedAt: at,
        },
      });
    }
    await admin.query('UPDATE conversations SET created_at = $1', [SAME_MOMENT]);
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page++) {
      const { data, hasMore } = await store.listConversations('', { limit: 2, order: 'asc', after });
      seen.push(...data.map((c) => c.id));
      if (!hasMore) break;
      after = data.at(-1)!.id;
    }
    expect(seen).toEqual(['B', 'Z-1', '_x', 'a', 'b']);
    const desc = await store.listConversations('', { limit: 10, order: 'desc' });
    expect(desc.data.map((c) => c.id)).toEqual(['b', 'a', '_x', 'Z-1', 'B']);
  });

  it('lists the knowledge base by path in code-point order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-coll-'));
    try {
      for (const name of ['apple.md', 'Banana.md', '_notes.md', 'cherry.md'])
        writeFileSync(join(dir, name), `# ${name}\n\nSome words about ${name.slice(0, -3)}.`);
      await ingestPath(kb, dir);
      expect((await kb.list()).map((d) => d.source.slice(dir.length + 1))).toEqual([
        'Banana.md',
        '_notes.md',
        'apple.md',
        'cherry.md',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
