// The CLI as operators run it: help, one-line configuration errors, serve and SIGTERM, .env,
// API keys, the knowledge base commands. Tests that start the CLI several times get 90 s: each start
// loads the app, which takes seconds on a busy two-core machine.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { createStore } from '../../src/store/create-store.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function cli(args: string[], env: Record<string, string> = {}, cwd = tempDir()) {
  try {
    const r = await run(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, CORTEX_LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cortex-flow CLI', () => {
  it('prints help listing its commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'ingest', 'kb list', 'keys create']) expect(r.stdout).toContain(cmd);
    // Every command the README shows is in the help, whose descriptions start in one column.
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = new Set([...readme.matchAll(/cortex-flow (serve|ingest|kb \w+|keys \w+|mcp \w+)/g)].map((m) => m[1]));
    expect(shown.size).toBeGreaterThan(5);
    for (const cmd of shown) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    const commands = r.stdout.split('Commands:\n')[1].split('\n\n')[0].split('\n');
    expect(new Set(commands.map((line) => /^ {2}\S.*?\s{2,}(?=\S)/.exec(line)?.[0].length)).size).toBe(1);
  });

  it('stops on a bad setting with one line naming the variable, no stack trace', async () => {
    const r = await cli(['serve'], { OPENAI_COMPAT_PORT: 'abc' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('OPENAI_COMPAT_PORT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an unknown option or an option without its value in one line, and starts nothing', async () => {
    for (const [args, says] of [
      [['serve', '--port'], "Option '-p, --port <value>' argument missing"],
      [['serve', '--prot', '18698'], "Unknown option '--prot'"],
      [['serve', '-p', 'abc'], 'Invalid --port (got "abc"): expected a port number.'],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toContain(says);
    }
  }, 90_000);

  it('names the setting when the data folder, the address or the port cannot be used', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a folder');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as AddressInfo).port);
    try {
      for (const [env, says] of [
        [{ CORTEX_DATA_DIR: join(file, 'sub') }, 'Invalid CORTEX_DATA_DIR'],
        [{ CORTEX_HOST: 'not-a-host.invalid' }, 'Invalid CORTEX_HOST (got "not-a-host.invalid"): cannot listen on it'],
        [{ OPENAI_COMPAT_PORT: port }, `Invalid OPENAI_COMPAT_PORT (got "${port}"): cannot listen on it (EADDRINUSE).`],
      ] as const) {
        const r = await cli(['serve'], { CORTEX_DATA_DIR: join(tempDir(), 'data'), ...env });
        expect(r.code, says).not.toBe(0);
        expect(r.stderr.trim().split('\n'), says).toHaveLength(1);
        expect(r.stderr, says).toContain(says);
      }
    } finally {
      taken.close();
    }
  }, 90_000);

  it('names a missing provider key at start-up', async () => {
    const r = await cli(['serve'], { CORTEX_MODEL: 'openai:gpt-4.1-mini', OPENAI_API_KEY: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('OPENAI_API_KEY');
  });

  it('serves with settings from .env, answers /health, and exits 0 on SIGTERM', async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, '.env'),
      `OPENAI_COMPAT_PORT=0\nOPENAI_COMPAT_MODEL_NAME=from-dotenv\nCORTEX_DATA_DIR=${join(cwd, 'data')}\nCORTEX_LOG_LEVEL=info\n`,
    );
    const { CORTEX_LOG_LEVEL: _, OPENAI_COMPAT_PORT: __, ...env } = process.env; // let .env decide
    const child = spawn(process.execPath, [CLI, 'serve'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
      child.stdout!.on('data', () => {
        const m = /Cortex Flow listening on (http:\/\/[\d.:]+)\/v1/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const health = (await (await fetch(`${url}/health`)).json()) as any;
    expect(health).toMatchObject({ status: 'healthy', version: expect.any(String) });
    const models = (await (await fetch(`${url}/v1/models`)).json()) as any;
    expect(models.data[0].id).toBe('from-dotenv');
    expect(out).toContain('offline extractive engine');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('creates, lists and revokes API keys, showing the key once', async () => {
    const env = { CORTEX_DATA_DIR: join(tempDir(), 'data') };
    const created = await cli(['keys', 'create', '--name', 'ci-bot'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^cf-[\w-]{20,}$/);
    const listed = await cli(['keys', 'list'], env);
    expect(listed.stdout).toContain('ci-bot');
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(key);
    expect((await cli(['keys', 'revoke', 'ci-bot'], env)).code).toBe(0);
    expect((await cli(['keys', 'list'], env)).stdout).toContain('revoked');
    // Two active keys of one name: the name is refused, the id of either revokes just that one.
    for (let i = 0; i < 2; i++) expect((await cli(['keys', 'create', '--name', 'twin'], env)).code).toBe(0);
    const ambiguous = await cli(['keys', 'revoke', 'twin'], env);
    expect(ambiguous.code).not.toBe(0);
    expect(ambiguous.stderr).toContain("2 active API keys are named 'twin'");
    const twins = (await cli(['keys', 'list'], env)).stdout.split('\n').filter((l) => l.includes('\ttwin\t'));
    expect(twins.every((l) => l.endsWith('active'))).toBe(true);
    expect((await cli(['keys', 'revoke', twins[0].split('\t')[0]], env)).code).toBe(0);
    const after = (await cli(['keys', 'list'], env)).stdout.split('\n').filter((l) => l.includes('\ttwin\t'));
    expect(after.filter((l) => l.endsWith('active'))).toHaveLength(1);
  }, 90_000);

  it('lists a key named with a tab or newline in its own column, and refuses to revoke a key twice', async () => {
    const env = { CORTEX_DATA_DIR: join(tempDir(), 'data') };
    expect((await cli(['keys', 'create', '--name', 'ci\tbot\nold'], env)).code).toBe(0);
    const lines = (await cli(['keys', 'list'], env)).stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const [id, name, , state] = lines[0].split('\t');
    expect([name, state]).toEqual(['"ci\\tbot\\nold"', 'active']);
    expect((await cli(['keys', 'revoke', id], env)).code).toBe(0);
    const twice = await cli(['keys', 'revoke', id], env);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr.trim()).toBe(`cortex-flow: No active API key with id or name '${id}'`);
  }, 90_000);

  it('refuses `keys create --name` without a value in one line, creating nothing', async () => {
    const env = { CORTEX_DATA_DIR: join(tempDir(), 'data') };
    for (const args of [['--name'], ['--name', '--port', '1']]) {
      const r = await cli(['keys', 'create', ...args], env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/Option '--name( <value>)?' argument/);
    }
    expect((await cli(['keys', 'list'], env)).stdout).toContain('No stored API keys');
  }, 90_000);

  it('says at start-up that keys stay required after the last key was revoked, and why', async () => {
    const cwd = tempDir();
    const env = { CORTEX_DATA_DIR: join(cwd, 'data') };
    const store = await createStore({ dataDir: env.CORTEX_DATA_DIR, databaseUrl: undefined });
    await store.createApiKey({ id: 'key_gone', name: 'gone', hash: hashApiKey(generateApiKey()) });
    expect(await store.revokeApiKey('gone')).toBe(true);
    await store.close();
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
      cwd,
      env: { ...process.env, ...env, CORTEX_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    try {
      const line = await new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no auth line: ${out}`)), 15_000);
        child.stdout!.on('data', () => {
          const found = out.split('\n').find((l) => l.includes('"auth"'));
          if (found) {
            clearTimeout(timer);
            resolve(JSON.parse(found));
          }
        });
      });
      expect(line.auth).toBe('required');
      expect(line.msg).toMatch(/API keys required: .*revoked/);
      const url = /Cortex Flow listening on (http:\/\/[\d.:]+)\/v1/.exec(out)![1];
      expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 90_000);

  it('ingests a folder, lists and removes documents', async () => {
    const cwd = tempDir();
    const docs = join(cwd, 'docs');
    await import('node:fs/promises').then((fs) => fs.mkdir(docs));
    writeFileSync(join(docs, 'a.md'), '# Alpha\n\nAlpha is the first letter.');
    writeFileSync(join(docs, 'b.txt'), 'Beta is the second letter.');
    const env = { CORTEX_DATA_DIR: join(cwd, 'data') };
    const ingested = await cli(['ingest', docs], env, cwd);
    expect(ingested.code).toBe(0);
    expect(ingested.stdout).toMatch(/Ingested 2 new/);
    const again = await cli(['ingest', docs], env, cwd);
    expect(again.stdout).toMatch(/2 unchanged/);
    const listed = await cli(['kb', 'list'], env, cwd);
    expect(listed.stdout).toContain('Alpha');
    expect((await cli(['kb', 'remove', join(docs, 'a.md')], env, cwd)).code).toBe(0);
    expect((await cli(['kb', 'list'], env, cwd)).stdout).not.toContain('Alpha');
  }, 90_000);
});
