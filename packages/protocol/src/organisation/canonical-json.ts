/**
 * The canonical JSON of policy documents (`spec/organisation.md` §6.1): RFC 8785 (JCS) restricted
 * to integers. Objects with members sorted by the UTF-16 code units of their names, no
 * whitespace, strings as ECMAScript `JSON.stringify` writes them, numbers only safe integers
 * (written as `JSON.stringify` writes them: no `-0`, exponent or fraction), at most 16 levels of
 * nesting. For this subset JCS and the rule coincide, so any JCS library produces the same bytes.
 *
 * @module
 */
import { DecodeError, utf8, ValidationError } from '@cloister/crypto';

/** Deepest nesting of arrays and objects in a canonical document. */
const MAX_DEPTH = 16;

/**
 * A JSON value of the canonical subset.
 *
 * @example
 * ```ts
 * const config: CanonicalJson = { days: 30, pools: ['icu', 'ward-3'], strict: true };
 * ```
 */
export type CanonicalJson =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalJson[]
  | { readonly [name: string]: CanonicalJson };

function write(value: unknown, field: string, depth: number): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      throw new ValidationError(field, 'a safe integer (no fraction, exponent or -0)');
    }
    return JSON.stringify(value);
  }
  if (depth >= MAX_DEPTH) throw new ValidationError(field, `at most ${MAX_DEPTH} levels of nesting`);
  if (Array.isArray(value))
    return `[${value.map((v, i) => write(v, `${field}[${i}]`, depth + 1)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    const names = Object.keys(o).sort();
    return `{${names.map((n) => `${JSON.stringify(n)}:${write(o[n], `${field}.${n}`, depth + 1)}`).join(',')}}`;
  }
  throw new ValidationError(
    field,
    'JSON: null, a boolean, a safe integer, a string, an array or a plain object',
  );
}

/**
 * The canonical bytes of a JSON value. `ValidationError` names a value outside the subset.
 *
 * @example
 * ```ts
 * import { canonicalJsonBytes } from '@cloister/protocol';
 * new TextDecoder().decode(canonicalJsonBytes({ b: 1, a: [true, null] })); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJsonBytes(value: unknown, field = 'json'): Uint8Array {
  return utf8(write(value, field, 0));
}

/**
 * Parses canonical JSON bytes; `DecodeError` at `path` for bytes that are not UTF-8, not JSON, or
 * not exactly the canonical form of what they parse to (whitespace, unsorted or repeated names,
 * fractions, exponents, `-0`, other escapes, too deep).
 *
 * @example
 * ```ts
 * import { parseCanonicalJson } from '@cloister/protocol';
 * parseCanonicalJson(new TextEncoder().encode('{"a":1}'), 'document'); // { a: 1 }
 * ```
 */
export function parseCanonicalJson(bytes: Uint8Array, path: string): CanonicalJson {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new DecodeError(path, 'UTF-8 JSON');
  }
  let again: string;
  try {
    again = write(value, path, 0);
  } catch (e) {
    if (e instanceof ValidationError) throw new DecodeError(path, e.message.slice(e.field.length + 2));
    throw e;
  }
  if (again !== text) throw new DecodeError(path, 'canonical JSON (spec/organisation.md §6.1)');
  return value as CanonicalJson;
}
