// The knowledge-base commands as an operator runs them, on files made here: the README's relative
// `kb remove ./docs/old.md`, a folder reached through a symlink, binary data named `.md`, and a
// broken PDF, whose reader must not print its warnings into the commands' output.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const run = promisify(execFile);

let home: string;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'kb-cli-')));
  mkdirSync(join(home, 'docs'));
  writeFileSync(join(home, 'docs', 'old.md'), '# Old notes\n\nThe ferry to the island leaves at nine.');
  writeFileSync(join(home, 'docs', 'new.md'), '# New notes\n\nThe bridge to the island opened in May.');
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CORTEX_LOG_LEVEL: 'silent', CORTEX_DATA_DIR: join(home, 'data') };
  delete env.CORTEX_DATABASE_URL;
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: home, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const listed = async () =>
  (await cli('kb', 'list')).stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('doc_'))
    .map((l) => l.split('\t'));

// Each test runs the CLI a few times (a second or more each on a busy machine).
describe('knowledge-base files from the command line', { timeout: 120_000 }, () => {
  it('removes a document by the relative path it was ingested with (the README form)', async () => {
    expect((await cli('ingest', './docs')).code).toBe(0);
    const removed = await cli('kb', 'remove', './docs/old.md');
    expect(removed).toMatchObject({ code: 0 });
    expect(removed.stdout).toContain('Removed');
    expect((await listed()).map((d) => d[2])).toEqual(['New notes']);
  });

  it('stores a file reached through a symlinked folder once, under its real path', async () => {
    symlinkSync(join(home, 'docs'), join(home, 'linked'));
    expect((await cli('ingest', './linked')).code).toBe(0);
    const again = await cli('ingest', './docs');
    expect(again.stdout).toContain('Ingested 0 new and 0 changed documents');
    const docs = await listed();
    expect(docs.map((d) => d[3]).sort()).toEqual([join(home, 'docs', 'new.md'), join(home, 'docs', 'old.md')]);
    expect((await cli('kb', 'remove', './linked/old.md')).code).toBe(0);
    expect((await listed()).length).toBe(1);
  });

  it('skips binary data named .md with a message instead of indexing junk', async () => {
    writeFileSync(join(home, 'docs', 'random.md'), randomBytes(300 * 1024));
    const ingest = await cli('ingest', './docs');
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toContain('Ingested 2 new');
    expect(ingest.stdout).toMatch(/Skipped: .*random\.md: binary content/);
    expect((await listed()).map((d) => d[2]).sort()).toEqual(['New notes', 'Old notes']);
  });

  it('reports a broken PDF as failed without the PDF reader warnings in the output', async () => {
    writeFileSync(join(home, 'docs', 'broken.pdf'), '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage');
    const ingest = await cli('ingest', './docs');
    expect(ingest.stdout).toMatch(/Failed: .*broken\.pdf/);
    const list = await cli('kb', 'list');
    for (const out of [ingest.stdout, ingest.stderr, list.stdout, list.stderr]) expect(out).not.toMatch(/warning/i);
  });
});
