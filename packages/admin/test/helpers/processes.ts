/**
 * What the directory test servers (`slapd.ts`, `samba-dc.ts`) share: whether a component can run
 * (and the "did NOT run" rule when it cannot), finding its executable, and stopping its process.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether a directory server can be started here, and if not, why. */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const CI = process.env.CI === 'true';

/**
 * `true` when the directory can be started; otherwise prints that its tests did NOT run and why,
 * and throws under `CI=true` (`spec/directory-tests.md` §1).
 */
export function mayRun(name: string, availability: Availability): boolean {
  if (availability.ok) return true;
  console.warn(`[directories] The ${name} tests did NOT run: ${availability.reason}.`);
  if (CI) throw new Error(`CI=true: the ${name} tests must run, but ${availability.reason}`);
  console.warn('[directories] Not a failure outside CI (CI is not "true"); nothing was tested against it.');
  return false;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of the executable `name`: the first of `preferred` that is executable, else the first on
 * the `PATH` or in the system directories; `undefined` when there is none.
 */
export function findExecutable(name: string, preferred: readonly string[] = []): string | undefined {
  for (const path of preferred) if (executable(path)) return path;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Kills `child` (SIGTERM, then SIGKILL after `timeoutMs`) and waits for its exit. */
export async function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
