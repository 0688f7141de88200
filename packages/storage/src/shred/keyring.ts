/**
 * Crypto-shredding (R29, R44): a keyring that seals data under a key per retention period and
 * destroys the key when the period ends, so that no copy of the data (a backup, a replica, a
 * forgotten export) can be opened afterwards. Format and guarantees: `spec/retention.md` §7.
 *
 * @module
 */
import {
  type CryptoProvider,
  checkBytes,
  concatBytes,
  DecryptionFailed,
  LimitError,
  StorageError,
  uintBE,
  utf8,
  ValidationError,
  wipe,
} from '@cloister/crypto';
import { checkTable } from '../_check.js';
import type { StorageAdapter } from '../adapter.js';
import {
  encodeHeader,
  MAX_SHRED_AAD_BYTES,
  MAX_SHRED_PLAINTEXT_BYTES,
  PERIOD_KEY_LENGTH,
  readPeriodEnd,
  recordInfo,
  SHRED_HEADER_LENGTH,
  SHRED_SALT_LENGTH,
  SHRED_VERSION,
  shredPeriodEnd,
} from './format.js';

/**
 * Shortest period a keyring accepts: one second (1000 ms).
 *
 * @example
 * ```ts
 * const periodMs = Math.max(MIN_SHRED_PERIOD_MS, Math.min(MAX_SHRED_PERIOD_MS, 86_400_000));
 * ```
 */
export const MIN_SHRED_PERIOD_MS = 1_000;
/**
 * Longest period a keyring accepts (ten 365-day years, in ms).
 *
 * @example
 * ```ts
 * const periodMs = Math.min(MAX_SHRED_PERIOD_MS, 30 * 86_400_000); // 30 days, within range
 * ```
 */
export const MAX_SHRED_PERIOD_MS = 10 * 365 * 86_400_000;
/**
 * The table a keyring keeps its period keys in unless told otherwise (`shred_keys`).
 *
 * @example
 * ```ts
 * const keyring = createShreddingKeyring({ adapter, provider, periodMs: 86_400_000, table: DEFAULT_SHRED_TABLE });
 * ```
 */
export const DEFAULT_SHRED_TABLE = 'shred_keys';

const SCOPE_PATTERN = /^[A-Za-z0-9._\-:@+/]{0,128}$/;

/**
 * The key a ciphertext was sealed under has been destroyed because its retention period ended:
 * the data is gone for good. Code `ERR_STORAGE` (a {@link StorageError}), distinct from
 * `DecryptionFailed`, which means the ciphertext or its associated data was altered.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * try {
 *   const plaintext = await keyring.open(bytes, { aad: utf8('blob-7f3a') });
 * } catch (e) {
 *   if (e instanceof ShreddedError) console.info('expired and shredded: delete the leftover ciphertext');
 *   else throw e; // DecryptionFailed: altered
 * }
 * ```
 */
export class ShreddedError extends StorageError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ShreddedError';

  constructor() {
    super('the data has expired and its key has been destroyed');
  }
}

/**
 * Options of {@link createShreddingKeyring}.
 *
 * @example
 * ```ts
 * const options: ShreddingKeyringOptions = { adapter, provider, periodMs: 86_400_000, scope: 'tenant:acme' };
 * const keyring = createShreddingKeyring(options);
 * ```
 */
export interface ShreddingKeyringOptions {
  /**
   * Where the period keys live. Its backups must be kept for less than one period (or it must be
   * a store without long-lived backups): a backup of the keyring older than a period would bring
   * destroyed keys back.
   */
  readonly adapter: StorageAdapter;
  /** The crypto provider (random bytes, HKDF-SHA256, AES-256-GCM). */
  readonly provider: CryptoProvider;
  /** Length of one period in ms ({@link MIN_SHRED_PERIOD_MS}..{@link MAX_SHRED_PERIOD_MS}). */
  readonly periodMs: number;
  /** Table of the keys (default {@link DEFAULT_SHRED_TABLE}). */
  readonly table?: string;
  /**
   * Separates keyrings sharing a table (for example one per customer of the application): 0..128 characters of
   * `A-Z a-z 0-9 . _ - : @ + /`, default empty. Each scope has its own keys, and the scope is
   * bound into every ciphertext.
   */
  readonly scope?: string;
}

/**
 * Options of {@link ShreddingKeyring.seal}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const options: ShredSealOptions = { expiresAt: Date.now() + 30 * 86_400_000, aad: utf8('blob-7f3a') };
 * const sealed = await keyring.seal(bytes, options);
 * ```
 */
export interface ShredSealOptions {
  /** When the data expires (ms since the epoch); must be after the adapter's `now`. */
  readonly expiresAt: number;
  /** Associated data authenticated with the ciphertext (at most 64 KiB, default empty). */
  readonly aad?: Uint8Array;
}

/**
 * Options of {@link ShreddingKeyring.open}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const options: ShredOpenOptions = { aad: utf8('blob-7f3a') };
 * const plaintext = await keyring.open(bytes, options);
 * ```
 */
export interface ShredOpenOptions {
  /** The associated data given to `seal`. */
  readonly aad?: Uint8Array;
}

/**
 * A keyring of per-period keys; see {@link createShreddingKeyring}.
 *
 * @example
 * ```ts
 * const keyring: ShreddingKeyring = createShreddingKeyring({ adapter, provider, periodMs: 86_400_000 });
 * const sealed = await keyring.seal(bytes, { expiresAt: Date.now() + 7 * 86_400_000 });
 * ```
 */
export interface ShreddingKeyring {
  /** The period length in ms. */
  readonly periodMs: number;
  /**
   * The end of the period data expiring at `expiresAt` is sealed in (ms since the epoch): the
   * first multiple of {@link ShreddingKeyring.periodMs} at or after it. Throws `ValidationError`
   * when `expiresAt` is not a positive safe integer.
   *
   * @example
   * ```ts
   * const end = keyring.periodEnd(Date.now() + 86_400_000); // when that data's key is destroyed
   * ```
   */
  periodEnd(expiresAt: number): number;
  /**
   * Encrypts `plaintext` under the key of the period whose end is the first at or after
   * `expiresAt`, creating that key on first use. Rejects with `ValidationError` when `expiresAt`
   * is not after the adapter's time or `aad` exceeds {@link MAX_SHRED_AAD_BYTES}, with
   * `LimitError` when `plaintext` exceeds {@link MAX_SHRED_PLAINTEXT_BYTES}.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * const sealed = await keyring.seal(bytes, { expiresAt: Date.now() + 30 * 86_400_000, aad: utf8('blob-7f3a') });
   * ```
   */
  seal(plaintext: Uint8Array, options: ShredSealOptions): Promise<Uint8Array>;
  /**
   * Decrypts a sealed ciphertext. Rejects with {@link ShreddedError} when its period has ended
   * (the key is hidden or destroyed), with `DecryptionFailed` when anything was altered.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * const plaintext = await keyring.open(bytes, { aad: utf8('blob-7f3a') });
   * ```
   */
  open(ciphertext: Uint8Array, options?: ShredOpenOptions): Promise<Uint8Array>;
  /**
   * Deletes the keys of periods ended at or before `now` (default: the adapter's clock); resolves how many.
   *
   * @example
   * ```ts
   * const destroyed = await keyring.destroyExpiredKeys(); // from a scheduled job
   * ```
   */
  destroyExpiredKeys(options?: { readonly now?: number }): Promise<number>;
  /**
   * Deletes every key of this scope, live or not (erasing everything of that scope); resolves how many.
   *
   * @example
   * ```ts
   * const keys = await keyring.destroyAll(); // every ciphertext of this scope is now unreadable
   * ```
   */
  destroyAll(): Promise<number>;
}

function checkAad(value: unknown): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  const aad = checkBytes(value, 'aad');
  if (aad.length > MAX_SHRED_AAD_BYTES)
    throw new ValidationError('aad', `at most ${MAX_SHRED_AAD_BYTES} bytes`);
  return aad;
}

/** Copies the key out of a stored row value (version byte, then 32 bytes) and wipes the value. */
function keyFromRow(value: Uint8Array): Uint8Array {
  try {
    if (value.length !== 1 + PERIOD_KEY_LENGTH || value[0] !== SHRED_VERSION) {
      throw new StorageError('a shredding key row is malformed');
    }
    return value.slice(1);
  } finally {
    wipe(value);
  }
}

/**
 * Creates a crypto-shredding keyring over `adapter`. Keys are rows of `table`, partition the
 * UTF-8 scope, sort key the period end as 8 bytes big-endian, value `01 ‖ key`, `expiresAt` the
 * period end: reads hide them once the period has ended and `adapter.purgeExpired` (or
 * {@link ShreddingKeyring.destroyExpiredKeys}) deletes them.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const DAY = 86_400_000;
 * const keyring = createShreddingKeyring({ adapter, provider, periodMs: DAY });
 * const sealed = await keyring.seal(bytes, { expiresAt: Date.now() + 30 * DAY, aad: utf8('blob-7f3a') });
 * const again = await keyring.open(sealed, { aad: utf8('blob-7f3a') }); // until the period ends
 * await keyring.destroyExpiredKeys(); // from a scheduled job
 * ```
 */
export function createShreddingKeyring(options: ShreddingKeyringOptions): ShreddingKeyring {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('options', 'an object { adapter, provider, periodMs }');
  }
  const { adapter, provider } = options;
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.transaction !== 'function') {
    throw new ValidationError('adapter', 'a StorageAdapter');
  }
  if (typeof provider !== 'object' || provider === null || typeof provider.hkdfSha256 !== 'function') {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  const periodMs = options.periodMs;
  if (
    typeof periodMs !== 'number' ||
    !Number.isSafeInteger(periodMs) ||
    periodMs < MIN_SHRED_PERIOD_MS ||
    periodMs > MAX_SHRED_PERIOD_MS
  ) {
    throw new ValidationError('periodMs', `an integer in ${MIN_SHRED_PERIOD_MS}..${MAX_SHRED_PERIOD_MS}`);
  }
  const table = checkTable(options.table ?? DEFAULT_SHRED_TABLE);
  const scopeText = options.scope ?? '';
  if (typeof scopeText !== 'string' || !SCOPE_PATTERN.test(scopeText)) {
    throw new ValidationError('scope', '0..128 characters of A-Z a-z 0-9 . _ - : @ + /');
  }
  const scope = utf8(scopeText);

  async function recordKey(periodKey: Uint8Array, periodEnd: number, salt: Uint8Array) {
    try {
      return await provider.hkdfSha256(periodKey, salt, recordInfo(periodEnd, scope), 44);
    } finally {
      wipe(periodKey);
    }
  }

  return Object.freeze({
    periodMs,

    periodEnd(expiresAt: number): number {
      return shredPeriodEnd(expiresAt, periodMs);
    },

    async seal(plaintext: Uint8Array, sealOptions: ShredSealOptions): Promise<Uint8Array> {
      checkBytes(plaintext, 'plaintext');
      if (plaintext.length > MAX_SHRED_PLAINTEXT_BYTES) {
        throw new LimitError(`plaintext exceeds ${MAX_SHRED_PLAINTEXT_BYTES} bytes`);
      }
      if (typeof sealOptions !== 'object' || sealOptions === null) {
        throw new ValidationError('options', 'an object { expiresAt, aad? }');
      }
      const aad = checkAad(sealOptions.aad);
      const expiresAt = sealOptions.expiresAt;
      const end = shredPeriodEnd(expiresAt, periodMs);
      const sort = uintBE(end, 8);
      const periodKey = await adapter.transaction(async (tx) => {
        if (expiresAt <= tx.now) throw new ValidationError('expiresAt', 'a time after now');
        let row = await tx.get(table, scope, sort);
        if (row === undefined) {
          const candidate = provider.randomBytes(PERIOD_KEY_LENGTH);
          const value = concatBytes(Uint8Array.of(SHRED_VERSION), candidate);
          wipe(candidate);
          try {
            await tx.put(table, { partition: scope, sort, value, expiresAt: end }, { ifAbsent: true });
          } finally {
            wipe(value);
          }
          // Whoever won the race, every sealer uses the key that is stored now.
          row = await tx.get(table, scope, sort);
          if (row === undefined) throw new StorageError('the shredding key could not be stored');
        }
        return keyFromRow(row.value);
      });
      const salt = provider.randomBytes(SHRED_SALT_LENGTH);
      const header = encodeHeader(end, salt);
      const okm = await recordKey(periodKey, end, salt);
      try {
        const ct = await provider.aes256gcm.encrypt(
          okm.subarray(0, 32),
          okm.subarray(32, 44),
          plaintext,
          concatBytes(header, aad),
        );
        return concatBytes(header, ct);
      } finally {
        wipe(okm);
      }
    },

    async open(ciphertext: Uint8Array, openOptions: ShredOpenOptions = {}): Promise<Uint8Array> {
      checkBytes(ciphertext, 'ciphertext');
      if (typeof openOptions !== 'object' || openOptions === null) {
        throw new ValidationError('options', 'an object { aad? }');
      }
      const aad = checkAad(openOptions.aad);
      const end = readPeriodEnd(ciphertext);
      if (end === undefined) throw new DecryptionFailed();
      const { periodKey, now } = await adapter.transaction(
        async (tx) => {
          const row = await tx.get(table, scope, uintBE(end, 8));
          return { periodKey: row === undefined ? undefined : keyFromRow(row.value), now: tx.now };
        },
        { readOnly: true },
      );
      if (periodKey === undefined) {
        // Nothing can be authenticated without the key: a header naming an ended period is
        // reported as shredded, one naming a live period that has no key as altered.
        if (end <= now) throw new ShreddedError();
        throw new DecryptionFailed();
      }
      const header = ciphertext.subarray(0, SHRED_HEADER_LENGTH);
      const okm = await recordKey(periodKey, end, ciphertext.subarray(1 + 8, SHRED_HEADER_LENGTH));
      try {
        return await provider.aes256gcm.decrypt(
          okm.subarray(0, 32),
          okm.subarray(32, 44),
          ciphertext.subarray(SHRED_HEADER_LENGTH),
          concatBytes(header, aad),
        );
      } finally {
        wipe(okm);
      }
    },

    async destroyExpiredKeys(destroyOptions: { readonly now?: number } = {}): Promise<number> {
      const now = destroyOptions.now;
      if (now !== undefined && (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0)) {
        throw new ValidationError('now', 'a non-negative safe integer (ms since the epoch)');
      }
      const progress = await adapter.purgeExpired(
        now === undefined ? { tables: [table] } : { tables: [table], now },
      );
      return progress.deleted;
    },

    async destroyAll(): Promise<number> {
      return adapter.transaction((tx) => tx.deletePartition(table, scope));
    },
  });
}
