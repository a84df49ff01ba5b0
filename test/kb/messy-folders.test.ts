// `ingest` and `kb` on folders as operators have them, not as they were made for the tool: a
// subfolder nobody may read, files deleted or emptied between two ingests, a shell glob of
// several files, names holding a newline, and words too many on the command line.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const run = promisify(execFile);

let home: string;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'kb-messy-')));
  mkdirSync(join(home, 'docs'));
  writeFileSync(join(home, 'docs', 'old.md'), '# Old notes\n\nThe ferry to the island leaves at nine.');
  writeFileSync(join(home, 'docs', 'new.md'), '# New notes\n\nThe bridge to the island opened in May.');
});
afterEach(() => {
  chmodSync(home, 0o700);
  rmSync(home, { recursive: true, force: true });
});

/**
 * The CLI in `home`. `unprivileged`: as a user that file permissions bind, which root is not (tests
 * often run as root in containers): there, the command runs as `nobody`, in a home it may write.
 */
async function cli(args: string[], { unprivileged = false } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, CORTEX_LOG_LEVEL: 'silent', CORTEX_DATA_DIR: join(home, 'data') };
  delete env.CORTEX_DATABASE_URL;
  const asNobody = unprivileged && process.getuid?.() === 0;
  if (asNobody) for (const dir of [home, join(home, 'docs')]) chmodSync(dir, 0o777);
  const [file, argv] = asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  try {
    const r = await run(file, argv, { cwd: home, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const titles = async () =>
  (await cli(['kb', 'list'])).stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('doc_'))
    .map((l) => l.split('\t')[2])
    .sort();

describe('ingest and kb on messy folders', { timeout: 120_000 }, () => {
  it('ingests the rest of a folder when a subfolder cannot be read, and names that subfolder', async () => {
    mkdirSync(join(home, 'docs', 'private'));
    writeFileSync(join(home, 'docs', 'private', 'secret.md'), '# Secret\n\nNobody reads this.');
    chmodSync(join(home, 'docs', 'private'), 0o000);
    const ingest = await cli(['ingest', './docs'], { unprivileged: true });
    chmodSync(join(home, 'docs', 'private'), 0o700);
    expect(ingest.stdout).toContain('Ingested 2 new');
    expect(ingest.stdout).toMatch(/^Failed: .*private: EACCES/m);
    expect(ingest.stderr).toBe('');
    expect(ingest.code).toBe(1); // something could not be read: a script must notice
    expect(await titles()).toEqual(['New notes', 'Old notes']);
  });

  it('takes out the documents of files deleted or emptied since the last ingest of their folder', async () => {
    const elsewhere = join(home, 'elsewhere.md');
    writeFileSync(elsewhere, '# Elsewhere\n\nA file outside the folder stays.');
    expect((await cli(['ingest', './docs', elsewhere])).code).toBe(0);
    unlinkSync(join(home, 'docs', 'old.md'));
    writeFileSync(join(home, 'docs', 'new.md'), randomBytes(4096));
    writeFileSync(join(home, 'docs', 'kept.md'), '# Kept\n\nStill here.');
    const again = await cli(['ingest', './docs']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Ingested 1 new .* 0 unchanged, 2 removed\./);
    expect(again.stdout).toMatch(/^Removed: .*old\.md: its file is gone$/m);
    expect(again.stdout).toMatch(/^Removed: .*new\.md: no document any more \(binary content/m);
    expect(await titles()).toEqual(['Elsewhere', 'Kept']);
  });

  it('ingests every path of a shell glob, and refuses words too many elsewhere', async () => {
    const glob = await cli(['ingest', './docs/old.md', './docs/new.md']);
    expect(glob.stdout).toContain('Ingested 2 new');
    // `kb remove a b` removed a alone, silently; `kb list --name x` ignored the option.
    for (const args of [
      ['kb', 'remove', './docs/old.md', './docs/new.md'],
      ['kb', 'list', '--name', 'x'],
      ['keys', 'revoke', 'a', 'b'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(/^cortex-flow: (Unexpected argument|'--name' is not an option)/);
    }
    expect(await titles()).toEqual(['New notes', 'Old notes']);
  });

  it('prints a file name holding a newline on one line of `kb list`, quoted', async () => {
    writeFileSync(join(home, 'docs', 'two\nlines.txt'), 'The lighthouse keeper counts the ships.');
    expect((await cli(['ingest', './docs'])).code).toBe(0);
    const lines = (await cli(['kb', 'list'])).stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.split('\t')).toHaveLength(4);
    expect(lines.find((l) => l.includes('lines'))).toContain(JSON.stringify(join(home, 'docs', 'two\nlines.txt')));
  });
});
