/**
 * The byte-level construction of encryption at rest (`spec/storage-encryption.md`): key
 * derivation, keyed hashes of partition and sort keys, and the sealed value layout. Internal:
 * the wrapper in `adapter.ts` is the only user.
 *
 * @module
 */
import { type CryptoProvider, concatBytes, DecryptionFailed, uintBE, utf8, wipe } from '@cloister/crypto';

/** HKDF-SHA256 info of the partition-hash key. */
const INFO_PARTITION_KEY = utf8('cloister/storage/v1/key/partition');
/** HKDF-SHA256 info of the sort-hash key. */
const INFO_SORT_KEY = utf8('cloister/storage/v1/key/sort');
/** HKDF-SHA256 info of the value (AEAD) key. */
const INFO_VALUE_KEY = utf8('cloister/storage/v1/key/value');
/** HMAC-SHA256 input prefix of a stored partition. */
const LABEL_PARTITION = utf8('cloister/storage/v1/partition');
/** HMAC-SHA256 input prefix of a stored sort key (non-ordered tables). */
const LABEL_SORT = utf8('cloister/storage/v1/sort');
/** XChaCha20-Poly1305 associated data prefix of a sealed value. */
const LABEL_VALUE = utf8('cloister/storage/v1/value');

/** Format version, the first byte of every sealed value. */
export const VALUE_VERSION = 0x01;
/** XChaCha20-Poly1305 nonce length. */
export const NONCE_LENGTH = 24;
/** Poly1305 tag length. */
export const TAG_LENGTH = 16;
/**
 * Bytes a sealed value adds to the caller's value, not counting the sort key it carries:
 * version (1) + nonce (24) + sort length (2) + tag (16).
 */
export const SEAL_OVERHEAD = 1 + NONCE_LENGTH + 2 + TAG_LENGTH;

const EMPTY = new Uint8Array(0);

/** The three keys derived from a data key. */
export interface StoreKeys {
  readonly partition: Uint8Array;
  readonly sort: Uint8Array;
  readonly value: Uint8Array;
}

/** Derives the store keys from a 32-byte data key (HKDF-SHA256, empty salt, labelled info). */
export async function deriveStoreKeys(provider: CryptoProvider, dataKey: Uint8Array): Promise<StoreKeys> {
  const [partition, sort, value] = await Promise.all([
    provider.hkdfSha256(dataKey, EMPTY, INFO_PARTITION_KEY, 32),
    provider.hkdfSha256(dataKey, EMPTY, INFO_SORT_KEY, 32),
    provider.hkdfSha256(dataKey, EMPTY, INFO_VALUE_KEY, 32),
  ]);
  return { partition, sort, value };
}

/** Overwrites the store keys with zeros. */
export function wipeStoreKeys(keys: StoreKeys): void {
  wipe(keys.partition, keys.sort, keys.value);
}

/** `u16be(length) ‖ bytes`; every length here is at most 512. */
function lp(bytes: Uint8Array): Uint8Array {
  return concatBytes(uintBE(bytes.length, 2), bytes);
}

/** The stored partition: HMAC-SHA256(kPart, label ‖ lp(table) ‖ partition). */
export function hashPartition(
  provider: CryptoProvider,
  keys: StoreKeys,
  table: string,
  partition: Uint8Array,
): Promise<Uint8Array> {
  return provider.hmacSha256(keys.partition, [LABEL_PARTITION, lp(utf8(table)), partition]);
}

/** The stored sort key of a non-ordered table: HMAC-SHA256(kSort, label ‖ lp(table) ‖ lp(partition) ‖ sort). */
export function hashSort(
  provider: CryptoProvider,
  keys: StoreKeys,
  table: string,
  partition: Uint8Array,
  sort: Uint8Array,
): Promise<Uint8Array> {
  return provider.hmacSha256(keys.sort, [LABEL_SORT, lp(utf8(table)), lp(partition), sort]);
}

/** Where a sealed value belongs; all of it is bound into the associated data. */
export interface SealContext {
  readonly table: string;
  /** The stored (hashed) partition. */
  readonly partition: Uint8Array;
  /** The stored sort key (hashed, or the caller's for ordered tables). */
  readonly sort: Uint8Array;
  readonly expiresAt: number | null;
}

/**
 * The associated data: label ‖ version ‖ lp(table) ‖ lp(stored partition) ‖ lp(stored sort) ‖
 * expiry, where expiry is `0x00 ‖ 8 zero bytes` for never and `0x01 ‖ u64be(expiresAt)` otherwise.
 */
function associatedData(ctx: SealContext): Uint8Array {
  const expiry =
    ctx.expiresAt === null ? new Uint8Array(9) : concatBytes(Uint8Array.of(1), uintBE(ctx.expiresAt, 8));
  return concatBytes(
    LABEL_VALUE,
    Uint8Array.of(VALUE_VERSION),
    lp(utf8(ctx.table)),
    lp(ctx.partition),
    lp(ctx.sort),
    expiry,
  );
}

/** Seals `lp(originalSort) ‖ value`: `version ‖ nonce ‖ XChaCha20-Poly1305(...) ‖ tag`. */
export async function sealValue(
  provider: CryptoProvider,
  keys: StoreKeys,
  ctx: SealContext,
  originalSort: Uint8Array,
  value: Uint8Array,
): Promise<Uint8Array> {
  const nonce = provider.randomBytes(NONCE_LENGTH);
  const plaintext = concatBytes(lp(originalSort), value);
  try {
    const sealed = await provider.xchacha20poly1305.encrypt(
      keys.value,
      nonce,
      plaintext,
      associatedData(ctx),
    );
    return concatBytes(Uint8Array.of(VALUE_VERSION), nonce, sealed);
  } finally {
    wipe(plaintext);
  }
}

/** An opened value: the caller's sort key and value. */
export interface OpenedValue {
  readonly sort: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * Opens a sealed value found at `ctx`. Every failure (short input, unknown version, bad tag,
 * malformed plaintext) throws the same `DecryptionFailed`.
 */
export async function openValue(
  provider: CryptoProvider,
  keys: StoreKeys,
  ctx: SealContext,
  stored: Uint8Array,
): Promise<OpenedValue> {
  if (stored.length < SEAL_OVERHEAD || stored[0] !== VALUE_VERSION) throw new DecryptionFailed();
  const nonce = stored.subarray(1, 1 + NONCE_LENGTH);
  const plaintext = await provider.xchacha20poly1305.decrypt(
    keys.value,
    nonce,
    stored.subarray(1 + NONCE_LENGTH),
    associatedData(ctx),
  );
  const sortLength = ((plaintext[0] ?? 0) << 8) | (plaintext[1] ?? 0);
  if (plaintext.length < 2 + sortLength) {
    wipe(plaintext);
    throw new DecryptionFailed();
  }
  const opened = { sort: plaintext.slice(2, 2 + sortLength), value: plaintext.slice(2 + sortLength) };
  wipe(plaintext);
  return opened;
}
