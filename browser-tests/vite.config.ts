/**
 * Vite configuration of the browser test page (`browser-tests/app`), served by the server under
 * `/app/`. Packages resolve by name to their built `dist/` (no `@cloister/source` condition), as
 * in an app that installed them. The build fails when anything it bundles reaches a Node built-in
 * or `ws`, statically or with `import()` (Vite would otherwise replace the module with an empty
 * stub that only fails once the page calls it), and when a module comes from a package's `src/`.
 */
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** Modules a browser bundle must never reach. */
function isNodeOnly(source: string): boolean {
  return isBuiltin(source) || source === 'ws' || source.startsWith('ws/');
}

/** A workspace package's sources: the page must be built from what ships (`dist/`) instead. */
const PACKAGE_SOURCE = /[\\/]packages[\\/][^\\/]+[\\/]src[\\/]/;

/**
 * Fails the build at the first import of a Node-only module, naming the importer, and at the
 * first module loaded from a workspace package's `src/`.
 */
function refuseNodeModules(): Plugin {
  return {
    name: 'cloister-refuse-node-modules',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isNodeOnly(source)) {
        this.error(
          `the page reaches the Node-only module "${source}" (imported by ${importer ?? 'the entry'})`,
        );
      }
      return null;
    },
    load(id) {
      if (PACKAGE_SOURCE.test(id)) this.error(`the page loads ${id}: packages must resolve to their dist/`);
      return null;
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('./app', import.meta.url)),
  base: '/app/',
  logLevel: 'warn',
  clearScreen: false,
  // A browser's conditions, stated: no `@cloister/source`, so packages resolve to their `dist/`.
  resolve: { conditions: ['module', 'browser', 'development|production'] },
  plugins: [refuseNodeModules()],
  build: {
    target: 'es2022',
    emptyOutDir: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 4096,
  },
});
