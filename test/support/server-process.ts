// A Cortex Flow server in a process of its own (`src/cli.ts serve`), running the LLM team against
// an in-suite upstream: what tests of several processes, restarts and kills need.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** What the process has written so far (its log on stdout, errors on stderr). */
  output(): string;
  /** SIGTERM, then its exit code once it has exited. */
  stop(): Promise<number | null>;
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts a server whose model is `openai:mock` at `upstreamUrl`; resolves once /health answers. */
export async function startServerProcess(upstreamUrl: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CORTEX_LOG_LEVEL: 'warn',
      CORTEX_MODEL: 'openai:mock',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: upstreamUrl,
      OPENAI_COMPAT_PORT: String(port),
      ...env,
    },
    // stdout is read (never left to fill its pipe, which would block the server's logging).
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => ((stderr += d), (output += d)));
  const url = `http://127.0.0.1:${port}`;
  // Several processes starting at once on a loaded machine (a test run's other files) take seconds.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`server did not start within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}
