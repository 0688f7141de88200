/**
 * PostgreSQL's own `pgbench` as the ceiling for storage figures: its built-in "simple-update"
 * script (`-N`: one UPDATE, one SELECT and one INSERT per transaction) on the same server, with
 * the same number of clients, run in the same benchmark run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Connection settings pgbench and psql take from the environment. */
function pgEnv(connectionString: string, database: string): NodeJS.ProcessEnv {
  const url = new URL(connectionString);
  return {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: database,
  };
}

/** Whether the `pgbench` program is available. */
export async function hasPgbench(): Promise<boolean> {
  try {
    await run('pgbench', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates (if needed) and initialises the database `database` on the server of
 * `connectionString` for pgbench at scale 1.
 */
export async function preparePgbench(connectionString: string, database: string): Promise<void> {
  const admin = pgEnv(connectionString, new URL(connectionString).pathname.slice(1) || 'postgres');
  const exists = await run('psql', ['-tAc', `SELECT 1 FROM pg_database WHERE datname = '${database}'`], {
    env: admin,
  });
  if (exists.stdout.trim() !== '1')
    await run('psql', ['-c', `CREATE DATABASE "${database}"`], { env: admin });
  await run('pgbench', ['-i', '-s', '1', '-q'], { env: pgEnv(connectionString, database) });
}

/** Runs pgbench's simple-update script with `clients` clients for `seconds` and returns its TPS. */
export async function pgbenchSimpleUpdate(
  connectionString: string,
  database: string,
  clients: number,
  seconds: number,
): Promise<number> {
  const threads = Math.min(clients, 2);
  const { stdout } = await run(
    'pgbench',
    ['-N', '-n', '-c', String(clients), '-j', String(threads), '-T', String(seconds)],
    {
      env: pgEnv(connectionString, database),
    },
  );
  const m = stdout.match(/tps = ([0-9.]+) \(without initial connection time\)/);
  if (!m) throw new Error('pgbench printed no TPS figure');
  return Number(m[1]);
}
