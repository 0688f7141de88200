/**
 * Vitest set-up file (runs in every test file's context): `PGlite.create` of a NEW database (in
 * memory, or on a data directory that does not exist yet or is empty) opens the run's empty
 * cluster from `pglite-template.ts` instead of running `initdb` again. A database that exists on
 * disk, or a call that brings its own `loadDataDir`, is opened as given. Child processes (the
 * crash test's, the examples') are not affected.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { inject } from 'vitest';

const templatePath = inject('pgliteTemplate');
let template: Blob | undefined;

function isNewDatabase(dataDir: string | undefined): boolean {
  if (dataDir === undefined || dataDir === 'memory://') return true;
  if (dataDir.includes('://')) return false; // idb://, opfs-ahp://: not a Node directory
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

const create = PGlite.create.bind(PGlite) as (options?: PGliteOptions) => Promise<PGlite>;

// PGlite.create is overloaded, (options) and (dataDir, options): one function takes both forms.
(
  PGlite as unknown as { create: (first?: string | PGliteOptions, second?: PGliteOptions) => Promise<PGlite> }
).create = (first?: string | PGliteOptions, second?: PGliteOptions) => {
  const options: PGliteOptions = typeof first === 'string' ? { ...second, dataDir: first } : { ...first };
  if (templatePath !== undefined && options.loadDataDir === undefined && isNewDatabase(options.dataDir)) {
    template ??= new Blob([readFileSync(templatePath)]);
    options.loadDataDir = template;
  }
  return create(options);
};
