/**
 * The organisation root key and its fingerprint (`spec/organisation.md` §2). The root is an
 * Ed25519 key pair generated on an owner's machine; it certifies administrator keys and nothing
 * else. Clients pin its public key at enrolment from a source that does not rely on the server
 * alone: the enrolment token and the MDM configuration carry its fingerprint as text,
 * `cloister-root:v1:<base64url of 32 bytes>`, the SHA-256 of
 * `"cloister/v1/org/root-fingerprint" ‖ u8 suite (1 = Ed25519) ‖ publicKey`.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  equalBytes,
  type KeyPair,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { checkFixed, fromBase64Url, toBase64Url } from './_codec.js';

/**
 * SHA-256 input prefix of a root fingerprint.
 *
 * @example
 * ```ts
 * import { ROOT_FINGERPRINT_LABEL } from '@cloister/protocol';
 * console.log(ROOT_FINGERPRINT_LABEL); // "cloister/v1/org/root-fingerprint"
 * ```
 */
export const ROOT_FINGERPRINT_LABEL = 'cloister/v1/org/root-fingerprint';

/**
 * Text prefix of a root fingerprint (then 43 base64url characters of the 32-byte digest).
 *
 * @example
 * ```ts
 * console.log(ROOT_FINGERPRINT_PREFIX); // "cloister-root:v1:"
 * ```
 */
export const ROOT_FINGERPRINT_PREFIX = 'cloister-root:v1:';

/**
 * The signature suite byte of every organisation certificate and object. 1 = Ed25519, the only
 * suite of this version; 2 is reserved for Ed25519 + ML-DSA-65 (both signatures required,
 * `spec/organisation.md` §8).
 *
 * @example
 * ```ts
 * console.log(ORGANISATION_SUITE_ED25519); // 1
 * ```
 */
export const ORGANISATION_SUITE_ED25519 = 1;

const LABEL = utf8(ROOT_FINGERPRINT_LABEL);

/**
 * Generates an organisation root key pair (Ed25519). Run it on an owner's machine; the private
 * key never goes to the server in a form it can use.
 *
 * @example
 * ```ts
 * import { generateOrganisationRoot } from '@cloister/protocol';
 * const root = await generateOrganisationRoot(provider);
 * ```
 */
export function generateOrganisationRoot(provider: CryptoProvider): Promise<KeyPair> {
  return provider.ed25519.generateKeyPair();
}

/**
 * The fingerprint of a root public key as text an enrolment token or an MDM configuration can
 * carry: `cloister-root:v1:` and the base64url (no padding) of
 * SHA-256(`"cloister/v1/org/root-fingerprint"` ‖ 0x01 ‖ rootPublicKey).
 *
 * @example
 * ```ts
 * import { rootFingerprint } from '@cloister/protocol';
 * const text = await rootFingerprint(provider, root.publicKey); // "cloister-root:v1:…"
 * ```
 */
export async function rootFingerprint(provider: CryptoProvider, rootPublicKey: Uint8Array): Promise<string> {
  const key = checkFixed(rootPublicKey, 'rootPublicKey', 32);
  const digest = await provider.sha256(concatBytes(LABEL, Uint8Array.of(ORGANISATION_SUITE_ED25519), key));
  return ROOT_FINGERPRINT_PREFIX + toBase64Url(digest);
}

/**
 * Parses a root fingerprint's text and returns its 32-byte digest. Refuses (`ValidationError`,
 * field `fingerprint`) another prefix or version, a length other than 43 characters after the
 * prefix, characters outside base64url, padding, and non-canonical base64url.
 *
 * @example
 * ```ts
 * import { parseRootFingerprint } from '@cloister/protocol';
 * const digest = parseRootFingerprint(pinnedFingerprint); // 32 bytes
 * ```
 */
export function parseRootFingerprint(text: string): Uint8Array {
  const expected = `${ROOT_FINGERPRINT_PREFIX} and 43 characters of canonical base64url`;
  if (typeof text !== 'string' || !text.startsWith(ROOT_FINGERPRINT_PREFIX)) {
    throw new ValidationError('fingerprint', expected);
  }
  const tail = text.slice(ROOT_FINGERPRINT_PREFIX.length);
  const digest = tail.length === 43 ? fromBase64Url(tail) : undefined;
  if (digest?.length !== 32) throw new ValidationError('fingerprint', expected);
  return digest;
}

/**
 * Compares two root fingerprints (texts or parsed digests) in constant time over their digests.
 * A text that does not parse is a `ValidationError`.
 *
 * @example
 * ```ts
 * import { equalRootFingerprints, rootFingerprint } from '@cloister/protocol';
 * // rootPublicKey: the root the server served; pinnedFingerprint: the one from the enrolment code
 * if (!equalRootFingerprints(await rootFingerprint(provider, rootPublicKey), pinnedFingerprint)) {
 *   throw new Error('the server serves another organisation root');
 * }
 * ```
 */
export function equalRootFingerprints(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? parseRootFingerprint(a) : checkFixed(a, 'a', 32);
  const y = typeof b === 'string' ? parseRootFingerprint(b) : checkFixed(b, 'b', 32);
  return equalBytes(x, y);
}

/**
 * Whether `rootPublicKey` has the fingerprint `expected` (constant-time): how a client checks the
 * root public key it is given against the fingerprint from its enrolment token before pinning it.
 *
 * @example
 * ```ts
 * import { rootMatchesFingerprint } from '@cloister/protocol';
 * if (!(await rootMatchesFingerprint(provider, rootPublicKey, pinnedFingerprint))) {
 *   throw new Error('the server serves another organisation root');
 * }
 * ```
 */
export async function rootMatchesFingerprint(
  provider: CryptoProvider,
  rootPublicKey: Uint8Array,
  expected: string,
): Promise<boolean> {
  const want = parseRootFingerprint(expected);
  return equalRootFingerprints(await rootFingerprint(provider, rootPublicKey), want);
}
