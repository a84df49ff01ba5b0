// A PostgreSQL that accepts connections but stops answering (a stuck server, a network that drops
// packets): every statement fails after its timeout instead of waiting for good, a transaction's
// connection is not given back to the pool broken, and closing the store does not wait for it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDatabase } from '../../src/store/sql.ts';
import { freshSchema, TEST_DATABASE_URL, type TestSchema } from '../support/postgres.ts';

let schema: TestSchema;
let proxy: Server;
/** From then on the proxy passes nothing either way: connections stay open, nothing answers. */
let silent = false;
const open = new Set<Socket>();
let url: string;

beforeAll(async () => {
  schema = await freshSchema('hang');
  const target = new URL(TEST_DATABASE_URL);
  proxy = createServer((client) => {
    open.add(client);
    const upstream = connect(Number(target.port || 5432), target.hostname);
    open.add(upstream);
    client.on('data', (d) => void (silent || upstream.write(d)));
    upstream.on('data', (d) => void (silent || client.write(d)));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  url = `postgres://${target.username || 'postgres'}@127.0.0.1:${port}${target.pathname}`;
});

afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  await schema.drop();
});

describe('a PostgreSQL that stops answering', () => {
  it('fails each statement after its timeout, and closing does not wait for the hung connection', async () => {
    const db = new PostgresDatabase(url, { schema: schema.schema, queryTimeoutMs: 500, connectTimeoutMs: 500 });
    expect(await db.get<{ one: number }>('SELECT 1 AS one')).toEqual({ one: 1 });
    silent = true;
    const started = Date.now();
    await expect(db.get('SELECT 1 AS one')).rejects.toThrow(/timeout/i);
    await expect(db.transaction((tx) => tx.run('SELECT 1'))).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    const closing = Date.now();
    await db.close();
    expect(Date.now() - closing).toBeLessThan(8_000);
  });
});
