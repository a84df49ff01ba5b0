// V8 CPU profiles as `node --cpu-prof` writes them: one file per thread, named
// CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, the main thread's id 0.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Every thread's profile in a `--cpu-prof-dir`, by thread id (0: the main thread). */
export function readProfiles(dir: string): Map<number, Profile> {
  const out = new Map<number, Profile>();
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')))
    out.set(Number(f.split('.').at(-3)), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile);
  return out;
}

/** The main thread's profile in a `--cpu-prof-dir`. */
export function readMainProfile(dir: string): Profile {
  const main = readProfiles(dir).get(0);
  if (!main) throw new Error(`no main-thread profile in ${dir}`);
  return main;
}
