/**
 * Vitest global set-up: one PGlite database cluster, created once per run and written as an
 * uncompressed tarball (`dumpDataDir`) for `pglite-from-template.ts` to open new databases from.
 *
 * Creating a PGlite cluster runs `initdb` inside the WebAssembly PostgreSQL: about 5 s of CPU on
 * the 2-core reference machine, paid by every test server, CLI command or adapter that opens a new
 * data directory. Opening a copy of an empty cluster takes about 1.5 s. The cluster is empty (no
 * table of the project): every adapter still runs its own migrations, so what the tests check
 * does not change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the empty PGlite cluster's tarball (see `scripts/vitest/pglite-template.ts`). */
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-pglite-template-'));
  const path = join(dir, 'cluster.tar');
  const db = await PGlite.create();
  try {
    const dump = await db.dumpDataDir('none');
    writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
  } finally {
    await db.close();
  }
  project.provide('pgliteTemplate', path);
  return () => rmSync(dir, { recursive: true, force: true });
}
