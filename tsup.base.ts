import type { Options } from 'tsup';

/**
 * The build every published package uses: ESM only, declarations, ES2022. No source maps: they
 * would point at sources the packages do not ship, and embedding the sources would double the
 * install size (spec/packaging.md).
 */
export function packageBuild(entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: false,
    target: 'es2022',
    tsconfig: 'tsconfig.json',
    ...extra,
  };
}
