#!/usr/bin/env node
// The `cortex-flow` command. Kept to syntax that any Node parses, and it imports nothing before the
// version check, so an older Node prints one line saying what to do instead of a stack trace.
var major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    'cortex-flow needs Node.js 24 or newer (found ' +
      process.version +
      '): install it from https://nodejs.org/ or with a version manager (e.g. `nvm install 24`).',
  );
  process.exit(1);
}

var fs = process.getBuiltinModule('node:fs');
// Stack traces name the TypeScript sources (dist/ ships with source maps).
process.setSourceMapsEnabled(true);
// A clone runs its TypeScript sources, so `npx cortex-flow` always matches the code being edited;
// the published package holds no src/ and runs the compiled dist/.
var fromClone = fs.existsSync(new URL('../src/cli.ts', import.meta.url));
import(fromClone ? '../src/cli.ts' : '../dist/cli.js');
