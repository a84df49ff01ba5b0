// The two databases a migration test upgrades: an SQLite file in a folder of its own and a fresh
// PostgreSQL schema, each opened empty so that the test can lay down the rows of an older version.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { PostgresDatabase, SqliteDatabase, type Database } from '../../src/store/sql.ts';
import { freshSchema, type TestSchema } from './postgres.ts';

export interface MigrationBackend {
  name: string;
  open(): Promise<Database>;
}

/** Both backends for a test of migration `label`; what they leave behind goes after the file's tests. */
export function migrationBackends(label: string): MigrationBackend[] {
  const dir = mkdtempSync(join(tmpdir(), `cortex-${label}-`));
  let schema: TestSchema | undefined;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  });
  return [
    { name: 'SQLite', open: async () => new SqliteDatabase(join(dir, 'old.db')) },
    {
      name: 'PostgreSQL',
      open: async () => {
        schema = await freshSchema(label.replaceAll('-', ''));
        return new PostgresDatabase(schema.url, { schema: schema.schema });
      },
    },
  ];
}
