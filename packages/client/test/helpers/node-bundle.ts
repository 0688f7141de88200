/**
 * One JavaScript file a test can run with plain `node` in its child processes, instead of
 * `node --import tsx` transpiling the whole source tree again in every child.
 *
 * The entry and every workspace module it reaches (`@cloister/*`, resolved to their TypeScript
 * source through the `@cloister/source` condition, as the tests do) are bundled by esbuild into
 * `<outDir>/<name>.mjs`; third-party packages stay outside the bundle and are imported from where
 * they are installed, by absolute path (so files such as PGlite's WebAssembly load from their
 * own package, and the bundle may live in any directory).
 */
import { readFile } from 'node:fs/promises';
import { join, parse, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** Third-party packages: external, by the absolute path esbuild resolves them to. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || args.pluginData === 'external-packages') return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'external-packages',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      // Node built-ins imported without the `node:` prefix: left as they are.
      if (resolved.external) return { path: args.path, external: true };
      // Workspace modules (`@cloister/*`, a package's own `#imports`) are bundled.
      if (!resolved.path.split(sep).includes('node_modules')) return { path: resolved.path };
      return { path: resolved.path, external: true };
    });
  },
};

/**
 * Workspace modules that find files next to themselves (`createRequire(import.meta.url)`) keep
 * seeing their own source location, not the bundle's.
 */
const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/**
 * Bundles `entry` (a TypeScript file) for Node.js into `outDir` and returns the path of the
 * bundle, to run as `node --enable-source-maps <bundle>`.
 */
export async function bundleForNode(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, `${parse(entry).name}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@cloister/source'],
    // Stack traces of a failing child name the TypeScript source (with `--enable-source-maps`).
    sourcemap: true,
    logLevel: 'silent',
    plugins: [externalPackages, ownImportMetaUrl],
  });
  return outfile;
}
