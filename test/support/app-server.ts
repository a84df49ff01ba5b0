// A live Cortex Flow server for tests: the real HTTP layer and stored memory on a store of the
// test's choosing, with a test orchestrator, on a free loopback port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { StoredMemory } from '../../src/conversation/stored.ts';
import type { ConversationMemory } from '../../src/conversation/types.ts';
import { assembleDeps, type AppDeps } from '../../src/http/deps.ts';
import { buildServer } from '../../src/http/server.ts';
import type { Orchestrator } from '../../src/orchestrator/types.ts';
import { createStore } from '../../src/store/create-store.ts';
import type { Store } from '../../src/store/types.ts';
import { TokenCounter } from '../../src/tokens.ts';

export interface TestServer {
  baseUrl: string;
  deps: AppDeps;
  store: Store;
  server: FastifyInstance;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** A PostgreSQL schema of the test's own (with CORTEX_DATABASE_URL). */
  schema?: string;
  /** Replaces the memory, e.g. with one that fails on purpose. */
  wrapMemory?: (memory: StoredMemory) => ConversationMemory;
  /** Hooks or routes added before the server listens. */
  configure?: (server: FastifyInstance) => void;
  /** Where the server's JSON logs go (with a CORTEX_LOG_LEVEL other than `silent`). */
  logStream?: NodeJS.WritableStream;
}

export async function startTestServer(
  orchestrator: Orchestrator,
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
  storeOpts: TestServerOptions = {},
): Promise<TestServer> {
  const ownDir = env.CORTEX_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'cortex-test-'));
  const config = loadConfig(
    {
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_SSE_KEEPALIVE_SECONDS: '0',
      ...(ownDir ? { CORTEX_DATA_DIR: ownDir } : {}),
      ...env,
    },
    overrides,
  );
  const store = await createStore(config, { schema: storeOpts.schema });
  const tokens = new TokenCounter(config.tokenModel);
  const memory = new StoredMemory(store, tokens, config.maxContextTokens);
  await memory.recoverInterruptedRuns(); // as the app does at start-up
  const deps = assembleDeps({
    config,
    orchestrator,
    memory: storeOpts.wrapMemory?.(memory) ?? memory,
    tokens,
    version: 'test',
    store,
  });
  const server = buildServer(deps, { logStream: storeOpts.logStream });
  storeOpts.configure?.(server);
  const baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    baseUrl,
    deps,
    store,
    server,
    async close() {
      await server.close();
      memory.stopSweeping();
      await store.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

export async function chat(
  baseUrl: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'cortex-flow', ...body }),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}
