/**
 * Small assertion helpers of the conformance suite. They run in browsers and need no test
 * framework; a failed check throws {@link ConformanceFailure} with a short message.
 *
 * @module
 */
import type { Row } from '../adapter.js';
import { ConformanceFailure } from './_failure.js';

/** Throws a failure saying `detail`. */
export function fail(detail: string, cause?: unknown): never {
  throw new ConformanceFailure('', detail, cause === undefined ? undefined : { cause });
}

/** Short, bounded rendering of any value for failure messages. */
export function show(value: unknown): string {
  if (value instanceof Uint8Array) {
    const head = Array.from(value.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join('');
    return value.length <= 24 ? `0x${head}` : `0x${head}… (${value.length} bytes)`;
  }
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, 6).map(show).join(', ');
    return `[${items}${value.length > 6 ? `, … (${value.length} items)` : ''}]`;
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return `${value.name}${typeof code === 'string' ? ` (${code})` : ''}: ${show(value.message)}`;
  }
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name ?? 'Object';
    if (isRowLike(value)) {
      return `row(sort ${show(value.sort)}, value ${show(value.value)}, expiresAt ${show(value.expiresAt)})`;
    }
    return ctor === 'Object' ? '[object]' : `[${ctor}]`;
  }
  return typeof value;
}

function isRowLike(value: object): value is Row {
  return 'sort' in value && 'value' in value && 'partition' in value;
}

/** Fails unless `condition` holds. */
export function check(condition: boolean, detail: string): asserts condition {
  if (!condition) fail(detail);
}

/** Fails unless `actual` is `expected` (`Object.is`). */
export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Byte equality of two arrays (not constant time; test data only). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fails unless `actual` is a Uint8Array with the bytes of `expected`. */
export function bytes(actual: unknown, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) fail(`${what}: expected a Uint8Array, got ${show(actual)}`);
  if (!sameBytes(actual, expected)) {
    let i = 0;
    while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
    fail(
      `${what}: expected ${show(expected)}, got ${show(actual)} (first difference at byte ${i}, lengths ${expected.length} and ${actual.length})`,
    );
  }
}

/** Unsigned lexicographic order of byte strings, written independently of any adapter. */
export function compareUnsigned(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The expected content of one row. */
export interface ExpectedRow {
  readonly partition: Uint8Array;
  readonly sort: Uint8Array;
  readonly value: Uint8Array;
  readonly expiresAt?: number | null;
}

/** Fails unless `actual` is a row equal to `expected` (expiresAt defaults to `null`). */
export function row(actual: Row | undefined, expected: ExpectedRow, what: string): void {
  if (actual === undefined || actual === null || typeof actual !== 'object') {
    fail(
      `${what}: expected ${show({ ...expected, expiresAt: expected.expiresAt ?? null })}, got ${show(actual)}`,
    );
  }
  bytes(actual.partition, expected.partition, `${what}: partition`);
  bytes(actual.sort, expected.sort, `${what}: sort`);
  bytes(actual.value, expected.value, `${what}: value`);
  equal(actual.expiresAt, expected.expiresAt ?? null, `${what}: expiresAt`);
}

/** Fails unless `actual` has exactly the sort keys `expected`, in that order. */
export function sorts(actual: readonly Row[], expected: readonly Uint8Array[], what: string): void {
  if (!Array.isArray(actual)) fail(`${what}: expected an array of rows, got ${show(actual)}`);
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const got = (actual[i] as Row).sort;
    const want = expected[i] as Uint8Array;
    if (!(got instanceof Uint8Array) || !sameBytes(got, want)) {
      fail(
        `${what}: row ${i} of ${actual.length}: expected sort ${show(want)}, got ${show(got)} (expected ${expected.length} rows)`,
      );
    }
  }
  if (actual.length !== expected.length) {
    const extra = actual.length > expected.length ? `; first extra ${show(actual[n]?.sort)}` : '';
    fail(`${what}: expected ${expected.length} rows, got ${actual.length}${extra}`);
  }
}

/** What a rejection must look like. */
export interface Rejection {
  readonly code?: string;
  readonly field?: string;
}

/**
 * Calls `fn` and fails unless the promise it returns rejects (a synchronous throw is a failure
 * too: adapter methods return promises) with the given `code` and `field`. Returns the reason.
 */
export async function rejects(
  fn: () => Promise<unknown>,
  what: string,
  expected: Rejection = {},
): Promise<unknown> {
  let promise: Promise<unknown>;
  try {
    promise = fn();
  } catch (e) {
    fail(`${what}: expected a rejected promise, but the call threw synchronously: ${show(e)}`, e);
  }
  if (promise === null || typeof promise !== 'object' || typeof promise.then !== 'function') {
    fail(`${what}: expected a promise, got ${show(promise)}`);
  }
  let value: unknown;
  try {
    value = await promise;
  } catch (e) {
    const err = e as { code?: unknown; field?: unknown } | null;
    const want = expected.code === undefined ? '' : ` with code ${expected.code}`;
    if (
      expected.code !== undefined &&
      (err === null || typeof err !== 'object' || err.code !== expected.code)
    ) {
      fail(`${what}: expected a rejection${want}, got ${show(e)}`, e);
    }
    if (expected.field !== undefined && err?.field !== expected.field) {
      fail(
        `${what}: expected a rejection${want} naming field ${show(expected.field)}, got field ${show(err?.field)} (${show(e)})`,
        e,
      );
    }
    return e;
  }
  const want = expected.code === undefined ? '' : ` with ${expected.code}`;
  return fail(`${what}: expected a rejection${want}, but it resolved with ${show(value)}`);
}

/** Awaits `promise`, which must reject with exactly `reason` (same object). */
export async function rejectsWithSame(
  promise: Promise<unknown>,
  reason: unknown,
  what: string,
): Promise<void> {
  let outcome: { resolved: unknown } | { rejected: unknown };
  try {
    outcome = { resolved: await promise };
  } catch (e) {
    outcome = { rejected: e };
  }
  if ('resolved' in outcome) {
    fail(`${what}: expected the transaction to reject, it resolved with ${show(outcome.resolved)}`);
  }
  if (outcome.rejected !== reason) {
    fail(
      `${what}: expected the callback's own error object to be rethrown, got ${show(outcome.rejected)}`,
      outcome.rejected,
    );
  }
}
