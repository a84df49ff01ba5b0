import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { knowledgeBaseContract } from './contract.ts';

let schema: TestSchema;
knowledgeBaseContract(
  'PostgreSQL full-text search',
  async () => {
    schema = await freshSchema('kb');
    return openKnowledgeBase({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
  },
  async () => schema.drop(),
);
