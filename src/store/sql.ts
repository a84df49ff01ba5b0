// The little SQL both backends share: `?` placeholders, rows as plain objects, and transactions.
// SQLite (node:sqlite) is synchronous on one connection, so its transactions are serialised here;
// PostgreSQL gets a pooled client per transaction.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import pg from 'pg';

export type Row = Record<string, unknown>;
export type Param = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Sql {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: Param[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: Param[]): Promise<T | undefined>;
  run(sql: string, params?: Param[]): Promise<number>;
  /** Runs several statements separated by semicolons (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Sql {
  /**
   * `fn` runs inside one transaction that holds a write lock from its start. It may run more than
   * once (SQLite's group commit runs a group again when one of its transactions fails): whatever it
   * does besides its statements must not mind that.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const WAL_SWITCH_MS = 10_000;
/**
 * Prepared statements kept per connection, the least recently used dropped first: a statement
 * whose text carries a count (`LIMIT 37`, `IN (?, ?, ?)`) is a statement of its own per count,
 * about 7 KB of SQLite's memory each, and a cache that kept them all grew for as long as clients
 * sent histories of new lengths. Far more than the fixed statements the store uses.
 */
const MAX_STATEMENTS = 500;
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

interface Pending {
  fn: (tx: Sql) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Most transactions committed together: bounds how long the first of a group waits for the last. */
const MAX_GROUP = 64;

export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  /** Transactions waiting for the connection, and the loop committing them while there are any. */
  private readonly waiting: Pending[] = [];
  private drained: Promise<void> = Promise.resolve();
  /** Whether a commit loop will still look at `waiting` (cleared synchronously as it ends). */
  private draining = false;

  /**
   * Whether a group starts one event-loop turn after the first transaction queued (messages that
   * have arrived meanwhile add theirs) rather than at once.
   */
  private readonly gatherGroups: boolean;

  constructor(path: string, options: { gatherGroups?: boolean } = {}) {
    this.gatherGroups = options.gatherGroups ?? false;
    this.db = new DatabaseSync(path);
    // busy_timeout waits out another process's write instead of failing with SQLITE_BUSY. It comes
    // first: switching to WAL takes a lock too, and servers starting at the same moment on one data
    // dir would otherwise fail there with "database is locked". WAL lets readers work while a turn
    // is written.
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.switchToWal();
    // temp_store = MEMORY: SQLite keeps the original of every page a savepoint (a group commit run
    // again, commitGroup) or an undoable statement changes in a statement journal; past 64 KiB per
    // transaction that journal spilled to a temporary file, written page by page (55 pwrite calls per
    // turn instead of 9 when every turn had a savepoint; bench/store-turns.ts).
    this.db.exec('PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;');
  }

  /**
   * SQLite answers the switch to WAL with SQLITE_BUSY without waiting on busy_timeout while another
   * connection creates or recovers the WAL (it would risk a deadlock), so the switch is retried
   * for a few seconds. It runs once, when a process opens the file, before anything is served.
   */
  private switchToWal(): void {
    const deadline = Date.now() + WAL_SWITCH_MS;
    for (;;) {
      try {
        this.db.exec('PRAGMA journal_mode = WAL');
        return;
      } catch (err) {
        if (!/database is locked|busy/i.test((err as Error).message) || Date.now() > deadline) throw err;
        sleepSync(10 + Math.random() * 40);
      }
    }
  }

  private prepare(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (s)
      this.statements.delete(sql); // re-inserted below: the most recently used come last
    else {
      s = this.db.prepare(sql);
      // A statement dropped here is finalized when collected; none is in use between two calls.
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, s);
    return s;
  }

  async all<T = Row>(sql: string, params: Param[] = []): Promise<T[]> {
    return this.prepare(sql).all(...params) as T[];
  }

  async get<T = Row>(sql: string, params: Param[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: Param[] = []): Promise<number> {
    return Number(this.prepare(sql).run(...params).changes);
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve, reject } as Pending);
      if (this.draining) return;
      this.draining = true;
      // On the event loop a group starts at once: waiting a turn there would delay every caller's
      // answer behind other requests' work. On the store's own thread (store-worker.ts) it starts
      // one event-loop turn later, once the messages that arrived meanwhile have queued their
      // transactions: the COMMIT, about half of that thread's time, is then shared by far more turns
      // (CPU per request -23%, req/s +30-50% on the one-call path; BENCHMARKS.md). Those opened
      // while a group runs form the next group.
      this.drained = this.gatherGroups
        ? new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.commitGroups())
        : this.commitGroups();
    });
  }

  /** Transaction control, prepared once (exec() would parse it again on every call). */
  private control(sql: 'BEGIN IMMEDIATE' | 'COMMIT' | 'SAVEPOINT turn' | 'RELEASE turn' | 'ROLLBACK TO turn'): void {
    this.prepare(sql).run();
  }

  /**
   * Group commit. One connection: a transaction must wait for the one before it to end, not join
   * it. The transactions that queued up meanwhile (concurrent turns, leases) then run together in
   * one BEGIN ... COMMIT, and nobody is answered before the COMMIT that holds its writes succeeded
   * (a failed COMMIT fails the whole group, every caller is told).
   */
  private async commitGroups(): Promise<void> {
    try {
      while (this.waiting.length) {
        const group = this.waiting.splice(0, MAX_GROUP);
        if ((await this.commitGroup(group, 'together')) === 'isolate') await this.commitGroup(group, 'isolated');
      }
    } finally {
      // In the same synchronous stretch as the last look at `waiting` (callers answered by the last
      // group resume only after it): one of them opening its next transaction starts a new loop
      // instead of queueing behind one that has ended.
      this.draining = false;
    }
  }

  /**
   * One attempt at a group. `together`: the transactions run one after another with nothing between
   * them, and the first that fails rolls the whole group back ('isolate': run it again isolated; a
   * group of one simply fails). `isolated`: each runs in a savepoint of its own, so that one that
   * fails is rolled back alone and its caller gets its error while the others commit. Groups almost
   * never fail, and savepoints are not free: SQLite copies every page a savepoint changes into a
   * statement journal first (bench/store-turns.ts: -13 to -20% of the store thread's CPU per turn
   * without them).
   */
  private async commitGroup(group: Pending[], mode: 'together' | 'isolated'): Promise<'done' | 'isolate'> {
    const outcomes: (() => void)[] = [];
    try {
      this.control('BEGIN IMMEDIATE');
      for (const t of group) {
        if (mode === 'isolated') {
          outcomes.push(await this.inSavepoint(t));
          continue;
        }
        try {
          const value = await t.fn(this);
          outcomes.push(() => t.resolve(value));
        } catch (err) {
          this.rollback();
          if (group.length > 1) return 'isolate';
          t.reject(err);
          return 'done';
        }
      }
      this.control('COMMIT');
    } catch (err) {
      // BEGIN, a savepoint, a rollback or COMMIT failed: nothing of the group is stored, and everyone
      // hears so.
      this.rollback();
      for (const t of group) t.reject(err);
      return 'done';
    }
    for (const settle of outcomes) settle();
    return 'done';
  }

  /** Runs `t` in a savepoint of its own, rolled back alone if it fails; how to tell its caller. */
  private async inSavepoint(t: Pending): Promise<() => void> {
    this.control('SAVEPOINT turn');
    try {
      const value = await t.fn(this);
      this.control('RELEASE turn');
      return () => t.resolve(value);
    } catch (err) {
      this.control('ROLLBACK TO turn');
      this.control('RELEASE turn');
      return () => t.reject(err);
    }
  }

  private rollback(): void {
    if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
  }

  async close(): Promise<void> {
    while (this.draining) await this.drained;
    this.db.close();
  }
}

/**
 * `column` as SQLite compares and orders text, by code point: PostgreSQL uses the database's
 * collation, and under a common one (en_US.UTF-8, ICU) 'a' comes before 'B' and '_' sorts apart,
 * so lists tied on their time (conversation ids a client chose, document paths) came back in
 * another order than on SQLite.
 */
export const codePointOrder = (dialect: Dialect, column: string): string =>
  dialect === 'postgres' ? `${column} COLLATE "C"` : column;

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (the project's SQL has no `?` in literals). */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

/**
 * How long one statement may go unanswered before it fails: a database that accepts connections but
 * never answers must become a 503 (src/http/server.ts), not a request that hangs, nor a shutdown
 * that waits for it. Migrations and their advisory lock wait as long as they take.
 */
export const PG_QUERY_TIMEOUT_MS = 30_000;
/** How long taking a new connection may take. */
const PG_CONNECT_TIMEOUT_MS = 10_000;
/** How long closing waits for connections still in use (a hung one is then left to the process's end). */
const PG_CLOSE_WAIT_MS = 5_000;

class PgSql implements Sql {
  readonly dialect = 'postgres' as const;
  protected readonly client: pg.Pool | pg.PoolClient;
  /** 0: no bound (migrations). */
  private readonly timeoutMs: number;

  constructor(client: pg.Pool | pg.PoolClient, timeoutMs = PG_QUERY_TIMEOUT_MS) {
    this.client = client;
    this.timeoutMs = timeoutMs;
  }

  private query(text: string, values?: Param[]): Promise<pg.QueryResult> {
    // pg reads query_timeout from a query's config (its types leave it out).
    const config: pg.QueryConfig<Param[]> & { query_timeout?: number } = { text, values };
    if (this.timeoutMs) config.query_timeout = this.timeoutMs;
    return this.client.query(config);
  }

  async all<T = Row>(sql: string, params: Param[] = []): Promise<T[]> {
    return (await this.query(numbered(sql), params)).rows as T[];
  }

  async get<T = Row>(sql: string, params: Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: Param[] = []): Promise<number> {
    return (await this.query(numbered(sql), params)).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }
}

/** The database's statement timeout for a client timeout: a little under it, so that the database ends first. */
const serverTimeoutMs = (clientMs: number): number => Math.max(1, clientMs - Math.min(1000, Math.ceil(clientMs / 10)));

/**
 * The pool's connection settings with `options` (startup parameters) added to those the URL may
 * carry (`?options=...`): pg lets a URL's settings override the ones given beside it.
 */
function withStartupOptions(
  connectionString: string,
  startup: string[],
): { connectionString: string; options?: string } {
  if (!startup.length) return { connectionString };
  let url: URL | undefined;
  try {
    url = new URL(connectionString);
  } catch {
    url = undefined;
  }
  const own = url?.searchParams.get('options');
  if (!url || !own) return { connectionString, options: startup.join(' ') };
  url.searchParams.set('options', [own, ...startup].join(' '));
  return { connectionString: url.toString() };
}

/**
 * A schema name as a startup option's value: double-quoted, its whitespace and backslashes escaped
 * (PostgreSQL splits the options at any whitespace, tabs and line breaks too, not at spaces alone).
 */
const quotedSchema = (schema: string): string => `"${schema.replace(/"/g, '""')}"`.replace(/[\\ \t\n\v\f\r]/g, '\\$&');

export class PostgresDatabase extends PgSql implements Database {
  private readonly pool: pg.Pool;

  private readonly queryTimeoutMs: number;

  constructor(
    connectionString: string,
    opts: { schema?: string; max?: number; queryTimeoutMs?: number; connectTimeoutMs?: number } = {},
  ) {
    const queryTimeoutMs = opts.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
    // Set as each connection starts (a `SET` sent on connect raced the pool's first query on the
    // same client): a schema of its own (tests, or several deployments in one database), and the
    // database's own statement timeout a little under the client's. pg's timeout only stops waiting:
    // the statement went on in the database, holding its connection and locks, and a write the
    // caller was told had failed (a lease renewed, a run's progress) could still land later.
    const startup = [
      ...(opts.schema ? [`-c search_path=${quotedSchema(opts.schema)}`] : []),
      ...(queryTimeoutMs ? [`-c statement_timeout=${serverTimeoutMs(queryTimeoutMs)}`] : []),
    ];
    const pool = new pg.Pool({
      ...withStartupOptions(connectionString, startup),
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    pool.on('error', () => {}); // an idle client's broken connection is replaced on next use
    // A connection that ends while its client is checked out (a transaction's, the migrations'
    // advisory lock's: pg_terminate_backend, a failover, a reset) is reported as an `error` event
    // on that client, which the pool listens for only while the client is idle: unheard, it was an
    // uncaught exception that ended the whole server. The statement in flight fails with it anyway,
    // and such a client is not given back to the pool (transaction(): `broken`).
    pool.on('connect', (client) => client.on('error', () => {}));
    super(pool, queryTimeoutMs);
    this.pool = pool;
    this.queryTimeoutMs = queryTimeoutMs;
  }

  /** `unbounded`: its statements may take as long as they take (migrations). */
  async transaction<T>(fn: (tx: Sql) => Promise<T>, opts: { unbounded?: boolean } = {}): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PgSql(client, opts.unbounded ? 0 : this.queryTimeoutMs);
    let broken = false;
    try {
      await tx.exec(opts.unbounded ? 'BEGIN; SET LOCAL statement_timeout = 0' : 'BEGIN');
      const value = await fn(tx);
      await tx.exec('COMMIT');
      return value;
    } catch (err) {
      // A connection that cannot even roll back (it timed out, it is gone) is not given back to the pool.
      await tx.exec('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Runs `fn` holding a session-level advisory lock (e.g. migrations by replicas starting at once). */
  async withAdvisoryLock<T>(key: number, fn: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      // Waiting for the lock and what is done under it take as long as they take (migrations).
      await client.query('SET statement_timeout = 0');
      await client.query('SELECT pg_advisory_lock($1)', [key]);
      return await fn(new PgSql(client, 0));
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {});
      await client.query('RESET statement_timeout').catch(() => {});
      client.release();
    }
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, PG_CLOSE_WAIT_MS)));
    await Promise.race([this.pool.end(), waited]);
    clearTimeout(timer);
  }
}
