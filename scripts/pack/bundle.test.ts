/**
 * A web app built from the packed tarballs, as a user builds one: installed with npm (the client,
 * the storage engine, the crypto core and the protocol, nothing else), then bundled by esbuild and
 * by Vite for the browser. Neither may reach a Node.js built-in, statically or through a lazy
 * `import()`; the sizes are reported (spec/packaging.md).
 */

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FreshProject, freshProject, packAll } from './tarballs.js';

/** The app: a browser client on IndexedDB, and the crypto core's automatic provider. */
const APP = `
import { createClient, NetworkError } from '@cloister/client/browser';
import { getProvider } from '@cloister/crypto';
import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';

export async function start(url, pin) {
  const provider = await getProvider();
  const storage = await createIndexedDbAdapter({ name: 'cloister-app' });
  const client = await createClient({ server: { url, pin }, storage });
  return { client, provider: provider.name, NetworkError };
}
`;

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

let project: FreshProject;

beforeAll(async () => {
  const t = await packAll();
  project = await freshProject('browser', [t.client, t.storage, t.crypto, t.protocol]);
  writeFileSync(join(project.dir, 'app.js'), APP);
  writeFileSync(
    join(project.dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body><script type="module">import { start } from "./app.js"; window.start = start;</script></body></html>\n',
  );
}, 900_000);

/** Bare specifiers a bundle still imports or requires (what the bundler left external). */
function externalImports(code: string): string[] {
  const out = new Set<string>();
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'./][^"']*)["']/g)) {
    out.add(m[1] as string);
  }
  return [...out];
}

function report(name: string, code: string): { minified: number; gzipped: number } {
  const size = { minified: Buffer.byteLength(code), gzipped: gzipSync(code).length };
  console.log(`browser bundle (${name}): ${JSON.stringify(size)}`);
  return size;
}

describe('a browser app from the tarballs', () => {
  it('installs without pg, PGlite or any server package', () => {
    for (const dep of ['pg', '@electric-sql/pglite', '@cloister/server', 'fastify']) {
      expect(existsSync(join(project.dir, 'node_modules', dep)), dep).toBe(false);
    }
  });

  it('bundles with esbuild for the browser, reaching no Node.js built-in', async () => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      absWorkingDir: project.dir,
      entryPoints: ['app.js'],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      splitting: false,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.text)).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => /\/(ws|pg|@electric-sql)\//.test(i) || i.startsWith('node:'))).toEqual([]);
    const code = result.outputFiles.map((f) => f.text).join('\n');
    expect(externalImports(code).filter((s) => NODE_BUILTINS.has(s))).toEqual([]);
    report('esbuild', code);
  }, 120_000);

  it('keeps every error class name through minification (apps test error.name)', async () => {
    const esbuild = await import('esbuild');
    writeFileSync(
      join(project.dir, 'errors.js'),
      "export * from '@cloister/crypto';\nexport * from '@cloister/client/browser';\nexport * from '@cloister/storage';\n",
    );
    await esbuild.build({
      absWorkingDir: project.dir,
      entryPoints: ['errors.js'],
      outfile: 'errors.min.mjs',
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    });
    const mod = (await import(pathToFileURL(join(project.dir, 'errors.min.mjs')).href)) as Record<
      string,
      unknown
    >;
    const named: string[] = [];
    const wrong: string[] = [];
    for (const [key, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
      const instance = Reflect.construct(value, ['a', 'b']) as Error;
      named.push(key);
      if (instance.name !== key) wrong.push(`${key} is named ${instance.name}`);
    }
    expect(wrong).toEqual([]);
    expect(named).toEqual(
      expect.arrayContaining([
        'WrongPin',
        'ValidationError',
        'CloisterError',
        'NetworkError',
        'PinMismatchError',
        'UnknownRecipientError',
        'ShreddedError',
      ]),
    );
  }, 120_000);

  it('bundles with Vite, externalising no Node.js built-in', async () => {
    const vite = await import('vite');
    const warnings: string[] = [];
    await vite.build({
      root: project.dir,
      logLevel: 'silent',
      configFile: false,
      build: {
        outDir: 'dist-vite',
        emptyOutDir: true,
        rollupOptions: {
          onwarn(warning) {
            warnings.push(warning.message);
          },
        },
      },
      customLogger: {
        ...vite.createLogger('silent'),
        warn: (msg: string) => warnings.push(msg),
        warnOnce: (msg: string) => warnings.push(msg),
        error: (msg: string) => warnings.push(msg),
      },
    });
    expect(warnings.filter((w) => /externalized|browser compatibility|node:/i.test(w))).toEqual([]);
    const assets = join(project.dir, 'dist-vite', 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    const code = js.map((f) => readFileSync(join(assets, f), 'utf8')).join('\n');
    expect(code).not.toContain('__vite-browser-external');
    expect(externalImports(code).filter((s) => NODE_BUILTINS.has(s))).toEqual([]);
    expect(js.reduce((n, f) => n + statSync(join(assets, f)).size, 0)).toBe(
      Buffer.byteLength(code) - (js.length - 1),
    );
    report('vite', code);
  }, 180_000);
});
