// Starts test/support/measured-server.ts (the real app, run with --expose-gc) in a child process
// pointed at a mock upstream, and asks it for its live heap after a full GC.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./measured-server.ts', import.meta.url));

export interface MeasuredServer {
  url: string;
  /** Bytes of heap in use after a full garbage collection. */
  heap(): Promise<number>;
  stop(): Promise<void>;
}

export async function startMeasuredServer(
  upstreamUrl: string,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<MeasuredServer> {
  const child = spawn(process.execPath, ['--expose-gc', SERVER], {
    env: {
      ...process.env,
      CORTEX_DATA_DIR: dataDir,
      CORTEX_LOG_LEVEL: 'silent',
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstreamUrl,
      CORTEX_MAX_CONCURRENT_RUNS: '10000',
      CORTEX_SAMPLE_CORPUS: 'false',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  return {
    url: await next(),
    async heap() {
      child.stdin!.write('heap\n');
      return Number(await next());
    },
    async stop() {
      child.stdin!.write('exit\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
