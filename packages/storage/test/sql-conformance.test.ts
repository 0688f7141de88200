/**
 * The adapter conformance suite on the SQL adapter: PGlite always, PostgreSQL when `DATABASE_URL` is set (each case
 * in a schema of its own, all dropped afterwards).
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, test } from 'vitest';
import { type ConformanceTarget, conformanceCases } from '../src/conformance/index.js';
import { attachPGliteAdapter } from '../src/sql/pglite.js';
import {
  DATABASE_URL,
  dropSchema,
  openPGlite,
  openPostgres,
  pgliteTemplate,
  uniqueSchema,
} from './sql-fixtures.js';

describe('conformance: PGlite adapter', () => {
  // Starting PGlite takes about a second, so most cases get a new adapter over one shared
  // database whose `conf_*` rows are wiped first; the cases about closing get a database of
  // their own, so that they close a real one.
  let shared: PGlite | undefined;
  afterAll(async () => {
    await shared?.close();
  });
  const sharedTarget: ConformanceTarget = {
    name: 'pglite',
    open: async ({ now }) => {
      shared ??= await PGlite.create({ loadDataDir: await pgliteTemplate() });
      await shared.query(`DELETE FROM public.cloister_rows WHERE tbl LIKE 'conf\\_%'`);
      return attachPGliteAdapter(shared, now);
    },
  };
  const ownTarget: ConformanceTarget = { name: 'pglite', open: ({ now }) => openPGlite(now) };
  for (const c of conformanceCases()) {
    test(c.name, () => c.run(c.name.startsWith('close:') ? ownTarget : sharedTarget));
  }
});

if (DATABASE_URL !== undefined) {
  describe('conformance: PostgreSQL adapter', () => {
    const schemas: string[] = [];
    afterAll(async () => {
      for (const schema of schemas) await dropSchema(schema);
    });
    const target: ConformanceTarget = {
      name: 'postgres',
      parallelTransactions: true,
      open: ({ now }) => {
        const schema = uniqueSchema('conf');
        schemas.push(schema);
        return openPostgres(schema, now, 24);
      },
    };
    for (const c of conformanceCases()) {
      test(c.name, () => c.run(target));
    }
  });
}
