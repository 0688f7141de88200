/** The description of the machine and software a benchmark run measured. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmarks package folder (`benchmarks/`). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The machine and software a run measured. */
export interface MachineDescription {
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string };
  readonly cpu: {
    readonly model: string;
    /** Logical CPUs the OS reports. */
    readonly cores: number;
    /** CPUs this process may use (cgroup limits included). */
    readonly availableParallelism: number;
    readonly speedMHz: number | null;
  };
  readonly memory: { readonly totalBytes: number; readonly freeBytesAtStart: number };
  /** 1, 5 and 15 minute load averages when the run started: other work on a shared machine. */
  readonly loadAverageAtStart: readonly number[];
  readonly node: string;
  readonly v8: string;
  readonly openssl: string;
  /** Versions of the packages under test and of the tools measuring them (`null` if not found). */
  readonly packages: Readonly<Record<string, string | null>>;
  /** The commit of the checkout, when it is a git repository with a commit. */
  readonly gitCommit: string | null;
}

/** Packages whose versions a report records, and the folder their lookup starts from. */
const REPORTED_PACKAGES: readonly (readonly [name: string, from: 'benchmarks' | 'crypto'])[] = [
  ['@cloister/crypto', 'benchmarks'],
  ['@cloister/protocol', 'benchmarks'],
  ['@noble/curves', 'crypto'],
  ['@noble/hashes', 'crypto'],
  ['@noble/ciphers', 'crypto'],
  ['@noble/post-quantum', 'crypto'],
  ['@signalapp/libsignal-client', 'benchmarks'],
  ['tinybench', 'benchmarks'],
  ['tsx', 'benchmarks'],
];

/** Finds `node_modules/<name>/package.json` from `dir` upwards, as Node's resolution does. */
function findPackageJson(name: string, dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return null;
  }
}

function packageVersion(name: string, dir: string): string | null {
  const path = findPackageJson(name, dir);
  if (path === null) return null;
  const version: unknown = JSON.parse(readFileSync(path, 'utf8')).version;
  return typeof version === 'string' ? version : null;
}

function packageVersions(): Record<string, string | null> {
  const cryptoJson = findPackageJson('@cloister/crypto', PACKAGE_DIR);
  const cryptoDir = cryptoJson === null ? PACKAGE_DIR : dirname(realpathSync(cryptoJson));
  const out: Record<string, string | null> = {};
  for (const [name, from] of REPORTED_PACKAGES) {
    out[name] = packageVersion(name, from === 'crypto' ? cryptoDir : PACKAGE_DIR);
  }
  return out;
}

function gitCommit(): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: PACKAGE_DIR,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() || null;
  } catch {
    return null;
  }
}

/** The 1, 5 and 15 minute load averages, rounded to hundredths. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Describes this machine and the software versions in play. */
export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    cpu: {
      model: cpus[0]?.model.trim() ?? 'unknown',
      cores: cpus.length,
      availableParallelism: os.availableParallelism(),
      speedMHz: cpus[0]?.speed || null,
    },
    memory: { totalBytes: os.totalmem(), freeBytesAtStart: os.freemem() },
    loadAverageAtStart: loadAverage(),
    node: process.versions.node,
    v8: process.versions.v8,
    openssl: process.versions.openssl ?? 'none',
    packages: packageVersions(),
    gitCommit: gitCommit(),
  };
}
