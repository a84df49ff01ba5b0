// `npm run bench` runs every benchmark in turn (or the ones named: `npm run bench -- team kb`),
// each in its own process so that one's memory and JIT state does not colour the next.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('lib-') && f !== 'run-all.ts' && f !== 'mock-upstream-process.ts')
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
const chosen = wanted.length ? all.filter((b) => wanted.includes(b)) : all;
let failed = 0;
for (const bench of chosen) {
  console.log(`\n=== bench/${bench}.ts ===`);
  const r = spawnSync(process.execPath, [`${dir}${bench}.ts`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
