import type { Options } from 'tsup';

/** The build every published package uses: ESM only, declarations, source maps, ES2022. */
export function packageBuild(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    tsconfig: 'tsconfig.json',
  };
}
