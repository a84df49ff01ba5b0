// The embedded SQLite store on a thread of its own. node:sqlite is synchronous: on the event loop,
// every statement, COMMIT and WAL checkpoint of every turn stalls every other request (about 40% of
// the main thread on the one-call path, and 0.7 s for one 20 MB answer). Here the SqlStore runs
// unchanged in a worker thread; this side forwards each Store call as a message and resolves it with
// the reply. Calls made in the same turn of the event loop travel in one message, so the worker
// receives concurrent turns together and its group commit can put them in one COMMIT.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Store } from './types.ts';
import { ForeignConversationError, TurnTakenOverError } from './types.ts';

/** Every Store method that runs in the worker (all but `dialect` and `close`). */
export const THREADED_METHODS = [
  'getConversation',
  'getConversationOwner',
  'listConversations',
  'deleteConversation',
  'getMessages',
  'tailMessages',
  'turnEndOf',
  'recentMessages',
  'appendTurn',
  'matchHistory',
  'conversationsEndingWith',
  'conversationEndingWithWindow',
  'retryableTurn',
  'abandonRun',
  'beginTurn',
  'finishTurn',
  'getRun',
  'runStats',
  'listRuns',
  'acquireLease',
  'renewLease',
  'releaseLease',
  'liveLeases',
  'interruptOrphanedRuns',
  'saveRunProgress',
  'saveCheckpoint',
  'findCheckpoint',
  'deleteCheckpoint',
  'getResponse',
  'deleteResponse',
  'createApiKey',
  'listApiKeys',
  'revokeApiKey',
  'findApiKey',
  'countActiveApiKeys',
  'addToWindow',
  'serverSecret',
  'ping',
] as const satisfies readonly Exclude<keyof Store, 'dialect' | 'close'>[];

export type ThreadedMethod = (typeof THREADED_METHODS)[number];
// A Store method missing from the list above fails to compile here.
type Unlisted = Exclude<keyof Store, 'dialect' | 'close' | ThreadedMethod>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

/** One call, as it crosses to the worker. */
export interface CallMessage {
  id: number;
  method: ThreadedMethod;
  args: unknown[];
}

/** An error, as it crosses back: its class by name, its message and the fields callers test. */
export interface ErrorShape {
  name: string;
  message: string;
  code?: unknown;
  errcode?: unknown;
}

export type ReplyMessage = { id: number; value: unknown } | { id: number; error: ErrorShape };

/** What the worker says once, when it is ready or could not open the store. */
export type StartMessage = { ready: true } | { ready: false; error: ErrorShape };

export function toErrorShape(err: unknown): ErrorShape {
  const e = err instanceof Error ? err : new Error(String(err));
  const { code, errcode } = e as { code?: unknown; errcode?: unknown };
  return {
    name: e instanceof ForeignConversationError ? 'ForeignConversationError' : e.name,
    message: e.message,
    code,
    errcode,
  };
}

function fromErrorShape(shape: ErrorShape): Error {
  const err =
    shape.name === 'ForeignConversationError'
      ? new ForeignConversationError(shape.message)
      : shape.name === 'TurnTakenOverError'
        ? new TurnTakenOverError(shape.message)
        : new Error(shape.message);
  if (shape.name !== 'ForeignConversationError') err.name = shape.name;
  if (shape.code !== undefined) Object.assign(err, { code: shape.code });
  if (shape.errcode !== undefined) Object.assign(err, { errcode: shape.errcode });
  return err;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

// The worker's own module, with this module's extension: .ts from the sources, .js from the build.
const WORKER_URL = new URL(`./store-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * The process's Node flags that matter to the store's thread: profiling (a `--cpu-prof` run profiles
 * it too) and source maps. Not all: a worker refuses process-wide flags (`--expose-gc`), those naming
 * the main module's source (`-e <code>`) and flags whose value comes as the next argument.
 */
const WORKER_FLAG = /^--((cpu|heap)-prof(-(dir|name|interval)=.+)?|enable-source-maps)$/;
const workerExecArgv = () => process.execArgv.filter((flag) => WORKER_FLAG.test(flag));

/** Opens the SQLite store at `path` (migrated) in a worker thread. */
export async function openThreadStore(path: string): Promise<Store> {
  const worker = new Worker(WORKER_URL, { workerData: { path }, execArgv: workerExecArgv() });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the store thread exited with code ${code} while opening`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (m: StartMessage) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (m.ready) resolve();
      else reject(fromErrorShape(m.error));
    });
  });
  return new ThreadStore(worker).asStore();
}

class ThreadStore {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Calls made in this turn of the event loop, sent together at its end. */
  private outbox: CallMessage[] = [];
  /** Why calls fail from now on (the thread died or the store was closed). */
  private down: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (replies: ReplyMessage[]) => this.settle(replies));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the store thread exited (code ${code})`)));
    // The thread keeps the process alive only while a call waits for it (a CLI command awaiting its
    // store must not exit; a server that forgot to close its store must).
    worker.unref();
  }

  asStore(): Store {
    const store: Record<string, unknown> = {
      dialect: 'sqlite',
      close: () => this.close(),
    };
    for (const method of THREADED_METHODS) store[method] = (...args: unknown[]) => this.call(method, args);
    return store as unknown as Store;
  }

  private call(method: ThreadedMethod, args: unknown[]): Promise<unknown> {
    if (this.down) return Promise.reject(this.down);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      // Sent once this turn's I/O callbacks have run (setImmediate), not after the current one's
      // microtasks: the requests whose data arrived together then cross in one message. Fewer,
      // larger messages cost both threads less: on the one-call path -10% CPU per request on the
      // event loop and -17 to -28% on the store's thread (BENCHMARKS.md), for a wait of microseconds.
      if (this.outbox.push({ id, method, args }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (!this.outbox.length) return; // sent already (the store was closed meanwhile) or failed
    const batch = this.outbox;
    this.outbox = [];
    try {
      this.worker.postMessage(batch);
    } catch {
      // Something in the batch cannot be cloned (a function in a tool's output, say): send each call
      // as JSON would store it, so that one odd value fails no other call.
      for (const call of batch) {
        try {
          this.worker.postMessage([{ ...call, args: JSON.parse(JSON.stringify(call.args) ?? '[]') }]);
        } catch (err) {
          this.settle([{ id: call.id, error: toErrorShape(err) }]);
        }
      }
    }
  }

  private settle(replies: ReplyMessage[]): void {
    for (const reply of replies) {
      const pending = this.pending.get(reply.id);
      if (!pending) continue;
      this.pending.delete(reply.id);
      if ('error' in reply) pending.reject(fromErrorShape(reply.error));
      else pending.resolve(reply.value);
    }
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.down ??= err;
    for (const p of this.pending.values()) p.reject(this.down);
    this.pending.clear();
    this.outbox = [];
  }

  private close(): Promise<void> {
    this.closing ??= (async () => {
      // Calls already made are answered first: the worker handles messages in order.
      if (this.outbox.length) this.flush();
      this.down = new Error('the store is closed');
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.ref();
      this.worker.postMessage('close');
      await exited;
    })();
    return this.closing;
  }
}
