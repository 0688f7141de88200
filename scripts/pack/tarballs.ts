/**
 * The published packages as users get them: packed with pnpm (which applies `publishConfig` and
 * turns `workspace:` ranges into versions), and installed with npm into a fresh project. Used by
 * the packaging tests (`scripts/pack/*.test.ts`, spec/packaging.md).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The published packages, by directory under `packages/`. */
export const PUBLISHED = [
  'crypto',
  'protocol',
  'storage',
  'server',
  'admin',
  'cli',
  'client',
  'portal',
] as const;

/** A published package's directory name. */
export type Published = (typeof PUBLISHED)[number];

const PNPM = ['--yes', 'pnpm@10.34.9'];

/** Output of a finished command. */
export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; a failure throws with its output. */
export async function sh(
  file: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number },
): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${file} ${args.join(' ')} failed in ${options.cwd}: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`,
    );
  }
}

/** Builds the packages whose `dist/` is missing (a `pnpm verify` run has built them already). */
export async function ensureBuilt(): Promise<void> {
  if (PUBLISHED.every((p) => existsSync(join(ROOT, 'packages', p, 'dist')))) return;
  await sh('npx', [...PNPM, '-r', 'run', 'build'], { cwd: ROOT, timeoutMs: 600_000 });
}

/** A fingerprint of every published package's built files and manifest. */
function buildFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else hash.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  for (const p of PUBLISHED) {
    walk(join(ROOT, 'packages', p, 'dist'));
    hash.update(readFileSync(join(ROOT, 'packages', p, 'package.json')));
    hash.update(readFileSync(join(ROOT, 'packages', p, 'README.md')));
  }
  return hash.digest('hex').slice(0, 16);
}

function tarballsIn(dest: string): Record<Published, string> {
  const files = readdirSync(dest);
  const out = {} as Record<Published, string>;
  for (const p of PUBLISHED) {
    const file = files.find((f) => f.startsWith(`cloister-${p}-`) && f.endsWith('.tgz'));
    if (file === undefined) throw new Error(`no tarball for @cloister/${p} in ${dest}`);
    out[p] = join(dest, file);
  }
  return out;
}

/**
 * Packs every published package (once per build: the test files running side by side share the
 * tarballs of the same `dist/`); resolves the tarball of each.
 */
export async function packAll(): Promise<Record<Published, string>> {
  await ensureBuilt();
  const dest = join(tmpdir(), `cloister-packs-${buildFingerprint()}`);
  const lock = `${dest}.lock`;
  for (;;) {
    if (existsSync(join(dest, 'done'))) return tarballsIn(dest);
    try {
      mkdirSync(lock); // the one process that packs
    } catch {
      // Another test file is packing the same build (a lock older than five minutes is stale).
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    try {
      rmSync(dest, { recursive: true, force: true });
      mkdirSync(dest, { recursive: true });
      await sh('npx', [...PNPM, '-r', '--filter', './packages/*', 'pack', '--pack-destination', dest], {
        cwd: ROOT,
      });
      tarballsIn(dest);
      writeFileSync(join(dest, 'done'), '');
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** A fresh npm project with `tarballs` (and `extra` registry packages) installed, as a user does. */
export interface FreshProject {
  readonly dir: string;
  /** npm's output of the install, for the warning check. */
  readonly install: Ran;
}

/**
 * Makes a fresh ES-module npm project and runs `npm install` of the tarballs there. npm reads the
 * registry (its cache first); nothing of the workspace is linked.
 */
export async function freshProject(
  name: string,
  tarballs: readonly string[],
  extra: readonly string[] = [],
): Promise<FreshProject> {
  const dir = mkdtempSync(join(tmpdir(), `cloister-${name}-`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `fresh-${name}`, version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  // A user's shell, not the test runner's: pnpm exports its own settings as `npm_config_*`, which
  // npm would warn about as unknown.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^npm_(config|package|lifecycle)_/i.test(k) && k !== 'npm_execpath',
    ),
  );
  const install = await sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn', ...tarballs, ...extra],
    { cwd: dir, env: { ...env, npm_config_update_notifier: 'false' }, timeoutMs: 420_000 },
  );
  return { dir, install };
}

/** npm's warnings in an install's output (`npm warn …` lines), e.g. `EBADENGINE`. */
export function npmWarnings(ran: Ran): string[] {
  return `${ran.stdout}\n${ran.stderr}`.split('\n').filter((l) => /^npm warn/i.test(l.trim()));
}

/** A fenced block of a README that the README marks as runnable (`<!-- runnable … -->` above it). */
export interface RunnableBlock {
  readonly lang: string;
  readonly code: string;
}

/** The runnable blocks of a package's README, in order. */
export function runnableBlocks(readme: string): RunnableBlock[] {
  const out: RunnableBlock[] = [];
  for (const m of readme.matchAll(/<!-- runnable[^>]*-->\s*\n```(\w+)\n([\s\S]*?)```/g)) {
    out.push({ lang: m[1] as string, code: m[2] as string });
  }
  return out;
}
