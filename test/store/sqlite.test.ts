import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from '../../src/store/create-store.ts';
import { storeContract } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-store-'));
storeContract(
  'SQLite',
  () => createStore({ dataDir: dir, databaseUrl: undefined }),
  async () => rmSync(dir, { recursive: true, force: true }),
);
