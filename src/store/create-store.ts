// The store a configuration asks for: PostgreSQL when CORTEX_DATABASE_URL is set, otherwise an
// embedded SQLite file under CORTEX_DATA_DIR, served from a thread of its own (store-thread.ts).
// Migrations run before it is handed out.
import { ensureDataDir } from './data-dir.ts';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { migrate } from './migrations.ts';
import { PostgresDatabase, SqliteDatabase, type Database } from './sql.ts';
import { SqlStore } from './sql-store.ts';
import { openThreadStore } from './store-thread.ts';
import type { Store } from './types.ts';

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { schema?: string } = {},
): Promise<Database> {
  if (config.databaseUrl) return new PostgresDatabase(config.databaseUrl, opts);
  ensureDataDir(config.dataDir);
  return new SqliteDatabase(join(config.dataDir, 'cortex.db'));
}

export async function createStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { schema?: string } = {},
): Promise<Store> {
  if (!config.databaseUrl) {
    ensureDataDir(config.dataDir);
    return openThreadStore(join(config.dataDir, 'cortex.db'));
  }
  try {
    return await migratedStore(await openDatabase(config, opts));
  } catch (err) {
    // At start-up, `connect ECONNREFUSED 127.0.0.1:5432` alone does not say which setting to check.
    throw new Error(`The database of CORTEX_DATABASE_URL could not be opened: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The store over `db`, once its schema is migrated; `db` is closed if the migration fails. */
export async function migratedStore(db: Database): Promise<SqlStore> {
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return new SqlStore(db);
}
