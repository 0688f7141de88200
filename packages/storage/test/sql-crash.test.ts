/**
 * Crash safety. PGlite: a process killed with SIGKILL in the middle of a transaction leaves
 * nothing of it in its data directory, and the directory opens and works again. PostgreSQL (when
 * `DATABASE_URL` is set): a backend terminated mid-transaction writes nothing, the transaction
 * rejects with `StorageError`, and the adapter goes on with a fresh connection.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '@cloister/crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPGliteAdapter, createPostgresAdapter } from '../src/sql/index.js';
import { rawPGliteQuery } from '../src/sql/pglite.js';
import { b, DATABASE_URL, dropSchema, s, uniqueSchema, withPg } from './sql-fixtures.js';

const P = b('p');
const CHILD = fileURLToPath(new URL('./fixtures/sql-crash-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runChild(
  dataDir: string,
): Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@cloister/source', '--import', 'tsx', CHILD, dataDir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, stdout, stderr }));
  });
}

describe('PGlite crash safety', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('keeps nothing of a transaction whose process was killed, and reopens working', async () => {
    const base = await mkdtemp(join(tmpdir(), 'cloister-sql-crash-'));
    dirs.push(base);
    // A directory that does not exist yet: the adapter creates it.
    const dataDir = join(base, 'nested', 'db');
    const result = await runChild(dataDir);
    expect(result.stderr).toBe('');
    expect(result.signal).toBe('SIGKILL');
    expect(result.stdout).toBe('in-transaction\n');

    const db = await createPGliteAdapter({ dataDir });
    try {
      await db.transaction(async (tx) => {
        expect((await tx.list('crash', P, { limit: 1000 })).map((r) => s(r.sort))).toEqual(['committed']);
        expect(s((await tx.get('crash', P, b('committed')))?.value ?? b(''))).toBe('yes');
      });
      const raw = await rawPGliteQuery(db, 'SELECT count(*)::int AS n FROM public.cloister_rows');
      expect(raw.rows[0]).toEqual({ n: 1 });
      await db.transaction((tx) => tx.put('crash', { partition: P, sort: b('after'), value: b('ok') }));
    } finally {
      await db.close();
    }
    // And what the reopened database committed is there on the next open.
    const again = await createPGliteAdapter({ dataDir });
    try {
      expect(await again.transaction((tx) => tx.count('crash', P))).toBe(2);
    } finally {
      await again.close();
    }
  });
});

if (DATABASE_URL !== undefined) {
  describe('PostgreSQL crash safety', () => {
    const schema = uniqueSchema('crash');
    // The adapter's connections carry the schema name as application_name, so that the test
    // terminates exactly its own backends and nobody else's.
    const url = new URL(DATABASE_URL as string);
    url.searchParams.set('application_name', schema);
    const open = (poolSize: number) =>
      createPostgresAdapter({ connectionString: url.toString(), schema, poolSize });
    afterAll(async () => {
      await dropSchema(schema);
    });

    /** Terminates the backends of this schema's adapter that are inside a transaction. */
    async function terminateInTransaction(): Promise<number> {
      const result = await withPg((c) =>
        c.query(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
          [schema],
        ),
      );
      return result.rows.filter((r) => r.ok === true).length;
    }

    it('writes nothing when the backend is terminated mid-transaction, and recovers', async () => {
      const db = await open(2);
      try {
        await db.transaction((tx) =>
          tx.put('crash', { partition: P, sort: b('committed'), value: b('yes') }),
        );
        let terminated = 0;
        const error = await db
          .transaction(async (tx) => {
            for (let i = 0; i < 20; i++)
              await tx.put('crash', { partition: P, sort: b(`lost${i}`), value: b('x') });
            terminated = await terminateInTransaction();
            await tx.put('crash', { partition: P, sort: b('last'), value: b('x') });
          })
          .catch((e: unknown) => e);
        expect(terminated).toBe(1);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as Error).cause).toBeDefined();
        // The next transactions get a working connection and see only the committed row.
        for (let i = 0; i < 4; i++) {
          const rows = await db.transaction((tx) => tx.list('crash', P));
          expect(rows.map((r) => s(r.sort))).toEqual(['committed']);
        }
        await db.transaction((tx) => tx.put('crash', { partition: P, sort: b('after'), value: b('ok') }));
        expect(await db.transaction((tx) => tx.count('crash', P))).toBe(2);
      } finally {
        await db.close();
      }
    });

    it('survives idle pooled connections being terminated', async () => {
      const db = await open(3);
      try {
        await Promise.all(Array.from({ length: 3 }, () => db.transaction((tx) => tx.count('crash', P))));
        const killed = await withPg((c) =>
          c.query(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
             WHERE application_name = $1 AND state = 'idle'`,
            [schema],
          ),
        );
        expect(killed.rows.filter((r) => r.ok === true).length).toBeGreaterThan(0);
        // No pause: the next transaction may be handed a connection whose end has not been
        // noticed yet, and must still succeed (a dead connection at BEGIN is replaced).
        expect(await db.transaction((tx) => tx.count('crash', P))).toBe(2);
      } finally {
        await db.close();
      }
    });
  });
}
