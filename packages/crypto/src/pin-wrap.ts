/**
 * PIN key wrapping (the product sheet's "Lokale Festplattenverschlüsselung"): a random 256-bit
 * data key encrypts the local store; the data key is stored wrapped under a key derived from
 * the user's PIN with scrypt. Changing the PIN re-wraps the data key; the data stays as it is.
 *
 * Two algorithms (byte layouts in `spec/pin-wrap.md`):
 * - `aes-256-gcm` (default): `pin_key = scrypt(PIN, salt, dkLen 32)`,
 *   `wrappedKey | tag = AES-256-GCM(pin_key, nonce, dataKey, aad = header)`.
 * - `aes-256-cbc-hmac` (the sheet's construction): `s = scrypt(PIN, salt, dkLen 64)`,
 *   `wrappedKey = AES-256-CBC(s[0..32), iv, dataKey)` (48 bytes with PKCS#7 padding),
 *   `tag = HMAC-SHA256(s[32..64), header | iv | wrappedKey)`, checked before decrypting.
 *
 * A wrong PIN and an altered record both end in the same `WrongPin` (`ERR_WRONG_PIN`).
 *
 * @module
 */
import { checkBytes, concatBytes, equalBytes, utf8, wipe } from './bytes.js';
import { CloisterError, DecodeError, ValidationError, WrongPin } from './errors.js';
import type { CryptoProvider } from './provider.js';

/**
 * The key-wrapping algorithms: `aes-256-gcm` (the default) or `aes-256-cbc-hmac` (the product
 * sheet's encrypt-then-MAC construction).
 *
 * @example
 * ```ts
 * const algorithm: PinWrapAlgorithm = 'aes-256-cbc-hmac';
 * const { record } = await wrapDataKey(provider, { pin: '482916', algorithm });
 * ```
 */
export type PinWrapAlgorithm = 'aes-256-gcm' | 'aes-256-cbc-hmac';

/**
 * scrypt cost of a PIN wrap (the output length follows from the algorithm).
 *
 * @example
 * ```ts
 * const scrypt: PinScryptParams = { N: 2 ** 18, r: 8, p: 1 }; // 256 MiB, about twice the default
 * const { record } = await wrapDataKey(provider, { pin: '482916', scrypt });
 * ```
 */
export interface PinScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/**
 * A wrapped data key with everything needed to unwrap it except the PIN. Serialise it with
 * {@link encodeWrappedKey}.
 *
 * @example
 * ```ts
 * const { record } = await wrapDataKey(provider, { pin: '482916' });
 * console.log(record.algorithm, record.scrypt.N); // "aes-256-gcm" 131072
 * ```
 */
export interface WrappedKeyRecord {
  /** Record format version; always 1. */
  readonly version: 1;
  /** How the data key is wrapped. */
  readonly algorithm: PinWrapAlgorithm;
  /** The scrypt cost the PIN key was derived with. */
  readonly scrypt: PinScryptParams;
  /** Random scrypt salt, 16 or 32 bytes. */
  readonly salt: Uint8Array;
  /** GCM nonce (12 bytes) or CBC IV (16 bytes). */
  readonly nonce: Uint8Array;
  /** Encrypted data key: 32 bytes (GCM) or 48 bytes (CBC with PKCS#7 padding). */
  readonly wrappedKey: Uint8Array;
  /** GCM tag (16 bytes) or HMAC-SHA256 tag (32 bytes). */
  readonly tag: Uint8Array;
}

/**
 * Options for choosing how a data key is wrapped.
 *
 * @example
 * ```ts
 * const options: PinWrapOptions = { algorithm: 'aes-256-gcm', saltLength: 16 };
 * const { record } = await wrapDataKey(provider, { pin: '482916', ...options });
 * ```
 */
export interface PinWrapOptions {
  /** Default {@link PIN_WRAP_DEFAULT_ALGORITHM}. */
  readonly algorithm?: PinWrapAlgorithm;
  /** Default {@link PIN_SCRYPT_DEFAULT}; must lie between the floor and the ceiling. */
  readonly scrypt?: PinScryptParams;
  /** Salt length in bytes, 16 or 32; default 32. */
  readonly saltLength?: 16 | 32;
}

/**
 * The default algorithm: authenticated AES-256-GCM with the record header as AAD.
 *
 * @example
 * ```ts
 * const { record } = await wrapDataKey(provider, { pin: '482916' });
 * console.log(record.algorithm === PIN_WRAP_DEFAULT_ALGORITHM); // true
 * ```
 */
export const PIN_WRAP_DEFAULT_ALGORITHM: PinWrapAlgorithm = 'aes-256-gcm';
/**
 * Every supported algorithm, with its one-byte id in the encoded record (`0x01` GCM, `0x02`
 * CBC-HMAC).
 *
 * @example
 * ```ts
 * const { record } = await wrapDataKey(provider, { pin: '482916' });
 * const id = encodeWrappedKey(record)[PIN_WRAP_MAGIC.length]; // PIN_WRAP_ALGORITHM_IDS['aes-256-gcm']
 * ```
 */
export const PIN_WRAP_ALGORITHM_IDS: Readonly<Record<PinWrapAlgorithm, number>> = Object.freeze({
  'aes-256-gcm': 0x01,
  'aes-256-cbc-hmac': 0x02,
});
/**
 * The default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, about 0.5 s natively).
 *
 * @example
 * ```ts
 * import { PIN_SCRYPT_DEFAULT, wrapDataKey } from '@cloister/crypto';
 * // A device that can afford more:
 * await wrapDataKey(provider, { pin: '482916', scrypt: { ...PIN_SCRYPT_DEFAULT, N: 2 ** 18 } });
 * ```
 */
export const PIN_SCRYPT_DEFAULT: PinScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/**
 * The lowest scrypt cost accepted when wrapping or unwrapping: N >= 2^15, r >= 8, p >= 1.
 *
 * @example
 * ```ts
 * // Tests use the floor to stay fast; production code keeps the default.
 * await wrapDataKey(provider, { pin: '1234', scrypt: PIN_SCRYPT_FLOOR });
 * ```
 */
export const PIN_SCRYPT_FLOOR: PinScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });
/**
 * The highest scrypt cost accepted (so a hostile record cannot make unwrapping allocate without
 * bound): N <= 2^20, r <= 32, p <= 16, and memory 128·N·r <= 1 GiB.
 *
 * @example
 * ```ts
 * const { N, r } = { N: 2 ** 20, r: 8 };
 * const fits = 128 * N * r <= PIN_SCRYPT_CEILING.memoryBytes; // true: exactly 1 GiB
 * ```
 */
export const PIN_SCRYPT_CEILING: PinScryptParams & { readonly memoryBytes: number } = Object.freeze({
  N: 2 ** 20,
  r: 32,
  p: 16,
  memoryBytes: 2 ** 30,
});
/**
 * The ASCII magic that starts every encoded record; it names the format and its version.
 *
 * @example
 * ```ts
 * const isWrappedKey = equalBytes(bytes.subarray(0, PIN_WRAP_MAGIC.length), utf8(PIN_WRAP_MAGIC));
 * ```
 */
export const PIN_WRAP_MAGIC = 'cloister/pin-wrap/v1';
/**
 * Length of the data key: 32 bytes (256 bits).
 *
 * @example
 * ```ts
 * const dataKey = provider.randomBytes(PIN_WRAP_DATA_KEY_LENGTH);
 * const { record } = await wrapDataKey(provider, { pin: '482916', dataKey });
 * ```
 */
export const PIN_WRAP_DATA_KEY_LENGTH = 32;
/**
 * Longest PIN accepted, in UTF-8 bytes after NFC normalisation.
 *
 * @example
 * ```ts
 * function acceptablePin(pin: string): boolean {
 *   return pin !== '' && utf8(pin.normalize('NFC')).length <= PIN_MAX_BYTES;
 * }
 * ```
 */
export const PIN_MAX_BYTES = 1024;

const MAGIC = utf8(PIN_WRAP_MAGIC);
const MAGIC_PREFIX_LENGTH = MAGIC.length - 2; // "cloister/pin-wrap/" before the "v1"
/** Bytes before the salt: magic, algorithm, log2 N, r, p, salt length. */
const FIXED_HEADER_LENGTH = MAGIC.length + 5;

interface AlgorithmLayout {
  readonly id: number;
  readonly nonceLength: number;
  readonly wrappedKeyLength: number;
  readonly tagLength: number;
  readonly scryptLength: number;
}

const LAYOUTS: Readonly<Record<PinWrapAlgorithm, AlgorithmLayout>> = {
  'aes-256-gcm': {
    id: PIN_WRAP_ALGORITHM_IDS['aes-256-gcm'],
    nonceLength: 12,
    wrappedKeyLength: 32,
    tagLength: 16,
    scryptLength: 32,
  },
  'aes-256-cbc-hmac': {
    id: PIN_WRAP_ALGORITHM_IDS['aes-256-cbc-hmac'],
    nonceLength: 16,
    wrappedKeyLength: 48,
    tagLength: 32,
    scryptLength: 64,
  },
};

function isAlgorithm(value: unknown): value is PinWrapAlgorithm {
  return value === 'aes-256-gcm' || value === 'aes-256-cbc-hmac';
}

/**
 * The bytes a PIN contributes: NFC-normalised, then UTF-8. Throws `ValidationError` for a
 * value that is not a string, an empty string, a string with unpaired surrogates (which UTF-8
 * cannot represent) or one longer than {@link PIN_MAX_BYTES}. The caller should `wipe` the
 * result.
 *
 * @example
 * ```ts
 * normalizePin('A\u0308'); // Uint8Array [0xc3, 0x84] ("Ä" composed)
 * ```
 */
export function normalizePin(pin: unknown, field = 'pin'): Uint8Array {
  if (typeof pin !== 'string') throw new ValidationError(field, 'a string');
  if (pin.length === 0) throw new ValidationError(field, 'a non-empty string');
  if (/\p{Surrogate}/u.test(pin)) throw new ValidationError(field, 'a string without unpaired surrogates');
  const bytes = utf8(pin.normalize('NFC'));
  if (bytes.length > PIN_MAX_BYTES) {
    wipe(bytes);
    throw new ValidationError(field, `at most ${PIN_MAX_BYTES} UTF-8 bytes`);
  }
  return bytes;
}

function log2(n: number): number {
  return 31 - Math.clz32(n);
}

/** Checks scrypt parameters against floor and ceiling; `fail` builds the error. */
function scryptProblem(
  N: unknown,
  r: unknown,
  p: unknown,
): { field: 'N' | 'r' | 'p' | ''; expected: string } | null {
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
  if (!isInt(N) || N < PIN_SCRYPT_FLOOR.N || N > PIN_SCRYPT_CEILING.N || (N & (N - 1)) !== 0) {
    return { field: 'N', expected: 'a power of two in [2^15, 2^20]' };
  }
  if (!isInt(r) || r < PIN_SCRYPT_FLOOR.r || r > PIN_SCRYPT_CEILING.r) {
    return { field: 'r', expected: `an integer in [${PIN_SCRYPT_FLOOR.r}, ${PIN_SCRYPT_CEILING.r}]` };
  }
  if (!isInt(p) || p < PIN_SCRYPT_FLOOR.p || p > PIN_SCRYPT_CEILING.p) {
    return { field: 'p', expected: `an integer in [${PIN_SCRYPT_FLOOR.p}, ${PIN_SCRYPT_CEILING.p}]` };
  }
  if (128 * N * r > PIN_SCRYPT_CEILING.memoryBytes) {
    return { field: '', expected: 'memory 128·N·r of at most 1 GiB' };
  }
  return null;
}

function checkScrypt(value: unknown, field: string): PinScryptParams {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'an object {N, r, p}');
  const { N, r, p } = value as Record<string, unknown>;
  const problem = scryptProblem(N, r, p);
  if (problem !== null) {
    throw new ValidationError(problem.field === '' ? field : `${field}.${problem.field}`, problem.expected);
  }
  return Object.freeze({ N: N as number, r: r as number, p: p as number });
}

/** Validates a record object (types, lengths, bounds); never looks at the PIN. */
function checkRecord(value: unknown, field: string): WrappedKeyRecord {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'a WrappedKeyRecord');
  const rec = value as Record<string, unknown>;
  if (rec.version !== 1) throw new ValidationError(`${field}.version`, '1');
  if (!isAlgorithm(rec.algorithm))
    throw new ValidationError(`${field}.algorithm`, "'aes-256-gcm' or 'aes-256-cbc-hmac'");
  const layout = LAYOUTS[rec.algorithm];
  const scrypt = checkScrypt(rec.scrypt, `${field}.scrypt`);
  const salt = checkBytes(rec.salt, `${field}.salt`);
  if (salt.length !== 16 && salt.length !== 32) throw new ValidationError(`${field}.salt`, '16 or 32 bytes');
  return {
    version: 1,
    algorithm: rec.algorithm,
    scrypt,
    salt,
    nonce: checkBytes(rec.nonce, `${field}.nonce`, layout.nonceLength),
    wrappedKey: checkBytes(rec.wrappedKey, `${field}.wrappedKey`, layout.wrappedKeyLength),
    tag: checkBytes(rec.tag, `${field}.tag`, layout.tagLength),
  };
}

/** Validates wrap options; `prefix` is `''` for options given at the top level of `args`. */
function checkOptions(value: unknown, prefix: string): PinWrapOptions {
  if (value === undefined) return {};
  const at = (name: string): string => (prefix === '' ? name : `${prefix}.${name}`);
  if (typeof value !== 'object' || value === null)
    throw new ValidationError(prefix === '' ? 'args' : prefix, 'an object');
  const o = value as Record<string, unknown>;
  const out: { algorithm?: PinWrapAlgorithm; scrypt?: PinScryptParams; saltLength?: 16 | 32 } = {};
  if (o.algorithm !== undefined) {
    if (!isAlgorithm(o.algorithm))
      throw new ValidationError(at('algorithm'), "'aes-256-gcm' or 'aes-256-cbc-hmac'");
    out.algorithm = o.algorithm;
  }
  if (o.scrypt !== undefined) out.scrypt = checkScrypt(o.scrypt, at('scrypt'));
  if (o.saltLength !== undefined) {
    if (o.saltLength !== 16 && o.saltLength !== 32) throw new ValidationError(at('saltLength'), '16 or 32');
    out.saltLength = o.saltLength;
  }
  return out;
}

function checkProvider(provider: unknown): CryptoProvider {
  if (
    typeof provider !== 'object' ||
    provider === null ||
    typeof (provider as CryptoProvider).scrypt !== 'function'
  ) {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  return provider as CryptoProvider;
}

/** The authenticated header: magic, algorithm id, log2 N, r, p, salt length, salt. */
function encodeHeader(algorithm: PinWrapAlgorithm, scrypt: PinScryptParams, salt: Uint8Array): Uint8Array {
  const fixed = Uint8Array.of(LAYOUTS[algorithm].id, log2(scrypt.N), scrypt.r, scrypt.p, salt.length);
  return concatBytes(MAGIC, fixed, salt);
}

function runScrypt(
  provider: CryptoProvider,
  pin: Uint8Array,
  salt: Uint8Array,
  scrypt: PinScryptParams,
  dkLen: number,
): Promise<Uint8Array> {
  return provider.scrypt(pin, salt, { N: scrypt.N, r: scrypt.r, p: scrypt.p, dkLen });
}

/** Wraps `dataKey` under `pin` with fresh randomness; arguments already validated. */
async function seal(
  provider: CryptoProvider,
  pin: Uint8Array,
  dataKey: Uint8Array,
  algorithm: PinWrapAlgorithm,
  scrypt: PinScryptParams,
  saltLength: number,
): Promise<WrappedKeyRecord> {
  const layout = LAYOUTS[algorithm];
  const salt = provider.randomBytes(saltLength);
  const nonce = provider.randomBytes(layout.nonceLength);
  const header = encodeHeader(algorithm, scrypt, salt);
  const derived = await runScrypt(provider, pin, salt, scrypt, layout.scryptLength);
  const encKey = derived.subarray(0, 32);
  try {
    let wrappedKey: Uint8Array;
    let tag: Uint8Array;
    if (algorithm === 'aes-256-gcm') {
      const sealed = await provider.aes256gcm.encrypt(encKey, nonce, dataKey, header);
      wrappedKey = sealed.slice(0, layout.wrappedKeyLength);
      tag = sealed.slice(layout.wrappedKeyLength);
    } else {
      wrappedKey = await provider.aes256cbc.encrypt(encKey, nonce, dataKey);
      tag = await provider.hmacSha256(derived.subarray(32, 64), [header, nonce, wrappedKey]);
    }
    return Object.freeze({ version: 1, algorithm, scrypt, salt, nonce, wrappedKey, tag });
  } finally {
    wipe(derived);
  }
}

/** Unwraps a validated record; every cryptographic failure becomes `WrongPin`. */
async function open(
  provider: CryptoProvider,
  record: WrappedKeyRecord,
  pin: Uint8Array,
): Promise<Uint8Array> {
  const layout = LAYOUTS[record.algorithm];
  const header = encodeHeader(record.algorithm, record.scrypt, record.salt);
  const derived = await runScrypt(provider, pin, record.salt, record.scrypt, layout.scryptLength);
  const encKey = derived.subarray(0, 32);
  let expectedTag: Uint8Array | undefined;
  let dataKey: Uint8Array | undefined;
  try {
    if (record.algorithm === 'aes-256-gcm') {
      dataKey = await provider.aes256gcm.decrypt(
        encKey,
        record.nonce,
        concatBytes(record.wrappedKey, record.tag),
        header,
      );
    } else {
      expectedTag = await provider.hmacSha256(derived.subarray(32, 64), [
        header,
        record.nonce,
        record.wrappedKey,
      ]);
      if (!equalBytes(expectedTag, record.tag)) throw new WrongPin();
      dataKey = await provider.aes256cbc.decrypt(encKey, record.nonce, record.wrappedKey);
    }
    if (dataKey.length !== PIN_WRAP_DATA_KEY_LENGTH) {
      wipe(dataKey);
      throw new WrongPin();
    }
    return dataKey;
  } catch (e) {
    if (e instanceof CloisterError && (e.code === 'ERR_DECRYPTION_FAILED' || e.code === 'ERR_WRONG_PIN')) {
      throw new WrongPin();
    }
    throw e;
  } finally {
    wipe(derived, expectedTag);
  }
}

/**
 * Wraps a data key under a PIN. When `dataKey` is absent a fresh random 256-bit key is drawn
 * from `provider.randomBytes`; either way the returned `dataKey` is the key that was wrapped
 * (the caller's own array when one was given) and the caller should `wipe` it when done.
 *
 * Randomness is drawn in this order: data key (when generated), salt, nonce.
 * Throws `ValidationError` naming the field for an empty or malformed PIN, a data key that is
 * not 32 bytes, an unknown algorithm or a scrypt cost outside [floor, ceiling].
 *
 * @example
 * ```ts
 * import { encodeWrappedKey, getProvider, wrapDataKey } from '@cloister/crypto';
 * const provider = await getProvider();
 * const { dataKey, record } = await wrapDataKey(provider, { pin: '482916' });
 * const stored = encodeWrappedKey(record); // keep these bytes next to the encrypted store
 * // encrypt the local store under dataKey, then wipe(dataKey)
 * ```
 */
export async function wrapDataKey(
  provider: CryptoProvider,
  args: { readonly pin: string; readonly dataKey?: Uint8Array } & PinWrapOptions,
): Promise<{ dataKey: Uint8Array; record: WrappedKeyRecord }> {
  const prov = checkProvider(provider);
  if (typeof args !== 'object' || args === null) throw new ValidationError('args', 'an object');
  const given =
    args.dataKey === undefined ? undefined : checkBytes(args.dataKey, 'dataKey', PIN_WRAP_DATA_KEY_LENGTH);
  const options = checkOptions(args, '');
  const pin = normalizePin(args.pin, 'pin');
  try {
    const dataKey = given ?? prov.randomBytes(PIN_WRAP_DATA_KEY_LENGTH);
    const record = await seal(
      prov,
      pin,
      dataKey,
      options.algorithm ?? PIN_WRAP_DEFAULT_ALGORITHM,
      options.scrypt ?? PIN_SCRYPT_DEFAULT,
      options.saltLength ?? 32,
    );
    return { dataKey, record };
  } finally {
    wipe(pin);
  }
}

/**
 * Recovers the data key from a record and the PIN. A wrong PIN throws `WrongPin`
 * (`ERR_WRONG_PIN`); so does a well-formed record whose bytes were altered (salt, parameters,
 * nonce, wrapped key or tag), indistinguishably. A record that is malformed (wrong types or
 * lengths, scrypt cost outside [floor, ceiling]) throws `ValidationError` before any scrypt
 * work; bytes from storage should go through {@link decodeWrappedKey} first, which reports such
 * records as `DecodeError`. The caller should `wipe` the returned key when done.
 *
 * @example
 * ```ts
 * try {
 *   const dataKey = await unwrapDataKey(provider, decodeWrappedKey(bytes), '482916');
 * } catch (e) {
 *   if (!(e instanceof CloisterError && e.code === 'ERR_WRONG_PIN')) throw e;
 *   // ask the user for the PIN again
 * }
 * ```
 */
export async function unwrapDataKey(
  provider: CryptoProvider,
  record: WrappedKeyRecord,
  pin: string,
): Promise<Uint8Array> {
  const prov = checkProvider(provider);
  const rec = checkRecord(record, 'record');
  const pinBytes = normalizePin(pin, 'pin');
  try {
    return await open(prov, rec, pinBytes);
  } finally {
    wipe(pinBytes);
  }
}

/**
 * Re-wraps the data key of `record` under `newPin`, with a fresh salt and nonce. The data key
 * itself does not change, so data encrypted under it stays valid and untouched. The algorithm,
 * scrypt cost and salt length stay those of `record` unless `options` gives new ones.
 * Throws `WrongPin` when `oldPin` does not open the record.
 *
 * @example
 * ```ts
 * const updated = await changePin(provider, decodeWrappedKey(bytes), '482916', '730145');
 * const stored = encodeWrappedKey(updated); // replaces the old record; the data key is unchanged
 * ```
 */
export async function changePin(
  provider: CryptoProvider,
  record: WrappedKeyRecord,
  oldPin: string,
  newPin: string,
  options?: PinWrapOptions,
): Promise<WrappedKeyRecord> {
  const prov = checkProvider(provider);
  const rec = checkRecord(record, 'record');
  const opts = checkOptions(options, 'options');
  const oldBytes = normalizePin(oldPin, 'oldPin');
  let newBytes: Uint8Array | undefined;
  let dataKey: Uint8Array | undefined;
  try {
    newBytes = normalizePin(newPin, 'newPin');
    dataKey = await open(prov, rec, oldBytes);
    return await seal(
      prov,
      newBytes,
      dataKey,
      opts.algorithm ?? rec.algorithm,
      opts.scrypt ?? rec.scrypt,
      opts.saltLength ?? rec.salt.length,
    );
  } finally {
    wipe(oldBytes, newBytes, dataKey);
  }
}

/**
 * Serialises a record (layout in `spec/pin-wrap.md`):
 * `magic "cloister/pin-wrap/v1" (20) | algorithm (1) | log2 N (1) | r (1) | p (1) |
 * salt length (1) | salt | nonce | wrapped key | tag`. Throws `ValidationError` for a malformed
 * record.
 *
 * @example
 * ```ts
 * const { record } = await wrapDataKey(provider, { pin: '482916' });
 * const stored = encodeWrappedKey(record);
 * const again = decodeWrappedKey(stored);
 * ```
 */
export function encodeWrappedKey(record: WrappedKeyRecord): Uint8Array {
  const rec = checkRecord(record, 'record');
  return concatBytes(encodeHeader(rec.algorithm, rec.scrypt, rec.salt), rec.nonce, rec.wrappedKey, rec.tag);
}

/**
 * Parses bytes produced by {@link encodeWrappedKey}. Throws `DecodeError` (`ERR_DECODE`) whose
 * `path` names the field for a wrong magic or version, an unknown algorithm, scrypt parameters
 * outside [floor, ceiling] (so a hostile record cannot make unwrapping allocate more than 1 GiB),
 * a bad salt length, truncation or trailing bytes. Throws `ValidationError` when `bytes` is not a
 * `Uint8Array`. The returned record owns copies of its fields.
 *
 * @example
 * ```ts
 * const record = decodeWrappedKey(bytes); // the stored record
 * const dataKey = await unwrapDataKey(provider, record, '482916');
 * ```
 */
export function decodeWrappedKey(bytes: Uint8Array): WrappedKeyRecord {
  const input = checkBytes(bytes, 'bytes');
  const need = (offset: number, length: number, path: string): Uint8Array => {
    if (input.length < offset + length) throw new DecodeError(path, 'truncated');
    return input.slice(offset, offset + length);
  };
  if (!equalBytes(need(0, MAGIC_PREFIX_LENGTH, 'record.magic'), MAGIC.subarray(0, MAGIC_PREFIX_LENGTH))) {
    throw new DecodeError('record.magic', 'not a Cloister wrapped-key record');
  }
  if (!equalBytes(need(MAGIC_PREFIX_LENGTH, 2, 'record.version'), MAGIC.subarray(MAGIC_PREFIX_LENGTH))) {
    throw new DecodeError('record.version', 'unsupported version');
  }
  const byteAt = (offset: number, path: string): number => need(offset, 1, path)[0]!;
  const algId = byteAt(MAGIC.length, 'record.algorithm');
  const algorithm = (Object.keys(LAYOUTS) as PinWrapAlgorithm[]).find((a) => LAYOUTS[a].id === algId);
  if (algorithm === undefined) throw new DecodeError('record.algorithm', 'unknown algorithm');
  const log2N = byteAt(MAGIC.length + 1, 'record.scrypt.N');
  const r = byteAt(MAGIC.length + 2, 'record.scrypt.r');
  const p = byteAt(MAGIC.length + 3, 'record.scrypt.p');
  const problem = scryptProblem(2 ** log2N, r, p);
  if (problem !== null) {
    throw new DecodeError(
      problem.field === '' ? 'record.scrypt' : `record.scrypt.${problem.field}`,
      problem.expected,
    );
  }
  const saltLength = byteAt(MAGIC.length + 4, 'record.salt');
  if (saltLength !== 16 && saltLength !== 32) throw new DecodeError('record.salt', 'length must be 16 or 32');
  const layout = LAYOUTS[algorithm];
  let offset = FIXED_HEADER_LENGTH;
  const salt = need(offset, saltLength, 'record.salt');
  offset += saltLength;
  const nonce = need(offset, layout.nonceLength, 'record.nonce');
  offset += layout.nonceLength;
  const wrappedKey = need(offset, layout.wrappedKeyLength, 'record.wrappedKey');
  offset += layout.wrappedKeyLength;
  const tag = need(offset, layout.tagLength, 'record.tag');
  offset += layout.tagLength;
  if (input.length !== offset) throw new DecodeError('record', `${input.length - offset} trailing bytes`);
  return Object.freeze({
    version: 1,
    algorithm,
    scrypt: Object.freeze({ N: 2 ** log2N, r, p }),
    salt,
    nonce,
    wrappedKey,
    tag,
  });
}
