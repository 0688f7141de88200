/**
 * The data-directory lock. Embedded PGlite has no lock of its own: two processes opening one
 * database directory would both write to it and corrupt it. Every `cloister` command that opens
 * the embedded database first creates `<data-dir>/cloister.lock` exclusively, holding its process
 * id; a lock whose process is gone is stale and taken over.
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The lock file's name inside the data directory.
 *
 * @example
 * ```ts
 * console.log(LOCK_FILE); // 'cloister.lock'
 * ```
 */
export const LOCK_FILE = 'cloister.lock';

/** What a lock file holds. */
interface LockContent {
  readonly pid: number;
  readonly command: string;
}

/**
 * A held lock.
 *
 * @example
 * ```ts
 * const lock: DataDirLock = lockDataDir(dir, 'tenant');
 * lock.release();
 * ```
 */
export interface DataDirLock {
  /** Removes the lock file (if it is still ours). Idempotent. */
  release(): void;
}

/**
 * The data directory is in use by another live process.
 *
 * @example
 * ```ts
 * try {
 *   lockDataDir(dir, 'tenant');
 * } catch (e) {
 *   if (e instanceof DataDirBusy) console.error(e.message);
 * }
 * ```
 */
export class DataDirBusy extends Error {
  override readonly name = 'DataDirBusy';
  constructor(
    readonly holder: { readonly pid: number; readonly command: string },
    dataDir: string,
  ) {
    super(
      holder.command === 'server'
        ? `the data directory ${dataDir} is in use by a running cloister server (pid ${holder.pid}): stop the server or use the admin API`
        : `the data directory ${dataDir} is in use by another cloister command (pid ${holder.pid}): wait for it to finish`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    if (!Number.isSafeInteger(parsed.pid) || (parsed.pid ?? 0) <= 0) return undefined;
    return {
      pid: parsed.pid as number,
      command: typeof parsed.command === 'string' ? parsed.command : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `dataDir` for `command` (`server`, `tenant`, `token`…), creating the
 * directory if needed. Throws {@link DataDirBusy} when a live process holds it.
 *
 * @example
 * ```ts
 * const lock = lockDataDir('./cloister-data', 'server');
 * try {
 *   // open the embedded database
 * } finally {
 *   lock.release();
 * }
 * ```
 */
export function lockDataDir(dataDir: string, command: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  const content = JSON.stringify({ pid: process.pid, command, since: new Date().toISOString() });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${content}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(path);
      if (holder !== undefined && alive(holder.pid)) throw new DataDirBusy(holder, dataDir);
      if (attempt > 0) throw new DataDirBusy(holder ?? { pid: 0, command: 'unknown' }, dataDir);
      // Stale (its process is gone) or unreadable: take it over.
      try {
        unlinkSync(path);
      } catch {
        // Another process removed it first; the next attempt decides.
      }
    }
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(path, 'utf8').trim() === content) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
