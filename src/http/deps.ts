// What the HTTP layer is built from; assembled once by the app (src/app.ts) or by a test.
import type { Config } from '../config.ts';
import type { ConversationMemory } from '../conversation/types.ts';
import type { Orchestrator } from '../orchestrator/types.ts';
import type { TokenCounter } from '../tokens.ts';
import { ApiKeyAuthenticator, type ApiKeyStore } from '../auth/api-keys.ts';
import { MemoryRateLimitStore, RateLimiter, type RateLimitStore } from '../auth/rate-limit.ts';
import { Metrics } from '../ops/metrics.ts';
import type { Store } from '../store/types.ts';
import type { McpServerStatus } from '../mcp/manager.ts';
import { ActiveRuns } from './active-runs.ts';
import { RunEventsHub } from '../run/run-events-hub.ts';
import { RunGate } from './run-gate.ts';

export interface AppDeps {
  config: Config;
  orchestrator: Orchestrator;
  memory: ConversationMemory;
  tokens: TokenCounter;
  version: string;
  auth: ApiKeyAuthenticator;
  rateLimiter: RateLimiter;
  gate: RunGate;
  metrics: Metrics;
  activeRuns: ActiveRuns;
  /** The events of the runs in progress here, for their followers (GET /v1/runs/{id}/events). */
  runEvents: RunEventsHub;
  /** Conversations and runs; absent in HTTP tests that keep nothing. */
  store?: Store;
  /** Throws when a dependency the server needs (the store) is unreachable; for /ready. */
  checkReady: () => Promise<void>;
  /** The agents' MCP servers, when configured: their state is part of /ready's detail. */
  mcp?: { status(): McpServerStatus[] };
}

export interface CoreDeps {
  config: Config;
  orchestrator: Orchestrator;
  memory: ConversationMemory;
  tokens: TokenCounter;
  version: string;
  store?: Store;
  keyStore?: ApiKeyStore;
  rateLimitStore?: RateLimitStore;
  checkReady?: () => Promise<void>;
}

/** Fills in the operational parts (auth, limits, metrics) from the config. */
export function assembleDeps(core: CoreDeps): AppDeps {
  const { config } = core;
  return {
    config,
    orchestrator: core.orchestrator,
    memory: core.memory,
    tokens: core.tokens,
    version: core.version,
    store: core.store,
    auth: new ApiKeyAuthenticator(config.apiKeys, core.keyStore ?? core.store, config.auth),
    rateLimiter: new RateLimiter(
      { rpm: config.rateLimitRpm, tpm: config.rateLimitTpm },
      core.rateLimitStore ?? rateLimitStoreOf(core.store),
    ),
    gate: new RunGate(
      config.maxConcurrentRuns,
      config.queueTimeoutSeconds * 1000,
      config.maxRunsPerKey ?? Math.ceil(config.maxConcurrentRuns / 2),
    ),
    metrics: new Metrics(),
    activeRuns: new ActiveRuns(),
    runEvents: new RunEventsHub(),
    checkReady: core.checkReady ?? (async () => core.store?.ping()),
  };
}

/** Rate-limit windows live in PostgreSQL when replicas share one; in memory otherwise. */
function rateLimitStoreOf(store: Store | undefined): RateLimitStore {
  return store?.dialect === 'postgres' ? store : new MemoryRateLimitStore();
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key that authenticated the request; undefined when auth is off. */
    owner?: string;
  }
}
