/**
 * The EML export's directory (Node only, `@cloister/admin/node`): one `.eml` file per message and
 * `report.jsonl` for the records that are not messages, every file of mode 0600 in a directory of
 * mode 0700 that must not exist yet or be empty (an export never mixes with another).
 *
 * @module
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import type { EmlTarget } from './export-eml.js';

/**
 * The name of the report file in an EML export directory.
 *
 * @example
 * ```ts
 * import { join } from 'node:path';
 * const report = join(dir, EML_REPORT_FILE);
 * ```
 */
export const EML_REPORT_FILE = 'report.jsonl';

/**
 * An {@link EmlTarget} writing to the directory `path` (created; it must be new or empty).
 *
 * @example
 * ```ts
 * import { emlDirectory } from '@cloister/admin/node';
 * await exportEml(records, emlDirectory('./case-2026-114'));
 * ```
 */
export function emlDirectory(path: string): EmlTarget {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (readdirSync(path).length > 0) throw new ValidationError('path', 'a new or empty directory');
  const report = createWriteStream(join(path, EML_REPORT_FILE), { mode: 0o600, flags: 'wx' });
  return {
    async message(name, text) {
      if (!/^[A-Za-z0-9._-]{1,200}\.eml$/.test(name))
        throw new ValidationError('name', 'a plain .eml file name');
      writeFileSync(join(path, name), text, { mode: 0o600, flag: 'wx' });
    },
    async report(line) {
      if (!report.write(line)) await once(report, 'drain');
    },
    async close() {
      if (report.closed) return;
      report.end();
      await once(report, 'close');
    },
  };
}
