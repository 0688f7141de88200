/**
 * Writes the public API report of every exported entry point into `api/`, or checks that the
 * committed reports are up to date. See spec/api-reports.md.
 *
 *   pnpm build && pnpm api:report            # tsx scripts/api-report.ts: write
 *   pnpm build && pnpm api:check             # tsx scripts/api-report.ts --check: compare only
 *   pnpm api:check -- crypto protocol        # only these packages (directory names under packages/)
 *
 * The entry points are read from the `exports` of each `packages/<dir>/package.json`: every subpath
 * with a `types` file (not `./package.json`). The report of `.` is `api/<dir>.api.md`, the report of
 * `./<sub>` is `api/<dir>-<sub>.api.md` (`/` in `<sub>` becomes `-`). The reports are made by
 * API Extractor from the built `.d.ts` files in `dist/`, so the packages must be built first.
 *
 * With `--check` nothing in `api/` is written: the script names each report that differs, is
 * missing or (when no package is named) belongs to no entry point any more, prints the differences
 * and exits with status 1; it exits with 0 when every report matches. Status 2 means a usage error,
 * a missing build or an API Extractor error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  type IConfigFile,
} from '@microsoft/api-extractor';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = join(ROOT, 'packages');
const REPORTS = join(ROOT, 'api');
/** API Extractor writes each freshly generated report here before comparing it (git-ignored). */
const TEMP = join(ROOT, '.api-extractor');
const REPORT_SUFFIX = '.api.md';

interface EntryPoint {
  /** Package directory name under `packages/`, such as `crypto`. */
  readonly dir: string;
  /** Package name, such as `@cloister/crypto`. */
  readonly packageName: string;
  /** Subpath in `exports`, such as `.` or `./node`. */
  readonly subpath: string;
  /** Report base name, such as `crypto-node` (the file is `api/crypto-node.api.md`). */
  readonly report: string;
  /** Absolute path of the built declaration file. */
  readonly dts: string;
}

interface PackageJson {
  readonly name: string;
  readonly exports?: Record<string, string | { readonly types?: string }>;
}

function entryPoints(): EntryPoint[] {
  const out: EntryPoint[] = [];
  for (const dir of readdirSync(PACKAGES).sort()) {
    const file = join(PACKAGES, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
    for (const [subpath, target] of Object.entries(pkg.exports ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const types = typeof target === 'string' ? undefined : target.types;
      if (subpath === './package.json' || types === undefined) continue;
      const report = subpath === '.' ? dir : `${dir}-${subpath.replace(/^\.\//, '').replaceAll('/', '-')}`;
      out.push({ dir, packageName: pkg.name, subpath, report, dts: join(PACKAGES, dir, types) });
    }
  }
  return out;
}

/**
 * The API Extractor configuration of one entry point, complete (`ExtractorConfig.prepare` applies
 * no defaults). Only the API report is produced; no .d.ts rollup, doc model or tsdoc metadata.
 */
function configFor(entry: EntryPoint): IConfigFile {
  return {
    projectFolder: join(PACKAGES, entry.dir),
    mainEntryPointFilePath: entry.dts,
    bundledPackages: [],
    // LF like every other file in the repository (API Extractor's default is CRLF).
    newlineKind: 'lf',
    // Enum members in declaration order, as the source has them. (`EnumMemberOrder.Preserve` lives in
    // @microsoft/api-extractor-model, which is not a direct dependency; its value is this string.)
    enumMemberOrder: 'preserve' as NonNullable<IConfigFile['enumMemberOrder']>,
    compiler: {
      // The built declarations are analysed on their own: no path mapping and no `@cloister/source`
      // condition, so imports of other workspace packages resolve to their built `dist/` like a
      // consumer's would, and are shown as imports (they are not bundled into the report).
      overrideTsconfig: {
        compilerOptions: {
          target: 'es2022',
          lib: ['es2023', 'dom'],
          module: 'esnext',
          moduleResolution: 'bundler',
          types: ['node'],
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: true,
        },
        files: [entry.dts],
      },
      skipLibCheck: true,
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.report,
      reportFolder: REPORTS,
      reportTempFolder: TEMP,
      // A type the API uses but the entry point does not export (see ae-forgotten-export below)
      // is written into the report all the same, so a change to its shape is caught too.
      includeForgottenExports: true,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning },
        // Cloister does not use release tags (@public/@beta/@alpha/@internal): everything an entry
        // point exports is public. Warning on every declaration would only be noise.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        // A type the API uses but the entry point does not export. Mostly by design here: the
        // subpath entry points (`./node`, `./testing`, ...) use types that consumers import from
        // the package's main entry point. Such a type is still written into the report in full
        // (`includeForgottenExports`), without `export`, so its shape is guarded; a warning comment
        // on every use would only be noise, and failing the run would reject existing code.
        'ae-forgotten-export': { logLevel: ExtractorLogLevel.None },
        // Documentation comments are typedoc's business (`pnpm docs` validates links); they are not
        // part of the signatures this report guards.
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.None },
        'ae-undocumented': { logLevel: ExtractorLogLevel.None },
        'ae-misplaced-package-tag': { logLevel: ExtractorLogLevel.None },
        'ae-wrong-input-file-type': { logLevel: ExtractorLogLevel.Error },
      },
      // TSDoc syntax is not enforced here either (typedoc reads the comments), same reason.
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
    },
  };
}

/** Console messages API Extractor prints that this script replaces with its own summary. */
const QUIET = new Set([
  'console-api-report-copied',
  'console-api-report-created',
  'console-api-report-not-copied',
  'console-api-report-unchanged',
  'console-compiler-version-notice',
  'console-preamble',
  'console-writing-api-report',
]);

function reportFile(report: string): string {
  return join(REPORTS, `${report}${REPORT_SUFFIX}`);
}

function shortPath(path: string): string {
  return relative(ROOT, path);
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  // `pnpm api:check -- crypto` passes the `--` through.
  const selected = argv.filter((a) => a !== '--check' && a !== '--');
  const unknownFlags = selected.filter((a) => a.startsWith('-'));
  if (unknownFlags.length > 0) {
    console.error(
      `unknown option(s): ${unknownFlags.join(' ')}\nusage: api-report.ts [--check] [package-dir ...]`,
    );
    return 2;
  }

  const all = entryPoints();
  const dirs = new Set(all.map((e) => e.dir));
  const unknownDirs = selected.filter((d) => !dirs.has(d));
  if (unknownDirs.length > 0) {
    console.error(`no package directory packages/${unknownDirs.join(', packages/')} with exports`);
    return 2;
  }
  const entries = selected.length === 0 ? all : all.filter((e) => selected.includes(e.dir));

  const unbuilt = entries.filter((e) => !existsSync(e.dts));
  if (unbuilt.length > 0) {
    for (const e of unbuilt) console.error(`missing ${shortPath(e.dts)} (${e.packageName} ${e.subpath})`);
    console.error('build the packages first: pnpm build');
    return 2;
  }

  mkdirSync(REPORTS, { recursive: true });
  rmSync(TEMP, { recursive: true, force: true });

  const changed: string[] = [];
  const failed: string[] = [];
  for (const entry of entries) {
    const existed = existsSync(reportFile(entry.report));
    const extractorConfig = ExtractorConfig.prepare({
      configObject: configFor(entry),
      configObjectFullPath: undefined,
      packageJsonFullPath: join(PACKAGES, entry.dir, 'package.json'),
    });
    const result = Extractor.invoke(extractorConfig, {
      // A "local build" copies a changed report into api/; otherwise it is only compared.
      localBuild: !check,
      printApiReportDiff: check,
      messageCallback: (message: ExtractorMessage) => {
        if (QUIET.has(message.messageId)) message.handled = true;
      },
    });
    const name = shortPath(reportFile(entry.report));
    if (result.errorCount > 0) {
      failed.push(name);
      console.error(`error: API Extractor reported ${result.errorCount} error(s) for ${name}`);
    } else if (result.apiReportChanged) {
      changed.push(name);
      const what = existed ? 'differs' : 'missing';
      console.log(check ? `${what}: ${name}` : `${existed ? 'updated' : 'created'}: ${name}`);
    } else {
      console.log(`up to date: ${name}`);
    }
  }

  // Reports whose entry point is gone (only judged when every package is covered).
  const stale =
    selected.length > 0
      ? []
      : readdirSync(REPORTS)
          .filter((f) => f.endsWith(REPORT_SUFFIX))
          .filter((f) => !all.some((e) => `${e.report}${REPORT_SUFFIX}` === f))
          .sort()
          .map((f) => join(REPORTS, f));
  for (const file of stale) {
    if (check) {
      console.log(`stale (no such entry point): ${shortPath(file)}`);
    } else {
      rmSync(file);
      console.log(`removed (no such entry point): ${shortPath(file)}`);
    }
  }

  if (failed.length > 0) return 2;
  if (check) {
    const outdated = [...changed, ...stale.map(shortPath)];
    if (outdated.length > 0) {
      console.error(
        `\nThe public API changed: ${outdated.length} API report(s) are not up to date:\n` +
          outdated.map((f) => `  ${f}\n`).join('') +
          'If the change is intended, run `pnpm build && pnpm api:report` and commit the updated api/ files.',
      );
      return 1;
    }
    console.log(`${entries.length} API report(s) match`);
  } else if (changed.length > 0 || stale.length > 0) {
    console.log(`${changed.length + stale.length} API report(s) written or removed; review and commit api/`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e: unknown) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 2;
}
