/**
 * Test helper: loads the JSON vector files of `test-vectors/` and gives the Wycheproof files a
 * typed shape. Bytes stay hex in the files; `hex()` decodes them at the point of use.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../test-vectors/', import.meta.url));

/** Parses `test-vectors/<path>` and checks that it names its source. */
export function loadVectors<T extends { source: unknown }>(path: string): T {
  const data = JSON.parse(readFileSync(ROOT + path, 'utf8')) as T;
  if (typeof data.source !== 'object' || data.source === null) throw new Error(`${path}: no source object`);
  return data;
}

/** Decodes hex from a vector file. */
export function hex(s: string): Uint8Array {
  return fromHex(s, 'vector');
}

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment?: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

export interface WycheproofFile<G> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}

export interface AeadTest extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
export interface AeadGroup {
  readonly ivSize: number;
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadTest[];
}

export interface CbcTest extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly msg: string;
  readonly ct: string;
}
export interface CbcGroup {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tests: readonly CbcTest[];
}

export interface MacTest extends WycheproofTest {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}
export interface MacGroup {
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly MacTest[];
}

export interface HkdfTest extends WycheproofTest {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
export interface HkdfGroup {
  readonly keySize: number;
  readonly tests: readonly HkdfTest[];
}

export interface XdhTest extends WycheproofTest {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
export interface XdhGroup {
  readonly curve: string;
  readonly tests: readonly XdhTest[];
}

export interface EddsaTest extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
export interface EddsaGroup {
  readonly publicKey: { readonly curve: string; readonly pk: string };
  readonly tests: readonly EddsaTest[];
}

export interface MlKemTest extends WycheproofTest {
  readonly seed: string;
  readonly ek: string;
  readonly c: string;
  readonly K: string;
}
export interface MlKemEncapsTest extends WycheproofTest {
  readonly m: string;
  readonly ek: string;
  readonly c: string;
  readonly K: string;
}
export interface MlKemGroup<T> {
  readonly parameterSet: string;
  readonly tests: readonly T[];
}

/** Loads `test-vectors/wycheproof/<name>` and checks its declared test count against its groups. */
export function loadWycheproof<G extends { tests: readonly WycheproofTest[] }>(
  name: string,
): WycheproofFile<G> {
  const data = JSON.parse(readFileSync(`${ROOT}wycheproof/${name}`, 'utf8')) as WycheproofFile<G>;
  const total = data.testGroups.reduce((n, g) => n + g.tests.length, 0);
  if (total !== data.numberOfTests || total === 0)
    throw new Error(`${name}: ${total} tests, header says ${data.numberOfTests}`);
  return data;
}

/** Counts of executed cases by outcome, asserted exactly so that a loader bug cannot pass. */
export type Tally = Record<string, number>;

export function bump(tally: Tally, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

/**
 * Awaits `run` and returns the `code` of what it threw, together with its message, or `none`
 * when it did not throw. Lets a vector loop assert the rejection and name the case.
 */
export async function rejection(run: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : 'not a CloisterError',
      message: String((e as Error).message),
    };
  }
  return { code: 'none', message: '' };
}
