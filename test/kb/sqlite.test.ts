import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { knowledgeBaseContract } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-sqlite-'));
knowledgeBaseContract(
  'SQLite FTS5',
  () => openKnowledgeBase({ dataDir: dir, databaseUrl: undefined }),
  async () => rmSync(dir, { recursive: true, force: true }),
);
