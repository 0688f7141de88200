/**
 * The payload of a `certificate-delegation` object (`spec/organisation.md` §6.6): an owner lets
 * the server's certificate-signing key issue sender certificates for a bounded time. A recipient
 * trusts a sender certificate only when a delegation it verified names the certificate's signing
 * key and the certificate's issue time falls in `[notBeforeMs, notAfterMs)`.
 *
 * ```
 * 32   serverSigningPublicKey       (Ed25519)
 * u64  notBeforeMs
 * u64  notAfterMs                   (notBeforeMs < notAfterMs ≤ notBeforeMs + 7 days)
 * ```
 *
 * @module
 */
import { concatBytes, equalBytes, uintBE, ValidationError } from '@cloister/crypto';
import { asDecode, checkFixed, checkUint, type Reader } from './_codec.js';

/**
 * Longest window of one delegation: 7 days.
 *
 * @example
 * ```ts
 * console.log(MAX_DELEGATION_MS / 86_400_000); // 7
 * ```
 */
export const MAX_DELEGATION_MS = 7 * 86_400_000;

/**
 * The payload of a `certificate-delegation` object.
 *
 * @example
 * ```ts
 * const notBeforeMs = Date.now();
 * const payload: CertificateDelegationPayload = {
 *   serverSigningPublicKey: serverSigningKey, notBeforeMs, notAfterMs: notBeforeMs + MAX_DELEGATION_MS,
 * };
 * ```
 */
export interface CertificateDelegationPayload {
  /** The server's certificate-signing Ed25519 public key (32 bytes) the delegation names. */
  readonly serverSigningPublicKey: Uint8Array;
  /** Start of the window, ms since the epoch (inclusive). */
  readonly notBeforeMs: number;
  /** End of the window, ms since the epoch (exclusive): at most 7 days after `notBeforeMs`. */
  readonly notAfterMs: number;
}

function check(p: CertificateDelegationPayload): void {
  if (typeof p !== 'object' || p === null) throw new ValidationError('payload', 'an object');
  checkFixed(p.serverSigningPublicKey, 'payload.serverSigningPublicKey', 32);
  const from = checkUint(p.notBeforeMs, 'payload.notBeforeMs', 0);
  const to = checkUint(p.notAfterMs, 'payload.notAfterMs', 0);
  if (to <= from || to - from > MAX_DELEGATION_MS) {
    throw new ValidationError('payload.notAfterMs', 'after notBeforeMs, by at most 7 days');
  }
}

/** Encodes a delegation payload. */
export function encodeDelegation(p: CertificateDelegationPayload): Uint8Array {
  check(p);
  return concatBytes(p.serverSigningPublicKey, uintBE(p.notBeforeMs, 8), uintBE(p.notAfterMs, 8));
}

/** Decodes a delegation payload. */
export function decodeDelegation(r: Reader): CertificateDelegationPayload {
  const payload = {
    serverSigningPublicKey: r.take(32, 'payload.serverSigningPublicKey'),
    notBeforeMs: r.uint(8, 'payload.notBeforeMs'),
    notAfterMs: r.uint(8, 'payload.notAfterMs'),
  };
  asDecode(() => check(payload));
  return payload;
}

/**
 * Whether a verified delegation covers a sender certificate signed by `signingKey` at `atMs`.
 *
 * @example
 * ```ts
 * import { delegationCovers } from '@cloister/protocol';
 * const object = decodeOrganisationObject(bytes); // verified with verifyOrganisationObject
 * if (object.kind === 'certificate-delegation' && !delegationCovers(object.payload, serverSigningKey, Date.now())) {
 *   throw new Error('the sender certificate is not delegated');
 * }
 * ```
 */
export function delegationCovers(
  delegation: CertificateDelegationPayload,
  signingKey: Uint8Array,
  atMs: number,
): boolean {
  return (
    equalBytes(delegation.serverSigningPublicKey, signingKey) &&
    atMs >= delegation.notBeforeMs &&
    atMs < delegation.notAfterMs
  );
}
