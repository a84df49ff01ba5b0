// SQLite commits the transactions that queue up behind one another together (group commit). Each
// caller must still get its own outcome: a transaction that fails is rolled back alone, the others
// of its group are stored, and a reader sees all of them once their callers were answered. (A group
// runs as one plain transaction first; when one of it fails, the group is rolled back and run again
// with each transaction in a savepoint of its own.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../src/store/sql.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-group-commit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// As the store's own thread runs it, a group gathers one event-loop turn before it starts.
describe.each([
  { gatherGroups: false, name: 'a group starting at once' },
  { gatherGroups: true, name: 'a group gathered for one event-loop turn' },
])('SQLite transactions committed as a group ($name)', ({ gatherGroups }) => {
  it('rolls back only the failing one of many concurrent transactions, each caller told its own outcome', async () => {
    const path = join(dir, `a-${gatherGroups}.db`);
    const db = new SqliteDatabase(path, { gatherGroups });
    await db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, k) =>
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [k, `first ${k}`]);
          await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [k + 100, `second ${k}`]);
          if (k === 7) throw new Error('turn 7 fails after writing');
          if (k === 11) await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [3, 'a duplicate key']);
          return k;
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(
      Array.from({ length: 20 }, (_, k) => (k === 7 || k === 11 ? 'rejected' : 'fulfilled')),
    );
    expect((outcomes[7] as PromiseRejectedResult).reason.message).toBe('turn 7 fails after writing');
    await db.close();

    // Another connection sees exactly the writes of the transactions that succeeded, all of them.
    const reader = new SqliteDatabase(path);
    const keys = (await reader.all<{ k: number }>('SELECT k FROM t ORDER BY k')).map((r) => Number(r.k));
    const stored = Array.from({ length: 20 }, (_, k) => k).filter((k) => k !== 7 && k !== 11);
    expect(keys).toEqual([...stored, ...stored.map((k) => k + 100)]);
    await reader.close();
  });

  it('never tells a caller its write succeeded when the COMMIT that held it failed', async () => {
    const db = new SqliteDatabase(join(dir, `b-${gatherGroups}.db`), { gatherGroups });
    await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    // A deferred foreign key is checked at COMMIT: the whole group's COMMIT fails.
    await db.exec(
      'CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)',
    );
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, k) =>
        db.transaction((tx) => tx.run('INSERT INTO child (id, p) VALUES (?, ?)', [k, k === 2 ? 999 : null])),
      ),
    );
    expect(outcomes[2].status).toBe('rejected');
    // Whoever was told "stored" is stored; whoever shared the failed COMMIT was told it failed.
    const stored = (await db.all<{ id: number }>('SELECT id FROM child ORDER BY id')).map((r) => Number(r.id));
    expect(stored).toEqual(outcomes.flatMap((o, k) => (o.status === 'fulfilled' ? [k] : [])));
    await db.exec('DELETE FROM child');
    // The connection is usable afterwards.
    await db.transaction((tx) => tx.run('INSERT INTO child (id, p) VALUES (1, NULL)'));
    expect((await db.all('SELECT id FROM child')).length).toBe(1);
    await db.close();
  });
});
