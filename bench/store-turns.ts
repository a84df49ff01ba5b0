// The store's share of the one-call path, without HTTP or a model: 32 id-less clients at a time each
// send the gateway bench's one message, and their turns go through conversation memory exactly as
// the chat route's do (lock -> prepare -> begin -> record -> release) over the embedded SQLite store
// on its thread. Prints the CPU per turn of the whole process (the event loop and the store's
// thread), split by thread, and the WAL pages written per turn. The same turns as `bench/gateway.ts`,
// with nothing else in the way: what a change to the store or to memory saves per request.
// Run: node bench/store-turns.ts   (BENCH_TURNS, BENCH_CONNECTIONS)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StoredMemory } from '../src/conversation/stored.ts';
import type { RunEvent } from '../src/orchestrator/events.ts';
import type { ChatMessage } from '../src/orchestrator/types.ts';
import { newRunId } from '../src/run/run-ids.ts';
import { createStore } from '../src/store/create-store.ts';
import { TokenCounter } from '../src/tokens.ts';

const TURNS = Number(process.env.BENCH_TURNS ?? 20_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARM_UP = 2_000;
const MODEL = 'cortex-flow-supervisor';
const ANSWER = 'A mock answer of the upstream, a sentence long.';

const dir = mkdtempSync(join(tmpdir(), 'cortex-store-turns-'));
const store = await createStore({ dataDir: dir, databaseUrl: undefined });
const memory = new StoredMemory(store, new TokenCounter('gpt-4o'), 8_000);

/** The events of a one-call run, as the team emits them. */
function trace(runId: string, at: number): RunEvent[] {
  return [
    { type: 'run_started', runId, model: MODEL, at },
    { type: 'text_delta', text: ANSWER, at },
    {
      type: 'usage',
      usage: { agent: 'supervisor', model: 'mock', inputTokens: 20, outputTokens: 12 },
      at,
    },
    {
      type: 'run_finished',
      finishReason: 'stop',
      text: ANSWER,
      agentsUsed: [],
      iterations: 1,
      sources: [],
      at,
    },
  ];
}

async function turn(): Promise<void> {
  const messages: ChatMessage[] = [{ role: 'user', content: 'BENCH-ONE-CALL hello' }];
  const lock = await memory.lock({ owner: '', messages });
  try {
    const prepared = await memory.prepare({ lock, owner: '', messages });
    const runId = newRunId();
    const startedAt = new Date();
    await memory.begin({ turn: prepared, owner: '', model: MODEL, runs: [{ runId, choiceIndex: 0 }], startedAt });
    await new Promise((r) => setImmediate(r)); // the model call
    await memory.record({
      conversationId: prepared.conversationId,
      owner: '',
      runId,
      model: MODEL,
      newMessages: prepared.newMessages,
      answer: { role: 'assistant', content: ANSWER },
      status: 'completed',
      events: trace(runId, Date.now()),
      agentsUsed: [],
      usage: { inputTokens: 20, outputTokens: 12, totalTokens: 32 },
      promptTokens: 20,
      completionTokens: 12,
      startedAt,
      finishedAt: new Date(),
    });
  } finally {
    await lock.release();
  }
}

async function batch(turns: number): Promise<void> {
  let left = turns;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (left-- > 0) await turn();
    }),
  );
}

const walBytes = () => {
  try {
    return statSync(join(dir, 'cortex.db-wal')).size;
  } catch {
    return 0;
  }
};

await batch(WARM_UP);
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await batch(TURNS);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const elu = performance.eventLoopUtilization(elu0);
const totalUs = cpu.user + cpu.system;
const mainUs = elu.active * 1000; // the event loop's busy time, in microseconds
console.log(`${TURNS} new id-less turns, ${CONNECTIONS} at a time: ${((TURNS / ms) * 1000).toFixed(0)} turns/s`);
console.log(`CPU per turn, both threads       ${(totalUs / TURNS).toFixed(1)} us`);
console.log(`  event loop (busy)              ${(mainUs / TURNS).toFixed(1)} us`);
console.log(`  the rest (store thread, GC...) ${((totalUs - mainUs) / TURNS).toFixed(1)} us`);
console.log(`WAL file after the run           ${(walBytes() / 1024).toFixed(0)} KiB`);
await store.close();
rmSync(dir, { recursive: true, force: true });
