// Where the one-call path spends its CPU: starts the mock upstream and Cortex Flow (under
// `--cpu-prof`), loads `cortex-flow-supervisor` with autocannon (plain, or streamed with
// BENCH_STREAM=1), stops the server so that Node writes the profile, and prints the self time
// by package (node_modules package, src/<dir>, node internals, GC, idle) and by function.
// Run: node bench/profile.ts   (BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_STREAM, BENCH_RESPONSES, BENCH_TOP)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort, ROOT, startPrinting, mockUpstreamEnv } from './lib-processes.ts';
import { readProfiles, type Profile } from './lib-cpu-profile.ts';
import { load } from './lib-load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const STREAM = process.env.BENCH_STREAM === '1';
const RESPONSES = process.env.BENCH_RESPONSES === '1';
const TOP = Number(process.env.BENCH_TOP ?? 25);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);

/** The bucket a frame's self time is counted in. */
function packageOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(gc)';
  if (fn === '(idle)') return '(idle)';
  if (fn === '(program)') return '(program)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/src/');
  if (src >= 0 && url.startsWith('file:')) {
    return url.slice(src + 1);
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  return url ? url : '(native)';
}

/** Self time by frame, counting only samples taken from `fromUs` on (the load, not the start-up). */
export function summarise(profile: Profile, top: number, fromUs = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < fromUs) return;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
    const fn = `${functionName || '(anonymous)'} ${pkg.startsWith('(') ? '' : `${pkg}:${lineNumber + 1}`}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + t);
  }
  // BENCH_FOCUS=<package or function name>: who calls into it (the first frame outside it, up the stack).
  const callers = new Map<string, number>();
  const focus = process.env.BENCH_FOCUS;
  if (focus) {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    for (const [id, t] of self) {
      let at: number | undefined = id;
      const inFocus = (n: number) => {
        const { url, functionName } = byId.get(n)!.callFrame;
        return packageOf(url, functionName) === focus || functionName === focus;
      };
      if (!inFocus(at)) continue;
      while (at !== undefined && inFocus(at)) at = parent.get(at);
      const f = at === undefined ? undefined : byId.get(at)!.callFrame;
      const key = f
        ? `${f.functionName || '(anonymous)'} ${packageOf(f.url, f.functionName)}:${f.lineNumber + 1}`
        : '?';
      callers.set(key, (callers.get(key) ?? 0) + t);
    }
  }
  // BENCH_INCLUSIVE=1: time with each function anywhere on the stack (what its whole subtree costs).
  const inclusive = new Map<string, number>();
  if (process.env.BENCH_INCLUSIVE === '1') {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    for (const [id, t] of self) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
        const pkg = packageOf(url, functionName);
        if (pkg.startsWith('(')) continue;
        const key = `${functionName || '(anonymous)'} ${pkg}:${lineNumber + 1}`;
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + t);
      }
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n');
  const focused = focus ? `\n\ncallers of ${focus}:\n${rows(callers)}` : '';
  // BENCH_OWN=1: each sample to the innermost project frame on its stack (src/: the code that caused
  // the work, with the libraries and node internals it called), or to the outermost frame if none.
  const owned = new Map<string, number>();
  if (process.env.BENCH_OWN === '1') {
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (n: number) => {
      const { functionName, url, lineNumber } = byId.get(n)!.callFrame;
      return `${functionName || '(anonymous)'} ${packageOf(url, functionName)}:${lineNumber + 1}`;
    };
    for (const [id, t] of self) {
      let key: string | undefined;
      let outer = id;
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        if (byId.get(at)!.callFrame.url.includes('/src/')) {
          key = label(at);
          break;
        }
        if (byId.get(at)!.callFrame.functionName !== '(root)') outer = at;
      }
      key ??= `[${label(outer)}]`;
      owned.set(key, (owned.get(key) ?? 0) + t);
      // BENCH_OWN_DETAIL=<text>: what the samples of the matching entries spend their own time in.
      const detail = process.env.BENCH_OWN_DETAIL;
      if (detail && key.includes(detail)) {
        const self = `  ${label(id)} <- ${parent.has(id) ? label(parent.get(id)!) : ''}`;
        owned.set(self, (owned.get(self) ?? 0) + t);
      }
    }
  }
  const own = owned.size ? `\n\ntime by the innermost project function:\n${rows(owned)}` : '';
  const subtrees = inclusive.size ? `\n\ntime by function, callees included:\n${rows(inclusive)}` : '';
  return `self time by package:\n${rows(byPackage)}\n\nself time by function:\n${rows(byFunction)}${focused}${subtrees}${own}`;
}

const profDir = mkdtempSync(join(tmpdir(), 'cortex-profile-'));
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-profile-data-'));
const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const port = await freePort();
const server = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, 'src/cli.ts', 'serve'], {
  cwd: ROOT,
  env: {
    ...process.env,
    CORTEX_LOG_LEVEL: 'warn',
    ...mockUpstreamEnv(upstream.line, dataDir),
    OPENAI_COMPAT_PORT: String(port),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const baseUrl = `http://127.0.0.1:${port}`;
let loadStartUs = 0;
try {
  for (
    let i = 0;
    !(await fetch(`${baseUrl}/health`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 300 || server.exitCode !== null) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const body = JSON.stringify(
    RESPONSES
      ? { model: 'cortex-flow-supervisor', stream: STREAM, input: 'BENCH-ONE-CALL hello' }
      : {
          model: 'cortex-flow-supervisor',
          stream: STREAM,
          messages: [{ role: 'user', content: 'BENCH-ONE-CALL hello' }],
        },
  );
  const url = `${baseUrl}/v1/${RESPONSES ? 'responses' : 'chat/completions'}`;
  // JIT tiers, heap sizes and caches settle over the first seconds, as in bench/gateway.ts.
  await load('warm-up', url, body, { connections: CONNECTIONS, seconds: WARMUP_SECONDS });
  // V8 stamps samples with the system's monotonic clock, the one hrtime reads: the start-up is left out.
  loadStartUs = Number(process.hrtime.bigint() / 1000n);
  const r = await load(`Cortex Flow, ${STREAM ? 'stream' : 'plain'}`, url, body, {
    connections: CONNECTIONS,
    seconds: SECONDS,
  });
  console.log(`${r.label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms (under --cpu-prof)\n`);
} finally {
  server.kill('SIGTERM');
  if (server.exitCode === null) await once(server, 'exit');
  await upstream.stop();
}
const profiles = readProfiles(profDir);
const main = profiles.get(0);
if (!main) throw new Error('the server wrote no profile');
console.log(`main thread\n${summarise(main, TOP, loadStartUs)}`);
// The SQLite store's thread (src/store/store-thread.ts): its busy share is CPU the main thread no longer spends.
for (const [thread, profile] of profiles)
  if (thread !== 0) console.log(`\nthread ${thread}\n${summarise(profile, Math.min(TOP, 15), loadStartUs)}`);
rmSync(profDir, { recursive: true, force: true });
rmSync(dataDir, { recursive: true, force: true });
