/**
 * The managed-configuration files generated from `src/managed-config.ts` into
 * `packages/protocol/managed-config/` (`spec/managed-config.md` §3): the AppConfig `specfile.xml`
 * and the Android `app_restrictions.xml`. Called by `generate.ts` (write, or `--check`).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { androidAppRestrictions, appConfigSpecfile } from '../src/managed-config.js';

/** Where the generated files are checked in. */
export const MANAGED_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'managed-config');

/** The generated files, by name, as the schema produces them now. */
export function managedConfigFiles(): Record<string, string> {
  return { 'specfile.xml': appConfigSpecfile(), 'app_restrictions.xml': androidAppRestrictions() };
}

/** Writes the files into `dir`; returns their names. */
export function writeManagedConfigFiles(dir: string = MANAGED_CONFIG_DIR): string[] {
  const files = managedConfigFiles();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files);
}

/**
 * What differs between `dir` and what the schema generates: one line per stale, missing or
 * unexpected file (empty when up to date). `shownFrom` makes the paths relative.
 */
export function checkManagedConfigFiles(dir: string = MANAGED_CONFIG_DIR, shownFrom = dir): string[] {
  const files = managedConfigFiles();
  const problems: string[] = [];
  const present = existsSync(dir) ? readdirSync(dir) : [];
  for (const name of new Set([...Object.keys(files), ...present])) {
    const shown = relative(shownFrom, join(dir, name));
    const expected = files[name];
    if (expected === undefined) problems.push(`${shown}: not produced by the generator`);
    else if (!present.includes(name)) problems.push(`${shown}: missing`);
    else if (readFileSync(join(dir, name), 'utf8') !== expected) {
      problems.push(`${shown}: differs from what src/managed-config.ts generates`);
    }
  }
  return problems;
}
