// Child processes for benchmarks: the server under test and its mock upstream each get their own
// process (and event loop), as in production, while the load generator runs in the bench itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

function child(args: string[], env: Record<string, string>, cwd = ROOT): ChildProcess {
  return spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const stopper = (p: ChildProcess) => async () => {
  if (p.exitCode !== null) return;
  p.kill('SIGTERM');
  await once(p, 'exit');
};

/** Starts a script that prints one line (its URL) once ready. */
export async function startPrinting(script: string, env: Record<string, string>): Promise<Child & { line: string }> {
  const p = child([script], env);
  const line = await new Promise<string>((resolve, reject) => {
    p.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]));
    p.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { process: p, line, stop: stopper(p) };
}

/** Cortex Flow's environment for the one-call path: the mock upstream as its only model, no retries. */
export const mockUpstreamEnv = (upstream: string, dataDir: string): Record<string, string> => ({
  CORTEX_MODEL: 'openai:mock',
  OPENAI_API_KEY: 'sk-bench',
  OPENAI_BASE_URL: upstream,
  CORTEX_DATA_DIR: dataDir,
  CORTEX_LLM_MAX_RETRIES: '0',
});

/** Starts `cortex-flow serve` (of the checkout at `cwd`) on a free port and waits for /health. */
export async function startServer(env: Record<string, string>, cwd = ROOT): Promise<Child & { baseUrl: string }> {
  const port = await freePort();
  const p = child(['src/cli.ts', 'serve'], { CORTEX_LOG_LEVEL: 'warn', ...env, OPENAI_COMPAT_PORT: String(port) }, cwd);
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (p.exitCode !== null) throw new Error(`server exited with ${p.exitCode}`);
    const ok = await fetch(`${baseUrl}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { process: p, baseUrl, stop: stopper(p) };
}

const CLOCK_TICKS = 100;

/** A /proc `stat` line (of a process or a thread): its name and its CPU time, user + system, in ms. */
function parseStat(stat: string): { name: string; ms: number } {
  // The name is in parentheses and may hold spaces: the fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS,
  };
}

/** CPU time (user + system, ms) a process has used so far; undefined where /proc is not there. */
export function cpuMs(pid: number | undefined): number | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ms;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) by thread name (the event loop is `MainThread`, worker threads `WorkerThread`). */
export function threadCpuMs(pid: number | undefined): Map<string, number> {
  return byThread(pid, (tid) => parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
}

/**
 * Time (ms) by thread name spent ready to run but waiting for a core (the run queue's wait in
 * `schedstat`, in ns): what a thread loses to the machine's other work, not to its own.
 */
export function threadWaitMs(pid: number | undefined): Map<string, number> {
  return byThread(pid, (tid) => ({
    name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
    ms: Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e6,
  }));
}

function byThread(pid: number | undefined, read: (tid: string) => { name: string; ms: number }): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const { name, ms } = read(tid);
      const group = name === 'MainThread' || name === 'WorkerThread' ? name : 'other threads';
      out.set(group, (out.get(group) ?? 0) + ms);
    }
  } catch {
    // a thread that ended meanwhile, or no /proc: what was read is reported
  }
  return out;
}

/** The machine's CPU time so far (/proc/stat, in clock ticks): all of it, and the idle part. */
export function machineTicks(): { total: number; idle: number } {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: ticks.reduce((a, b) => a + b, 0), idle: ticks[3] + ticks[4] }; // idle + iowait
  } catch {
    return { total: NaN, idle: NaN };
  }
}
