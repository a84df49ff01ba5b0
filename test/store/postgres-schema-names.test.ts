// A store in a PostgreSQL schema whose name needs quoting: the name travels as a connection startup
// option, which PostgreSQL splits at whitespace of every kind.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.ts';
import { TEST_DATABASE_URL } from '../support/postgres.ts';

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('PostgreSQL schema names', () => {
  it.each([`Odd "quoted" name's \\ back`, 'tab\there', 'line\nbreak', 'ünï-cödé ✓'])(
    'keeps every table in schema %j',
    async (name) => {
      const schema = `${name} ${Math.random().toString(36).slice(2, 8)}`;
      await admin((c) => c.query(`CREATE SCHEMA ${quoted(schema)}`));
      try {
        const store = await createStore({ databaseUrl: TEST_DATABASE_URL, dataDir: '' }, { schema });
        try {
          await store.createApiKey({ id: 'key_1', name: 'ops', hash: 'h1' });
          expect(await store.countActiveApiKeys()).toBe(1);
        } finally {
          await store.close();
        }
        const rows = await admin((c) => c.query(`SELECT name FROM ${quoted(schema)}.api_keys`));
        expect(rows.rows).toEqual([{ name: 'ops' }]);
      } finally {
        await admin((c) => c.query(`DROP SCHEMA ${quoted(schema)} CASCADE`));
      }
    },
  );
});
