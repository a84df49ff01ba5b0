// The store thread (see store-thread.ts): opens the SQLite database, migrates it, and answers the
// Store calls the main thread sends, in batches, until it is told to close.
import { parentPort, workerData } from 'node:worker_threads';
import { migratedStore } from './create-store.ts';
import { SqliteDatabase } from './sql.ts';
import type { SqlStore } from './sql-store.ts';
import { toErrorShape, type CallMessage, type ReplyMessage, type StartMessage } from './store-thread.ts';

const port = parentPort!;
const { path } = workerData as { path: string };

let store: SqlStore;
try {
  store = await migratedStore(new SqliteDatabase(path, { gatherGroups: true }));
} catch (err) {
  port.postMessage({ ready: false, error: toErrorShape(err) } satisfies StartMessage);
  process.exit(1);
}
port.postMessage({ ready: true } satisfies StartMessage);

/** Replies of this tick, sent together. */
let outbox: ReplyMessage[] = [];
const reply = (r: ReplyMessage) => {
  if (outbox.push(r) === 1)
    queueMicrotask(() => {
      const batch = outbox;
      outbox = [];
      port.postMessage(batch);
    });
};

const inFlight = new Set<Promise<void>>();

port.on('message', (message: CallMessage[] | 'close') => {
  if (message === 'close') {
    void Promise.allSettled(inFlight)
      .then(() => store.close())
      .catch(() => {}) // closing is all that is left to do: the port closes either way
      .finally(() => port.close());
    return;
  }
  for (const call of message) {
    const done = (async () => {
      try {
        const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
        reply({ id: call.id, value: await method.apply(store, call.args) });
      } catch (err) {
        reply({ id: call.id, error: toErrorShape(err) });
      }
    })();
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }
});
