/**
 * Where the data key of an encrypted store comes from: on a client, the PIN-wrapped key record
 * (`wrapDataKey` / `unwrapDataKey` of `@cloister/crypto`); on a server, a 32-byte organisation
 * key from configuration, from which a store key is derived with a labelled HKDF.
 *
 * @module
 */
import {
  type CryptoProvider,
  checkBytes,
  concatBytes,
  decodeWrappedKey,
  uintBE,
  unwrapDataKey,
  utf8,
  ValidationError,
  type WrappedKeyRecord,
} from '@cloister/crypto';

/** HKDF-SHA256 info prefix of a server store's data key (then the length-prefixed context). */
const INFO_SERVER_DATA_KEY = utf8('cloister/storage/v1/server-data-key');
/** Longest context accepted by {@link deriveServerDataKey}, in UTF-8 bytes. */
const MAX_CONTEXT_BYTES = 255;

/**
 * Opens a client's data key from its PIN-wrapped record (an encoded record or a decoded one).
 * A wrong PIN or an altered record throws `WrongPin`; bytes that are not a record throw
 * `DecodeError`. The caller passes the key to {@link createEncryptedAdapter} and then `wipe`s it.
 *
 * @example
 * ```ts
 * import { encodeWrappedKey, getProvider, wipe, wrapDataKey } from '@cloister/crypto';
 * import { createEncryptedAdapter, createMemoryAdapter, openClientDataKey } from '@cloister/storage';
 * const provider = await getProvider();
 * // Enrolment: a fresh data key, wrapped under the user's PIN; keep `wrapped` outside the store.
 * const { dataKey: fresh, record } = await wrapDataKey(provider, { pin: '482916' });
 * const wrapped = encodeWrappedKey(record);
 * // Every start: the PIN opens the key, the key opens the store.
 * const dataKey = await openClientDataKey({ provider, wrapped, pin: '482916' });
 * const db = createEncryptedAdapter(createMemoryAdapter(), { dataKey, provider });
 * await db.ready();
 * wipe(dataKey, fresh);
 * ```
 */
export async function openClientDataKey(args: {
  readonly provider: CryptoProvider;
  readonly wrapped: Uint8Array | WrappedKeyRecord;
  readonly pin: string;
}): Promise<Uint8Array> {
  if (typeof args !== 'object' || args === null) throw new ValidationError('args', 'an object');
  const record = args.wrapped instanceof Uint8Array ? decodeWrappedKey(args.wrapped) : args.wrapped;
  return unwrapDataKey(args.provider, record, args.pin);
}

/**
 * Derives a server store's data key from the organisation's 32-byte storage key (supplied in
 * configuration, never stored next to the data):
 * `HKDF-SHA256(ikm = organisationKey, salt = empty,
 * info = "cloister/storage/v1/server-data-key" ‖ u16be(len) ‖ context, 32)`.
 * Distinct `context` strings (such as an account id or `"main"`) give independent keys from one
 * organisation key. The caller should `wipe` the result once the adapter is {@link EncryptedAdapterHandle.ready}.
 *
 * @example
 * ```ts
 * import { fromHex, getProvider } from '@cloister/crypto';
 * import { createEncryptedAdapter, deriveServerDataKey } from '@cloister/storage';
 * const provider = await getProvider();
 * const organisationKey = fromHex(process.env.CLOISTER_STORAGE_KEY ?? '');
 * const dataKey = await deriveServerDataKey({ provider, organisationKey, context: 'main' });
 * const db = createEncryptedAdapter(adapter, { dataKey, provider, orderedTables: ['queue'] });
 * ```
 */
export async function deriveServerDataKey(args: {
  readonly provider: CryptoProvider;
  readonly organisationKey: Uint8Array;
  readonly context?: string;
}): Promise<Uint8Array> {
  if (typeof args !== 'object' || args === null) throw new ValidationError('args', 'an object');
  const { provider } = args;
  if (typeof provider !== 'object' || provider === null || typeof provider.hkdfSha256 !== 'function') {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  const ikm = checkBytes(args.organisationKey, 'organisationKey', 32);
  const context = args.context ?? '';
  if (typeof context !== 'string') throw new ValidationError('context', 'a string');
  const contextBytes = utf8(context);
  if (contextBytes.length > MAX_CONTEXT_BYTES) {
    throw new ValidationError('context', `a string of at most ${MAX_CONTEXT_BYTES} UTF-8 bytes`);
  }
  const info = concatBytes(INFO_SERVER_DATA_KEY, uintBE(contextBytes.length, 2), contextBytes);
  return provider.hkdfSha256(ikm, new Uint8Array(0), info, 32);
}
