// The `cortex-flow` command's launcher: one line on a Node older than 24, the CLI on Node 24.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../bin/cortex-flow.js', import.meta.url));
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
const dir = mkdtempSync(join(tmpdir(), 'cortex-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function launch(args: string[], nodeArgs: string[] = []) {
  try {
    const r = await promisify(execFile)(process.execPath, [...nodeArgs, LAUNCHER, ...args], {
      env: { ...process.env, CORTEX_LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('bin/cortex-flow.js', () => {
  it('on Node 20 prints one line saying Node 24 is needed and how to get it, and exits 1', async () => {
    // Makes this Node report itself as 20 before the launcher runs, as an older Node would.
    const pretend = join(dir, 'pretend-node-20.cjs');
    writeFileSync(
      pretend,
      "Object.defineProperty(process.versions, 'node', { value: '20.11.1' });\n" +
        "Object.defineProperty(process, 'version', { value: 'v20.11.1' });\n",
    );
    const r = await launch(['--help'], ['--require', pretend]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('Node.js 24');
    expect(r.stderr).toContain('v20.11.1');
    expect(r.stderr).toContain('https://nodejs.org/');
  });

  it('on Node 24 runs the CLI', async () => {
    const r = await launch(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });
});
