// Several servers started at the same moment on one SQLite data dir (a process manager restarting
// a group, a test harness): every one opens the conversation store and the knowledge base and
// migrates them, none fails with "database is locked" or "table ... already exists".
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// Each child waits for the same instant, then opens both databases as `serve` does.
const OPEN_AT_ONCE = `
  const [dataDir, startAt] = process.argv.slice(1);
  const { loadConfig } = await import(${JSON.stringify(new URL('../../src/config.ts', import.meta.url).href)});
  const { createStore } = await import(${JSON.stringify(new URL('../../src/store/create-store.ts', import.meta.url).href)});
  const { openKnowledgeBase } = await import(${JSON.stringify(new URL('../../src/kb/create-kb.ts', import.meta.url).href)});
  const config = loadConfig({ CORTEX_DATA_DIR: dataDir, CORTEX_LOG_LEVEL: 'silent' });
  while (Date.now() < Number(startAt)) {}
  const [store, kb] = await Promise.all([createStore(config), openKnowledgeBase(config)]);
  await Promise.all([store.close(), kb.close()]);
  console.log('ok');
`;

describe('SQLite data dir opened by several processes at once', () => {
  it.each([1, 2, 3, 4, 5])('round %i: six processes all open and migrate it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sqlite-race-'));
    dirs.push(dataDir);
    const startAt = Date.now() + 3000;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        run(process.execPath, ['--input-type=module', '-e', OPEN_AT_ONCE, dataDir, String(startAt)], {
          env: { ...process.env, CORTEX_DATABASE_URL: '' },
        }),
      ),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
  });
});
