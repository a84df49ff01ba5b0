// SQLite's prepared statements are cached per statement text. A text that carries a count (a LIMIT
// of the history's length, an IN list) is a statement of its own for each count: a long-running
// server whose clients sent histories of ever new lengths kept one more (about 7 KB of SQLite's
// memory) for each. The statements alive must stay bounded, whatever the lengths seen.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatementSync } from 'node:sqlite';
import { queryObjects } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migratedStore } from '../../src/store/create-store.ts';
import { SqliteDatabase } from '../../src/store/sql.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';

/** Statements still alive after a full collection (queryObjects collects first). */
const liveStatements = () => queryObjects(StatementSync, { format: 'count' }) as number;

let dir: string;
let db: SqliteDatabase;
let store: SqlStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cortex-statements-'));
  db = new SqliteDatabase(join(dir, 'store.db'));
  store = await migratedStore(db);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prepared statements of the SQLite store', () => {
  it('do not grow with the lengths of the histories clients send', async () => {
    await store.tailMessages('conv_warm', 1);
    const before = liveStatements();
    // A named conversation's turn reads as many stored messages as the request resends.
    for (let length = 2; length <= 1500; length++) await store.tailMessages('conv_x', length);
    expect(liveStatements() - before).toBeLessThan(10);
  });

  it('stay bounded whatever statement texts are used', async () => {
    const before = liveStatements();
    for (let n = 1; n <= 2000; n++) await db.all(`SELECT ${n} AS n LIMIT ${n}`);
    const grown = liveStatements() - before;
    expect(grown).toBeLessThan(600);
    // The cache still serves: the most recent statement answers as before.
    expect(await db.get<{ n: number }>('SELECT 2000 AS n LIMIT 2000')).toEqual({ n: 2000 });
  });
});
