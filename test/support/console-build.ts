// Before any test file runs (vitest's globalSetup): the console in web/dist built from the sources
// under test, as `npm ci`'s `prepare` script builds it. Once, here: browser tests in two files each
// building it in parallel emptied web/dist under the other's pages (an asset missing mid-test). A
// build newer than every source is kept, so that a run without console changes starts at once.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

/** The newest modification time among the files under `path` (a file: its own). */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

export default async function buildConsole(): Promise<void> {
  const built = join(WEB, 'dist/index.html');
  const sources = Math.max(
    ...['src', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) => newest(join(WEB, p))),
  );
  if (existsSync(built) && statSync(built).mtimeMs > sources) return;
  const { build } = await import('vite');
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
}
