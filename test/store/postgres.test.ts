import { createStore } from '../../src/store/create-store.ts';
import { freshSchema, type TestSchema } from '../support/postgres.ts';
import { storeContract } from './contract.ts';

let schema: TestSchema;
storeContract(
  'PostgreSQL',
  async () => {
    schema = await freshSchema('store');
    return createStore({ dataDir: '', databaseUrl: schema.url }, { schema: schema.schema });
  },
  async () => schema.drop(),
);
