/**
 * The fingerprint of an organisation's archive public key, as users see it ("archiving is on,
 * key …", `spec/organisation-client.md` §5): `cloister-archive:v1:` and the base64url (no padding)
 * of SHA-256(`"cloister/v1/org/archive-key-fingerprint"` ‖ publicKey), where `publicKey` is the
 * 32-byte X25519 key of the tenant layer's `archive` feature. Users and auditors compare it with
 * the fingerprint the auditors published when they made the key.
 *
 * @module
 */
import { type CryptoProvider, concatBytes, utf8 } from '@cloister/crypto';
import { checkFixed, toBase64Url } from './_codec.js';

/**
 * SHA-256 input prefix of an archive key fingerprint.
 *
 * @example
 * ```ts
 * import { ARCHIVE_KEY_FINGERPRINT_LABEL } from '@cloister/protocol';
 * console.log(ARCHIVE_KEY_FINGERPRINT_LABEL); // "cloister/v1/org/archive-key-fingerprint"
 * ```
 */
export const ARCHIVE_KEY_FINGERPRINT_LABEL = 'cloister/v1/org/archive-key-fingerprint';

/**
 * Text prefix of an archive key fingerprint (then 43 base64url characters of the 32-byte digest).
 *
 * @example
 * ```ts
 * import { ARCHIVE_KEY_FINGERPRINT_PREFIX } from '@cloister/protocol';
 * console.log(ARCHIVE_KEY_FINGERPRINT_PREFIX); // "cloister-archive:v1:"
 * ```
 */
export const ARCHIVE_KEY_FINGERPRINT_PREFIX = 'cloister-archive:v1:';

const LABEL = utf8(ARCHIVE_KEY_FINGERPRINT_LABEL);

/**
 * The fingerprint of a 32-byte archive public key (X25519) as text: `cloister-archive:v1:` and the
 * base64url of SHA-256(`"cloister/v1/org/archive-key-fingerprint"` ‖ publicKey). Another length
 * is a `ValidationError` (field `archivePublicKey`).
 *
 * @example
 * ```ts
 * import { archiveKeyFingerprint } from '@cloister/protocol';
 * const archive = await provider.x25519.generateKeyPair();
 * const text = await archiveKeyFingerprint(provider, archive.publicKey); // "cloister-archive:v1:…"
 * ```
 */
export async function archiveKeyFingerprint(
  provider: CryptoProvider,
  archivePublicKey: Uint8Array,
): Promise<string> {
  const key = checkFixed(archivePublicKey, 'archivePublicKey', 32);
  return ARCHIVE_KEY_FINGERPRINT_PREFIX + toBase64Url(await provider.sha256(concatBytes(LABEL, key)));
}
