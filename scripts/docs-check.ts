/**
 * The API documentation check (`pnpm docs:check`, part of `pnpm verify`).
 *
 * It builds the TypeDoc model of every entry point in `typedoc.json` and fails when an export, a
 * public method of an exported class, or a member has no summary; when an export, a class method or
 * a method of an exported interface has no `@example`; or when a ```ts block of any `@example` does not compile. The rules and the
 * way an example is compiled are in `spec/api-docs.md`.
 *
 * Flags: `--package <name>` reports only one package (`client`, `storage`, …); `--list` prints every
 * missing item; `--no-compile` skips compiling the examples; `--json <file>` writes the counts;
 * `--html` also writes the API reference to `docs/api/` and fails on TypeDoc's warnings, as
 * `pnpm run docs` does, so that `pnpm verify` builds the model once.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Application,
  type Comment,
  type DeclarationReflection,
  type ProjectReflection,
  ReflectionKind,
  TSConfigReader,
  TypeDocReader,
} from 'typedoc';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PRELUDES = join(ROOT, 'scripts', 'docs-examples', 'prelude');

interface Args {
  readonly pkg: string | undefined;
  readonly list: boolean;
  readonly compile: boolean;
  readonly json: string | undefined;
  readonly html: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let pkg: string | undefined;
  let json: string | undefined;
  let list = false;
  let compile = true;
  let html = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--package') pkg = argv[++i];
    else if (a === '--json') json = argv[++i];
    else if (a === '--list') list = true;
    else if (a === '--no-compile') compile = false;
    else if (a === '--html') html = true;
    else throw new Error(`docs-check: unknown argument ${a}`);
  }
  return { pkg, list, compile, json, html };
}

/** One `@example` code block and the declaration it documents. */
interface Example {
  readonly owner: string;
  readonly pkg: string;
  readonly module: string;
  readonly index: number;
  readonly code: string;
}

/** What the rules found for one package. */
interface Tally {
  exports: number;
  exportsWithExample: number;
  exportsWithSummary: number;
  classMethods: number;
  classMethodsWithExample: number;
  classMethodsWithSummary: number;
  members: number;
  membersWithSummary: number;
  interfaceMethods: number;
  interfaceMethodsWithExample: number;
  examples: number;
  examplesFailing: number;
  readonly missing: string[];
}

function newTally(): Tally {
  return {
    exports: 0,
    exportsWithExample: 0,
    exportsWithSummary: 0,
    classMethods: 0,
    classMethodsWithExample: 0,
    classMethodsWithSummary: 0,
    members: 0,
    membersWithSummary: 0,
    interfaceMethods: 0,
    interfaceMethodsWithExample: 0,
    examples: 0,
    examplesFailing: 0,
    missing: [],
  };
}

function commentOf(r: DeclarationReflection): Comment | undefined {
  return (
    r.comment ??
    r.signatures?.find((s) => s.comment)?.comment ??
    r.getSignature?.comment ??
    r.setSignature?.comment ??
    undefined
  );
}

function hasSummary(c: Comment | undefined): boolean {
  return c?.summary.some((p) => p.text.trim().length > 0) ?? false;
}

function exampleBlocks(c: Comment | undefined): string[] {
  if (c === undefined) return [];
  const blocks: string[] = [];
  for (const tag of c.blockTags) {
    if (tag.tag !== '@example') continue;
    const text = tag.content.map((p) => p.text).join('');
    for (const m of text.matchAll(/```([A-Za-z]*)[^\n]*\n([\s\S]*?)```/g)) {
      if (m[1] === 'ts' || m[1] === 'typescript') blocks.push(m[2] ?? '');
    }
  }
  return blocks;
}

function hasExample(c: Comment | undefined): boolean {
  return c?.blockTags.some((t) => t.tag === '@example') ?? false;
}

const EXPORT_KINDS =
  ReflectionKind.Function |
  ReflectionKind.Class |
  ReflectionKind.Variable |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Enum |
  ReflectionKind.Namespace;

const MEMBER_KINDS =
  ReflectionKind.Property | ReflectionKind.Method | ReflectionKind.Accessor | ReflectionKind.EnumMember;

/** The members of a declaration a reader sees: its children, or those of an object type alias. */
function membersOf(r: DeclarationReflection): DeclarationReflection[] {
  const own = r.children ?? [];
  const literal =
    r.kind === ReflectionKind.TypeAlias && r.type?.type === 'reflection'
      ? (r.type.declaration.children ?? [])
      : [];
  return [...own, ...literal].filter(
    (m) => m.kindOf(MEMBER_KINDS) && !m.flags.isPrivate && !m.flags.isProtected && !m.inheritedFrom,
  );
}

/** Walks one module: the rules' tallies and the examples to compile. */
function walk(
  module: DeclarationReflection,
  tally: Tally,
  examples: Example[],
  pkg: string,
  seen: Set<number>,
): void {
  const collect = (owner: string, c: Comment | undefined) => {
    exampleBlocks(c).forEach((code, index) => {
      examples.push({ owner, pkg, module: module.name, index, code });
    });
  };
  for (const r of module.children ?? []) {
    if (r.kindOf(ReflectionKind.Reference) || !r.kindOf(EXPORT_KINDS)) continue;
    const name = `${module.name}.${r.name}`;
    const c = commentOf(r);
    tally.exports++;
    if (hasSummary(c)) tally.exportsWithSummary++;
    else tally.missing.push(`${name}: no summary`);
    if (hasExample(c)) tally.exportsWithExample++;
    else tally.missing.push(`${name}: no @example`);
    // The same declaration exported by two entries is compiled once.
    const first = !seen.has(r.id);
    seen.add(r.id);
    if (first) collect(name, c);
    for (const m of membersOf(r)) {
      const mName = `${name}.${m.name}`;
      const mc = commentOf(m);
      tally.members++;
      if (hasSummary(mc)) tally.membersWithSummary++;
      else tally.missing.push(`${mName}: no summary`);
      if (m.kind === ReflectionKind.Method && r.kind === ReflectionKind.Class) {
        tally.classMethods++;
        if (hasSummary(mc)) tally.classMethodsWithSummary++;
        if (hasExample(mc)) tally.classMethodsWithExample++;
        else tally.missing.push(`${mName}: no @example`);
      }
      if (m.kind === ReflectionKind.Method && r.kind === ReflectionKind.Interface) {
        tally.interfaceMethods++;
        if (hasExample(mc)) tally.interfaceMethodsWithExample++;
        else tally.missing.push(`${mName}: no @example`);
      }
      if (first) collect(mName, mc);
    }
  }
}

/** `@cloister/client/browser` → `client`. */
function packageOf(moduleName: string): string {
  const m = /^@cloister\/([^/]+)/.exec(moduleName);
  if (m === null) throw new Error(`docs-check: module ${moduleName} is not named @cloister/<package>`);
  return m[1] as string;
}

/** The export names of every entry, by package: name → the entry that exports it. */
function exportNames(project: ProjectReflection): Map<string, Map<string, string>> {
  const byPkg = new Map<string, Map<string, string>>();
  for (const module of project.children ?? []) {
    const pkg = packageOf(module.name);
    const names = byPkg.get(pkg) ?? new Map<string, string>();
    byPkg.set(pkg, names);
    for (const r of module.children ?? []) if (!names.has(r.name)) names.set(r.name, module.name);
  }
  return byPkg;
}

/** The `paths` that resolve every `@cloister/*` specifier to the package's sources. */
function sourcePaths(): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const dir of ['crypto', 'protocol', 'storage', 'server', 'admin', 'cli', 'client']) {
    const pj = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, string | Record<string, string>>;
    };
    for (const [sub, target] of Object.entries(pj.exports)) {
      if (typeof target === 'string') continue;
      const src = target['@cloister/source'];
      if (src === undefined) continue;
      const spec = sub === '.' ? pj.name : `${pj.name}/${sub.slice(2)}`;
      paths[spec] = [join('packages', dir, src)];
    }
  }
  return paths;
}

const IMPORT_LINE = /^\s*import\s[\s\S]*?from\s+['"][^'"]+['"];?\s*$|^\s*import\s+['"][^'"]+['"];?\s*$/gm;

/** Splits an example into its import statements and the rest. */
function splitImports(code: string): { imports: string; body: string; imported: Set<string> } {
  const imports: string[] = [];
  const body = code.replace(IMPORT_LINE, (m) => {
    imports.push(m.trim());
    return '';
  });
  const imported = new Set<string>();
  for (const line of imports) {
    const braces = /\{([^}]*)\}/.exec(line);
    if (braces !== null) {
      for (const part of (braces[1] ?? '').split(',')) {
        const local = part
          .trim()
          .split(/\s+as\s+/)
          .pop()
          ?.replace(/^type\s+/, '')
          .trim();
        if (local) imported.add(local);
      }
    }
    const dflt = /^import\s+(?:type\s+)?([A-Za-z_$][\w$]*)\s*(?:,|from)/.exec(line);
    if (dflt?.[1] !== undefined) imported.add(dflt[1]);
    const ns = /\*\s+as\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (ns?.[1] !== undefined) imported.add(ns[1]);
  }
  return { imports: imports.join('\n'), body, imported };
}

function prelude(pkg: string): string {
  const read = (f: string) => {
    try {
      return readFileSync(join(PRELUDES, f), 'utf8');
    } catch {
      return '';
    }
  };
  // A package's prelude may be split by area: `<package>.ts` and `<package>-<area>.ts`.
  const parts = readdirSync(PRELUDES)
    .filter((f) => f === `${pkg}.ts` || (f.startsWith(`${pkg}-`) && f.endsWith('.ts')))
    .sort();
  return [read('common.ts'), ...parts.map(read)].join('\n');
}

interface Built {
  readonly file: string;
  readonly example: Example;
  readonly bodyLine: number;
}

/** Writes each example as a module beside its package and compiles them all in one program. */
function compile(
  examples: readonly Example[],
  names: Map<string, Map<string, string>>,
): Map<Example, string[]> {
  const failures = new Map<Example, string[]>();
  const built: Built[] = [];
  const dirs = new Set<string>();
  const preludes = new Map<string, string>();
  examples.forEach((ex, i) => {
    // Each run writes its own folder, so that two runs at once do not collide.
    const dir = join(ROOT, 'packages', ex.pkg, 'node_modules', `.docs-examples-${process.pid}`);
    if (!dirs.has(dir)) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
    const { imports, body, imported } = splitImports(ex.code);
    const own = names.get(ex.pkg) ?? new Map<string, string>();
    const wanted = new Map<string, string[]>();
    for (const [name, module] of own) {
      if (
        imported.has(name) ||
        !new RegExp(`(?<![\\w$])(?<!(?:^|[^.])\\.)${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(body)
      )
        continue;
      const from = own.get(name) === ex.module ? ex.module : module;
      wanted.set(from, [...(wanted.get(from) ?? []), name]);
    }
    const auto = [...wanted]
      .map(([from, list]) => `import { ${list.join(', ')} } from '${from}';`)
      .join('\n');
    const pre = preludes.get(ex.pkg) ?? prelude(ex.pkg);
    preludes.set(ex.pkg, pre);
    const head = `${imports}\n${auto}\n${pre}\n{\n`;
    const file = join(dir, `${String(i).padStart(4, '0')}-${ex.owner.replace(/[^\w.]+/g, '_')}.ts`);
    writeFileSync(file, `${head}${body}\n}\nexport {};\n`);
    built.push({ file, example: ex, bodyLine: head.split('\n').length - 1 });
  });
  const base = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    composite: false,
    declaration: false,
    incremental: false,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    noUnusedLocals: false,
    noUnusedParameters: false,
    allowUnreachableCode: true,
    skipLibCheck: true,
    baseUrl: ROOT,
    paths: sourcePaths(),
    customConditions: ['@cloister/source'],
    // A reader's code imports types and values alike with `import { … }`.
    verbatimModuleSyntax: false,
    isolatedModules: false,
  };
  const program = ts.createProgram(
    built.map((b) => b.file),
    options,
  );
  const byFile = new Map(built.map((b) => [b.file, b]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const b = d.file ? byFile.get(d.file.fileName) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (b === undefined) {
      // An error outside the examples (in a prelude's types or a package) fails the check too.
      const where = d.file ? relative(ROOT, d.file.fileName) : 'program';
      const stray = failures.get(examples[0] as Example) ?? [];
      stray.push(`${where}: ${text}`);
      failures.set(examples[0] as Example, stray);
      continue;
    }
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
    const rel = line - b.bodyLine + 1;
    const where = rel >= 1 ? `example line ${rel}` : 'prelude/imports';
    const list = failures.get(b.example) ?? [];
    list.push(`${where}: ${text}`);
    failures.set(b.example, list);
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  return failures;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const app = await Application.bootstrapWithPlugins(
    { options: join(ROOT, 'typedoc.json'), logLevel: args.html ? 'Warn' : 'Error', skipErrorChecking: true },
    [new TypeDocReader(), new TSConfigReader()],
  );
  const project = await app.convert();
  if (project === undefined) {
    console.error('docs-check: TypeDoc could not build the model');
    return 1;
  }
  let htmlFailed = false;
  if (args.html) {
    // What `pnpm run docs` does (`typedoc --treatWarningsAsErrors`), on the model built once.
    app.validate(project);
    await app.generateDocs(project, app.options.getValue('out'));
    htmlFailed = app.logger.hasErrors() || app.logger.hasWarnings();
    if (htmlFailed) console.error('docs-check: TypeDoc reported warnings or errors (above)');
    else console.log(`docs-check: the API reference is in ${relative(ROOT, app.options.getValue('out'))}/`);
  }
  const tallies = new Map<string, Tally>();
  const examples: Example[] = [];
  const seen = new Set<number>();
  for (const module of project.children ?? []) {
    const pkg = packageOf(module.name);
    const tally = tallies.get(pkg) ?? newTally();
    tallies.set(pkg, tally);
    walk(module, tally, examples, pkg, seen);
  }
  const wanted = examples.filter((e) => args.pkg === undefined || e.pkg === args.pkg);
  const failures = args.compile ? compile(wanted, exportNames(project)) : new Map<Example, string[]>();
  for (const e of wanted) {
    const tally = tallies.get(e.pkg) as Tally;
    tally.examples++;
    const f = failures.get(e);
    if (f !== undefined) {
      tally.examplesFailing++;
      tally.missing.push(`${e.owner} (example ${e.index + 1}) does not compile:\n    ${f.join('\n    ')}`);
    }
  }

  let problems = 0;
  const rows: Record<string, Record<string, string | number>> = {};
  const pct = (a: number, b: number) => (b === 0 ? '100%' : `${((100 * a) / b).toFixed(1)}%`);
  const total = newTally();
  for (const [pkg, t] of [...tallies].sort()) {
    if (args.pkg !== undefined && pkg !== args.pkg) continue;
    for (const k of Object.keys(total) as (keyof Tally)[]) {
      if (k !== 'missing') (total[k] as number) += t[k] as number;
    }
    rows[pkg] = {
      exports: t.exports,
      'with example': pct(t.exportsWithExample, t.exports),
      'with summary': pct(t.exportsWithSummary, t.exports),
      'class methods': t.classMethods,
      'methods with example': pct(t.classMethodsWithExample, t.classMethods),
      members: t.members,
      'members with summary': pct(t.membersWithSummary, t.members),
      'interface methods with example': `${t.interfaceMethodsWithExample}/${t.interfaceMethods}`,
      examples: t.examples,
      'not compiling': t.examplesFailing,
    };
    problems += t.missing.length;
    if (args.list || t.missing.length <= 40) for (const m of t.missing) console.log(`${pkg}: ${m}`);
    else console.log(`${pkg}: ${t.missing.length} problems (--list prints them)`);
  }
  console.table(rows);
  console.log(
    `docs-check: exports with an example ${total.exportsWithExample}/${total.exports} (${pct(total.exportsWithExample, total.exports)}), ` +
      `class methods with an example ${total.classMethodsWithExample}/${total.classMethods}, ` +
      `interface methods with an example ${total.interfaceMethodsWithExample}/${total.interfaceMethods}, ` +
      `members with a summary ${total.membersWithSummary}/${total.members}, ` +
      `examples compiled ${total.examples - total.examplesFailing}/${total.examples}` +
      (args.compile ? '' : ' (not compiled: --no-compile)'),
  );
  if (args.json !== undefined)
    writeFileSync(
      args.json,
      `${JSON.stringify({ packages: rows, total: { ...total, missing: undefined } }, null, 2)}\n`,
    );
  if (htmlFailed) problems++;
  if (problems > 0) {
    console.error(`docs-check: ${problems} problems`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
