/**
 * Field checks shared by encoders and decoders, so that both enforce exactly the same rules.
 * Each check takes a {@link Fail}: decoders pass {@link decodeFail} (the peer sent bad bytes:
 * {@link DecodeError}), encoders pass {@link encodeFail} (the caller passed a bad object:
 * {@link ValidationError}). Messages name the field path and what was expected, never a value.
 *
 * @module
 */
import { DecodeError, utf8, ValidationError } from '@cloister/crypto';

/** Throws the error of one direction for the field at `path`; `expected` says what was wanted. */
export type Fail = (path: string, expected: string) => never;

/** For decoders: a {@link DecodeError} naming the path. */
export const decodeFail: Fail = (path, expected) => {
  throw new DecodeError(path, `expected ${expected}`);
};

/** For encoders: a {@link ValidationError} naming the path. */
export const encodeFail: Fail = (path, expected) => {
  throw new ValidationError(path, expected);
};

const UINT32_MAX = 0xffff_ffff;

/** A copy of `value`, which must be a `Uint8Array` of exactly `length` bytes. */
export function fixedBytes(fail: Fail, value: unknown, path: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(path, `${length} bytes`);
  if (value.length !== length) return fail(path, `${length} bytes, got ${value.length}`);
  return new Uint8Array(value);
}

/** A copy of `value`, which must be a `Uint8Array` of `min` to `max` bytes. */
export function rangeBytes(fail: Fail, value: unknown, path: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(path, `${min} to ${max} bytes`);
  if (value.length < min || value.length > max)
    return fail(path, `${min} to ${max} bytes, got ${value.length}`);
  return new Uint8Array(value);
}

/** Lone surrogates cannot be encoded as UTF-8; the encoder would silently replace them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `value`, which must be a well-formed string of `min` to `max` UTF-8 bytes. */
export function text(fail: Fail, value: unknown, path: string, min: number, max: number): string {
  const expected = `a string of ${min} to ${max} UTF-8 bytes`;
  if (typeof value !== 'string') return fail(path, expected);
  // Cheap bounds first: a string of n UTF-16 units has n .. 3n UTF-8 bytes.
  if (value.length > max || value.length * 3 < min) return fail(path, expected);
  if (LONE_SURROGATE.test(value)) return fail(path, 'well-formed Unicode (no lone surrogates)');
  const length = utf8(value).length;
  if (length < min || length > max) return fail(path, `${expected}, got ${length}`);
  return value;
}

/** `value`, which must be a string of `min` to `max` characters matching `pattern` (ASCII). */
export function asciiText(
  fail: Fail,
  value: unknown,
  path: string,
  pattern: RegExp,
  description: string,
): string {
  if (typeof value !== 'string' || !pattern.test(value)) return fail(path, description);
  return value;
}

/** `value`, which must be an integer in `[min, max]`; `max` defaults to `0xffffffff`. */
export function int(fail: Fail, value: unknown, path: string, min = 0, max = UINT32_MAX): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    return fail(path, `an integer in [${min}, ${max}]`);
  }
  return value;
}

/**
 * The number in a protobufjs 64-bit field, which is a `number` or a `Long` ({ low, high })
 * depending on whether the `long` package is loadable. Values above 2^53 - 1 come out as unsafe
 * integers, which {@link int} then rejects.
 */
export function fromUint64(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    const { low, high } = value;
    if (typeof low === 'number' && typeof high === 'number')
      return (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
  }
  return value;
}

/** The domain value of a protobuf enum number; 0 (unspecified) and unknown numbers fail. */
export function enumValue<T>(fail: Fail, value: unknown, path: string, map: ReadonlyMap<number, T>): T {
  const out = typeof value === 'number' ? map.get(value) : undefined;
  if (out === undefined) return fail(path, `one of ${[...map.keys()].join(', ')}`);
  return out;
}

/** `value`, which must be one of `allowed`. */
export function literal<T extends string>(
  fail: Fail,
  value: unknown,
  path: string,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    return fail(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

/** Fails at `path[i]` for the first item whose `key` repeats an earlier one. */
export function distinct<T>(fail: Fail, items: readonly T[], path: string, key: (item: T) => string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) fail(`${path}[${i}]`, 'no duplicates');
    seen.add(k);
  });
}

/** `value`, which must be an array of `min` to `max` items. */
export function list(fail: Fail, value: unknown, path: string, min: number, max: number): readonly unknown[] {
  if (!Array.isArray(value)) return fail(path, `a list of ${min} to ${max} items`);
  if (value.length < min || value.length > max) {
    return fail(path, `a list of ${min} to ${max} items, got ${value.length}`);
  }
  return value;
}

/** `value`, which must be an object: a nested message, present. */
export function object(fail: Fail, value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) return fail(path, 'present');
  if (typeof value !== 'object' || Array.isArray(value)) return fail(path, 'an object');
  return value as Readonly<Record<string, unknown>>;
}

/** `value`, which must be a boolean. */
export function bool(fail: Fail, value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') return fail(path, 'a boolean');
  return value;
}

/**
 * The one member of a oneof that is set, by name. Fails when none is set (or only members this
 * version does not know) or when more than one is (protobuf would keep the last; we refuse).
 */
export function oneof<K extends string>(
  fail: Fail,
  members: Readonly<Record<K, unknown>>,
  path: string,
  names: readonly K[],
): K {
  const set = names.filter((n) => members[n] !== null && members[n] !== undefined);
  if (set.length !== 1) {
    return fail(path, set.length === 0 ? `one of ${names.join(', ')}` : `exactly one of ${names.join(', ')}`);
  }
  return set[0]!;
}
