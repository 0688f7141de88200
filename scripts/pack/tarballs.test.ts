/**
 * What `pnpm pack` makes of each published package: the files a user installs and the manifest
 * npm reads (spec/packaging.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PUBLISHED, type Published, packAll, ROOT, runnableBlocks, sh } from './tarballs.js';

interface Manifest {
  readonly name: string;
  readonly description?: string;
  readonly license?: string;
  readonly homepage?: string;
  readonly keywords?: string[];
  readonly bugs?: { readonly url?: string };
  readonly repository?: { readonly url?: string; readonly directory?: string };
  readonly engines?: { readonly node?: string };
  readonly exports?: unknown;
  readonly imports?: unknown;
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly publishConfig?: { readonly access?: string };
}

/** Every path string under an exports/imports map. */
function targets(map: unknown): string[] {
  if (typeof map === 'string') return [map];
  if (map === null || typeof map !== 'object') return [];
  return Object.values(map).flatMap(targets);
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const unpacked = {} as Record<Published, string>;
const sizes: Record<string, { files: number; bytes: number }> = {};

beforeAll(async () => {
  const tarballs = await packAll();
  for (const p of PUBLISHED) {
    const dir = mkdtempSync(join(tmpdir(), `cloister-unpacked-${p}-`));
    execFileSync('tar', ['-xzf', tarballs[p], '-C', dir]);
    unpacked[p] = join(dir, 'package');
    const all = files(unpacked[p]);
    sizes[`@cloister/${p}`] = { files: all.length, bytes: all.reduce((n, f) => n + statSync(f).size, 0) };
  }
  console.log('packed sizes (unpacked bytes):', JSON.stringify(sizes));
}, 600_000);

describe.each(PUBLISHED)('@cloister/%s as packed', (p) => {
  const manifest = (): Manifest =>
    JSON.parse(readFileSync(join(unpacked[p], 'package.json'), 'utf8')) as Manifest;

  it('points every export, import and bin at a shipped file, with no source-only condition', () => {
    const m = manifest();
    const text = JSON.stringify(m);
    expect(text).not.toContain('@cloister/source');
    expect(text).not.toContain('workspace:');
    // pnpm applied the publish-time fields; only npm's `access` stays.
    expect(m.publishConfig).toEqual({ access: 'public' });
    const paths = [...targets(m.exports), ...targets(m.imports), ...Object.values(m.bin ?? {})];
    expect(paths.length).toBeGreaterThan(0);
    const missing = paths.filter((t) => !existsSync(join(unpacked[p], t)));
    expect(missing).toEqual([]);
  });

  it('ships no sources and no source maps', () => {
    const shipped = files(unpacked[p]).map((f) => relative(unpacked[p], f));
    expect(
      shipped.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/')),
    ).toEqual([]);
    expect(shipped).toContain('LICENSE');
    expect(shipped).toContain('README.md');
  });

  it('says what it is, where it lives and what it runs on', () => {
    const m = manifest();
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
    expect(m.description?.length ?? 0).toBeGreaterThan(20);
    expect(m.license).toBe('Apache-2.0');
    expect(m.keywords?.length ?? 0).toBeGreaterThan(2);
    expect(m.homepage).toMatch(/^https:\/\//);
    expect(m.bugs?.url).toMatch(/^https:\/\//);
    expect(m.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(m.repository?.directory).toBe(`packages/${p}`);
    expect(m.engines?.node).toBe(root.engines?.node);
  });

  it('has a README that says how to install it', () => {
    const readme = readFileSync(join(unpacked[p], 'README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`npm install (--global )?[^\\n]*@cloister/${p}\\b`));
    expect(readme).toMatch(/https:\/\/github\.com\/[^)\s]+\/spec\//);
    // Every published package but the admin SDK (which needs a live server and an administrator)
    // has a quick start the install test runs as it stands.
    if (p !== 'admin') expect(runnableBlocks(readme).length).toBeGreaterThan(0);
  });
});

describe('a browser install', () => {
  it('does not need pg or PGlite: they are optional peers of the storage engine', () => {
    const storage = JSON.parse(readFileSync(join(unpacked.storage, 'package.json'), 'utf8')) as Manifest;
    expect(Object.keys(storage.dependencies ?? {})).not.toContain('pg');
    expect(Object.keys(storage.dependencies ?? {})).not.toContain('@electric-sql/pglite');
    expect(Object.keys(storage.peerDependencies ?? {}).sort()).toEqual(['@electric-sql/pglite', 'pg']);
  });
});

describe('private packages', () => {
  it('the benchmarks refuse to be packed', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'cloister-private-pack-'));
    const packed = sh('npx', ['--yes', 'pnpm@10.34.9', 'pack', '--pack-destination', dest], {
      cwd: join(ROOT, 'benchmarks'),
    });
    await expect(packed).rejects.toThrow(/private and is never packed/);
    expect(readdirSync(dest)).toEqual([]);
  }, 120_000);
});
