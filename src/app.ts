// The composition root: turns a Config into a running server (orchestrator, memory, store) and
// knows how to shut it all down.
import type { FastifyInstance } from 'fastify';
import { ConfigError, type Config } from './config.ts';
import { StoredMemory } from './conversation/stored.ts';
import { leaseFor } from './conversation/conversation-locks.ts';
import { createStore } from './store/create-store.ts';
import { assembleDeps, type AppDeps } from './http/deps.ts';
import { buildServer, type ServerOptions } from './http/server.ts';
import { trackUnusedConnections } from './http/unused-connections.ts';
import { createTeam, llmConfigured } from './agents/create-team.ts';
import { createToolRegistry } from './tools/create-tools.ts';
import { openKnowledgeBase, seedSampleCorpus } from './kb/create-kb.ts';
import { OfflineOrchestrator } from './offline/offline-orchestrator.ts';
import { TokenCounter } from './tokens.ts';
import { startMcp } from './mcp/start.ts';
import { VERSION } from './version.ts';

export interface App {
  server: FastifyInstance;
  deps: AppDeps;
  close(): Promise<void>;
  /** During a close: stop the runs still going now (they are stored) instead of at the grace's end. */
  stopRunsNow(): void;
}

export async function createApp(config: Config, options: ServerOptions = {}): Promise<App> {
  const tokens = new TokenCounter(config.tokenModel);
  const store = await createStore(config);
  const kb = await openKnowledgeBase(config);
  if (config.sampleCorpus) await seedSampleCorpus(kb);
  const tools = createToolRegistry(config, kb);
  const orchestrator = llmConfigured(config)
    ? createTeam(config, tools)
    : new OfflineOrchestrator(config.modelName, tools);
  const memory = new StoredMemory(store, tokens, config.maxContextTokens, {
    leaseMs: leaseFor(config.conversationWaitSeconds),
  });
  // Runs a killed process left `running` are marked interrupted, so that their turns say what happened.
  await memory.recoverInterruptedRuns();
  const deps: AppDeps = assembleDeps({
    config,
    orchestrator,
    memory,
    tokens,
    version: VERSION,
    store,
  });
  const server = buildServer(deps, options);
  const unusedConnections = trackUnusedConnections(server.server);
  // The agents' MCP servers: connected before the first request, their failures only logged.
  const mcp = config.mcpConfig && llmConfigured(config) ? await startMcp(config, server.log) : undefined;
  if (mcp) {
    tools.attach(mcp);
    deps.mcp = mcp;
  } else if (config.mcpConfig) {
    server.log.warn('CORTEX_MCP_CONFIG is ignored: without a model (CORTEX_MODEL) no agent calls tools of MCP servers');
  }
  return {
    server,
    deps,
    stopRunsNow: () => deps.activeRuns.stopNow(),
    async close() {
      // Stop accepting, let in-flight runs finish up to the grace period (then stop and store
      // them), and only then close the listener and what the runs need.
      const closing = server.close();
      await deps.activeRuns.drain(config.shutdownGraceSeconds * 1000);
      // Keep-alive connections that served those runs are idle now, or will be once their last
      // bytes are written: nothing else will end them. Nor those that never carried a request: the
      // listener is closed, they can bring nothing more.
      const closeIdle = () => {
        server.server.closeIdleConnections();
        unusedConnections.close();
      };
      closeIdle();
      // An answer sent after its run was recorded (an MCP tool call's result, written by the SDK once
      // the run is disposed) leaves its connection idle only after the close above: it was held until
      // the last resort (5 s), however short the grace.
      const lateIdle = setInterval(closeIdle, 50).unref();
      const stragglers = setTimeout(() => server.server.closeAllConnections(), 5000).unref();
      await closing;
      clearInterval(lateIdle);
      clearTimeout(stragglers);
      memory.stopSweeping();
      await store.close();
      await kb.close();
      await mcp?.close();
    },
  };
}

/** Starts listening; resolves with the base URL (`http://host:port`). */
export async function listen(app: App): Promise<string> {
  const { host, port } = app.deps.config;
  try {
    return await app.server.listen({ host, port });
  } catch (err) {
    // Where to listen is the operator's setting: say which one cannot be used, in one line.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES')
      throw new ConfigError(`Invalid OPENAI_COMPAT_PORT (got "${port}"): cannot listen on it (${code}).`);
    if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN')
      throw new ConfigError(`Invalid CORTEX_HOST (got "${host}"): cannot listen on it (${code}).`);
    throw err;
  }
}
