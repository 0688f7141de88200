/**
 * Builds what the browser tests run: the workspace packages' `dist/` (only when missing or older
 * than their sources) and the test page, with Vite, from those packages by name.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

/** The repository's root directory. */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The packages the page is built from (directory names under `packages/`), as shipped: from their
 * `dist/`. The Node side (server, admin SDK, Node client) runs from the sources.
 *
 * @example
 * ```ts
 * PAGE_PACKAGES.includes('client'); // true
 * ```
 */
export const PAGE_PACKAGES: readonly string[] = ['crypto', 'protocol', 'storage', 'client'];

/** The newest modification time of any file under `dir`, in ms (0 for none). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.isFile()) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * The packages whose `dist/` is missing or older than their `src/`, `package.json` or tsup
 * configuration (a stale build would test old code).
 *
 * @example
 * ```ts
 * const stale = packagesToBuild(); // ['client'] after an edit of packages/client/src
 * ```
 */
export function packagesToBuild(): string[] {
  const stale: string[] = [];
  for (const name of PAGE_PACKAGES) {
    const dir = join(REPO_ROOT, 'packages', name);
    const built = join(dir, 'dist', 'index.js');
    if (!existsSync(built)) {
      stale.push(name);
      continue;
    }
    const inputs = Math.max(
      newest(join(dir, 'src')),
      statSync(join(dir, 'package.json')).mtimeMs,
      statSync(join(dir, 'tsup.config.ts')).mtimeMs,
    );
    if (inputs > statSync(built).mtimeMs) stale.push(name);
  }
  return stale;
}

/** How to run pnpm: the pnpm running this script, else the pinned one through npx. */
function pnpmCommand(): { readonly command: string; readonly args: string[] } {
  const execpath = process.env.npm_execpath;
  if (execpath !== undefined && /pnpm/.test(execpath) && existsSync(execpath)) {
    return execpath.endsWith('.js') || execpath.endsWith('.cjs')
      ? { command: process.execPath, args: [execpath] }
      : { command: execpath, args: [] };
  }
  return { command: 'npx', args: ['--yes', 'pnpm@10.34.9'] };
}

/**
 * Runs each package's `build` script (tsup), in dependency order; throws when one fails.
 *
 * @example
 * ```ts
 * buildPackages(packagesToBuild());
 * ```
 */
export function buildPackages(names: readonly string[]): void {
  if (names.length === 0) return;
  const pnpm = pnpmCommand();
  const filters = names.flatMap((name) => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', name, 'package.json'), 'utf8')) as {
      name: string;
    };
    return ['--filter', manifest.name];
  });
  const result = spawnSync(pnpm.command, [...pnpm.args, ...filters, 'run', 'build'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`building ${names.join(', ')} failed (exit ${result.status})`);
}

/**
 * What the page build produced.
 *
 * @example
 * ```ts
 * const { root, scriptGzipBytes }: PageBuild = await buildPage('/tmp/page');
 * ```
 */
export interface PageBuild {
  /** The directory the server serves under `/app/`. */
  readonly root: string;
  /** The files written, relative to `root`. */
  readonly files: readonly string[];
  /** Total size of the JavaScript, in bytes, and gzipped. */
  readonly scriptBytes: number;
  readonly scriptGzipBytes: number;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path, base) : [relative(base, path)];
  });
}

/**
 * Builds the test page (`browser-tests/app`) into `outDir` with `browser-tests/vite.config.ts`.
 * The build fails when anything bundled reaches a Node-only module.
 *
 * @example
 * ```ts
 * const page = await buildPage(join(tmpdir(), 'page')); // page.root holds index.html
 * ```
 */
export async function buildPage(outDir: string): Promise<PageBuild> {
  await build({
    configFile: join(dirname(fileURLToPath(import.meta.url)), '..', 'vite.config.ts'),
    build: { outDir },
  });
  const files = listFiles(outDir).sort();
  if (!files.includes('index.html')) throw new Error(`the page build wrote no index.html into ${outDir}`);
  let scriptBytes = 0;
  let scriptGzipBytes = 0;
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const bytes = readFileSync(join(outDir, file));
    scriptBytes += bytes.length;
    scriptGzipBytes += gzipSync(bytes).length;
  }
  return { root: outDir, files, scriptBytes, scriptGzipBytes };
}
