/**
 * Builds what the portal scenario serves: the portal with Vite, only when `packages/portal/dist`
 * is older than its sources or than the sources of the SDK packages it bundles (the portal's Vite
 * configuration resolves them to their TypeScript sources, so no package build comes first).
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/** The repository's root directory. */
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The portal package. */
export const PORTAL_DIR = join(REPO_ROOT, 'packages', 'portal');

/**
 * The packages the portal bundles from their sources (directory names under `packages/`).
 *
 * @example
 * ```ts
 * PORTAL_PACKAGES.includes('admin'); // true
 * ```
 */
export const PORTAL_PACKAGES: readonly string[] = ['crypto', 'protocol', 'admin'];

/** The newest modification time of any file under `path` (a file or a directory), in ms. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    latest = Math.max(latest, newest(join(path, entry.name)));
  }
  return latest;
}

/** The oldest modification time of the files under `dir` (0 when it has none). */
function oldest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let earliest = Number.POSITIVE_INFINITY;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    earliest = Math.min(earliest, entry.isDirectory() ? oldest(path) : statSync(path).mtimeMs);
  }
  return earliest === Number.POSITIVE_INFINITY ? 0 : earliest;
}

/**
 * Whether `packages/portal/dist` is missing or older than the portal's sources or the bundled
 * packages' sources.
 *
 * @example
 * ```ts
 * if (portalIsStale()) await buildPortal();
 * ```
 */
export function portalIsStale(): boolean {
  const dist = join(PORTAL_DIR, 'dist');
  if (!existsSync(join(dist, 'index.html'))) return true;
  const inputs = Math.max(
    newest(join(PORTAL_DIR, 'src')),
    newest(join(PORTAL_DIR, 'index.html')),
    newest(join(PORTAL_DIR, 'vite.config.ts')),
    newest(join(PORTAL_DIR, 'package.json')),
    ...PORTAL_PACKAGES.map((name) => newest(join(REPO_ROOT, 'packages', name, 'src'))),
  );
  return inputs > oldest(dist);
}

/**
 * Builds the portal when stale; resolves its `dist/` and whether it was built now.
 *
 * @example
 * ```ts
 * const { root } = await preparePortal();
 * ```
 */
export async function preparePortal(): Promise<{ root: string; built: boolean }> {
  // A portal built elsewhere (CLOISTER_PORTAL_ROOT, a directory holding index.html) is served as is.
  const given = process.env.CLOISTER_PORTAL_ROOT;
  if (given !== undefined && given !== '') {
    if (!existsSync(join(given, 'index.html')))
      throw new Error(`CLOISTER_PORTAL_ROOT=${given} holds no index.html`);
    return { root: given, built: false };
  }
  const root = join(PORTAL_DIR, 'dist');
  if (!portalIsStale()) return { root, built: false };
  await build({
    root: PORTAL_DIR,
    configFile: join(PORTAL_DIR, 'vite.config.ts'),
    logLevel: 'warn',
    clearScreen: false,
  });
  return { root, built: true };
}
