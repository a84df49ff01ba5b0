// The data directory (CORTEX_DATA_DIR), made when missing; a path that cannot be one is a start-up
// error naming the variable, not a raw ENOTDIR.
import { mkdirSync } from 'node:fs';
import { ConfigError } from '../config.ts';

export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOTDIR' || e.code === 'EEXIST' ? 'a part of the path is a file' : e.message;
    throw new ConfigError(`Invalid CORTEX_DATA_DIR (got "${dir}"): cannot make a folder there: ${why}`);
  }
}
