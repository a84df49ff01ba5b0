// The real app (the team, stored memory, the console) on the in-suite mock upstream, listening on a
// free loopback port: what the console and run tests drive. `env` adds to or overrides the defaults.
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

export async function startTeamApp(
  upstreamUrl: string,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ app: App; baseUrl: string }> {
  const app = await createApp(
    loadConfig({
      CORTEX_MODEL: 'openai:mock-model',
      OPENAI_API_KEY: 'sk-test-secret',
      OPENAI_BASE_URL: upstreamUrl,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_LLM_MAX_RETRIES: '0',
      ...env,
    }),
  );
  return { app, baseUrl: await app.server.listen({ host: '127.0.0.1', port: 0 }) };
}
