/**
 * Generates Cloister's own test vectors into `test-vectors/`, or checks that the committed files
 * are up to date.
 *
 *   npx tsx --conditions=@cloister/source scripts/generate-vectors.ts           # write
 *   npx tsx --conditions=@cloister/source scripts/generate-vectors.ts --check   # compare only
 *
 * Every module `scripts/vectors/<name>.ts` (files starting with `_` and `*.test.ts` are skipped)
 * default-exports a {@link VectorModule}. Its output is written to `test-vectors/<file>` as
 * `JSON.stringify(value, null, 2) + "\n"`. Generators draw randomness only from a seeded provider,
 * so the output is deterministic. With `--check` nothing is written: the script prints each file
 * that differs or is missing and exits with status 1, or prints how many files matched and exits
 * with status 0. Status 2 means a usage or generator error.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What each `scripts/vectors/*.ts` module default-exports. */
export interface VectorModule {
  /** File name inside `test-vectors/`, such as `static-v1.json`. */
  readonly file: string;
  /** Builds the JSON value; must be deterministic. */
  generate(): Promise<unknown>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VECTORS_SRC = join(ROOT, 'scripts', 'vectors');
const VECTORS_OUT = join(ROOT, 'test-vectors');
const FILE_NAME = /^[a-z0-9][a-z0-9._-]*\.json$/;

function isVectorModule(value: unknown): value is VectorModule {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<VectorModule>;
  return typeof m.file === 'string' && FILE_NAME.test(m.file) && typeof m.generate === 'function';
}

async function loadModules(): Promise<{ source: string; module: VectorModule }[]> {
  const sources = readdirSync(VECTORS_SRC)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
  const out: { source: string; module: VectorModule }[] = [];
  const seen = new Map<string, string>();
  for (const source of sources) {
    const imported = (await import(pathToFileURL(join(VECTORS_SRC, source)).href)) as { default?: unknown };
    if (!isVectorModule(imported.default)) {
      throw new Error(
        `scripts/vectors/${source}: default export must be { file: "<name>.json", generate() }`,
      );
    }
    const previous = seen.get(imported.default.file);
    if (previous !== undefined) {
      throw new Error(`scripts/vectors/${source} and ${previous} both write ${imported.default.file}`);
    }
    seen.set(imported.default.file, source);
    out.push({ source, module: imported.default });
  }
  return out;
}

function readCommitted(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function firstDifferentLine(a: string, b: string): number {
  const x = a.split('\n');
  const y = b.split('\n');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i + 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: generate-vectors.ts [--check]`);
    return 2;
  }
  const check = argv.includes('--check');
  const modules = await loadModules();
  let differing = 0;
  for (const { source, module } of modules) {
    const started = performance.now();
    const text = `${JSON.stringify(await module.generate(), null, 2)}\n`;
    const ms = Math.round(performance.now() - started);
    const target = join(VECTORS_OUT, module.file);
    const label = `test-vectors/${module.file} (scripts/vectors/${basename(source)}, ${ms} ms)`;
    if (check) {
      const committed = readCommitted(target);
      if (committed === undefined) {
        console.log(`missing: ${label}`);
        differing++;
      } else if (committed !== text) {
        console.log(`differs: ${label}, first at line ${firstDifferentLine(committed, text)}`);
        differing++;
      }
    } else {
      writeFileSync(target, text);
      console.log(`wrote ${label}`);
    }
  }
  if (check) {
    if (differing > 0) {
      console.log(
        `${differing} of ${modules.length} vector file(s) are not up to date; run scripts/generate-vectors.ts`,
      );
      return 1;
    }
    console.log(`${modules.length} vector file(s) match`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 2;
  },
);
