// PostgreSQL connections that die under the store (pg_terminate_backend, a failover, a reset): the
// statement in flight fails, the process lives on, and the pool serves the next call on a fresh
// connection. pg reports a connection that ends while checked out of the pool as an `error` event
// on its client; unheard, that event is an uncaught exception that ends the whole server.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDatabase } from '../../src/store/sql.ts';
import { freshSchema, TEST_DATABASE_URL, type TestSchema } from '../support/postgres.ts';

let schema: TestSchema;
let admin: pg.Client;
const uncaught: unknown[] = [];
const record = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  schema = await freshSchema('pgfault');
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE TABLE "${schema.schema}".items (id INTEGER PRIMARY KEY)`);
  process.on('uncaughtException', record);
});

afterEach(() => void (uncaught.length = 0));

afterAll(async () => {
  process.off('uncaughtException', record);
  await admin?.end();
  await schema?.drop();
});

/** The store's connections, told apart from everyone else's by their application name. */
const open = (name: string) => {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('application_name', name);
  return new PostgresDatabase(url.toString(), { schema: schema.schema, queryTimeoutMs: 5_000 });
};
/** Its error, or 'stored': handled at once, since it may fail before the test looks at it. */
const settled = (work: Promise<unknown>) =>
  work.then(
    () => 'stored',
    (err: unknown) => err,
  );
const terminate = (name: string) =>
  admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);

describe('a PostgreSQL connection that dies', () => {
  it('between the statements of a transaction: the transaction fails, nothing is thrown at the process', async () => {
    const db = open(`${schema.schema}_tx`);
    let inside!: () => void;
    const reached = new Promise<void>((resolve) => (inside = resolve));
    const tx = settled(
      db.transaction(async (sql) => {
        await sql.run('INSERT INTO items (id) VALUES (1)');
        inside();
        await new Promise((resolve) => setTimeout(resolve, 500)); // the connection is killed meanwhile
        await sql.run('INSERT INTO items (id) VALUES (2)');
      }),
    );
    await reached;
    await terminate(`${schema.schema}_tx`);
    expect(await tx).toBeInstanceOf(Error);
    // Give an unheard `error` event the time to surface.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught).toEqual([]);
    // Nothing of it was kept, and the pool serves the next call.
    expect(await db.get('SELECT count(*)::int AS n FROM items')).toEqual({ n: 0 });
    await db.transaction((sql) => sql.run('INSERT INTO items (id) VALUES (3)'));
    expect(await db.get('SELECT count(*)::int AS n FROM items')).toEqual({ n: 1 });
    await db.close();
  });

  it('while a transaction waits for a lock: the same', async () => {
    const db = open(`${schema.schema}_lock`);
    // Another client holds the table: the store's INSERT waits inside its transaction.
    const locker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema.schema}".items IN EXCLUSIVE MODE`);
    const tx = settled(db.transaction((sql) => sql.run('INSERT INTO items (id) VALUES (4)')));
    const waiting = async () =>
      (
        await admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [`${schema.schema}_lock`],
        )
      ).rows[0].n > 0;
    while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 20));
    await terminate(`${schema.schema}_lock`);
    expect(await tx).toBeInstanceOf(Error);
    await locker.query('COMMIT');
    await locker.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught).toEqual([]);
    expect(await db.get('SELECT count(*)::int AS n FROM items WHERE id = 4')).toEqual({ n: 0 });
    await db.close();
  });
});

describe('a statement the store gave up on', () => {
  it('is ended in the database too: a write it was told failed does not land once the lock is gone', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('application_name', `${schema.schema}_slow`);
    // A URL carrying startup options of its own keeps them, and gets the timeout besides.
    url.searchParams.set('options', `-c search_path=${schema.schema}`);
    const db = new PostgresDatabase(url.toString(), { queryTimeoutMs: 1_000 });
    const locker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema.schema}".items IN EXCLUSIVE MODE`);
    // A single statement, outside a transaction (as a lease is renewed): it waits for the lock.
    expect(await settled(db.run('INSERT INTO items (id) VALUES (5)'))).toBeInstanceOf(Error);
    await locker.query('COMMIT');
    await locker.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await db.get('SELECT count(*)::int AS n FROM items WHERE id = 5')).toEqual({ n: 0 });
    // The connection serves the next statement, and migrations' unbounded transactions are not cut.
    await db.transaction((sql) => sql.run('SELECT pg_sleep(1.2)'), { unbounded: true });
    await db.close();
  });
});
