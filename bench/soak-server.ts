// The real app for bench/soak.ts, in a process of its own run with --expose-gc. Prints its URL; on
// "stats" (stdin) prints, as one JSON line, its heap after a full collection, its open handles and
// the sizes of the registries it keeps per run, conversation, response and session (read through
// the objects' fields, as a bench may: nothing in src exposes them for this), and how many
// instances of the classes a request makes are still alive (v8.queryObjects).
import { createInterface } from 'node:readline';
import { queryObjects } from 'node:v8';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ChatRun } from '../src/run/chat-run.ts';
import { KeyedMutex } from '../src/conversation/keyed-mutex.ts';
import { SseWriter } from '../src/http/sse.ts';

const app = await createApp(loadConfig(process.env));
const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
console.log(url);
const gc = (globalThis as { gc?: () => void }).gc!;

function registries(): Record<string, number | undefined> {
  const d = app.deps as any;
  const memory = d.memory;
  const count = (ctor: Function) => queryObjects(ctor, { format: 'count' }) as number;
  return {
    hubRuns: d.runEvents.runs?.size,
    memoryTurns: memory.turns?.size,
    memoryAbandoned: memory.abandoned?.size,
    leasesHeld: memory.locks?.held?.size,
    mutexKeys: memory.locks?.mutex?.tails?.size,
    gateRunning: d.gate.running,
    gateQueued: d.gate.queued,
    gateKeys: d.gate.held?.size,
    activeRuns: d.activeRuns.size,
    rateWindows: d.rateLimiter.store?.windows?.size,
    storePending: d.store?.pending?.size,
    liveChatRuns: count(ChatRun),
    liveSseWriters: count(SseWriter),
    liveKeyedMutexes: count(KeyedMutex),
    liveMcpTransports: count(WebStandardStreamableHTTPServerTransport),
    liveMcpServers: count(McpServer),
    liveAbortControllers: count(AbortController),
  };
}

function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    const connections = await new Promise<number>((r) => app.server.server.getConnections((_e, n) => r(n)));
    console.log(
      JSON.stringify({ heapUsed: process.memoryUsage().heapUsed, connections, handles: handles(), ...registries() }),
    );
  }
  if (line === 'exit') {
    await app.close();
    process.exit(0);
  }
}
