/**
 * The enrolment proof of possession (`spec/server-enrolment.md` §3): the message a device signs
 * with its identity signing key when it redeems an enrolment token, so that the server knows that
 * whoever presents the token holds the key being registered. One definition for the device that
 * signs it and the server that checks it.
 *
 * @module
 */
import {
  type CryptoProvider,
  checkBytes,
  concatBytes,
  type PublicIdentity,
  utf8,
  ValidationError,
} from '@cloister/crypto';

/**
 * Ed25519 signature input prefix of an enrolment proof of possession.
 *
 * @example
 * ```ts
 * import { ENROL_PROOF_LABEL } from '@cloister/protocol';
 * console.log(ENROL_PROOF_LABEL); // "cloister/server/v1/enrol-proof"
 * ```
 */
export const ENROL_PROOF_LABEL = 'cloister/server/v1/enrol-proof';

/**
 * The bytes an enrolment proof signs:
 * `"cloister/server/v1/enrol-proof" ‖ SHA-256(token bytes) ‖ identity signing key ‖ identity DH key`,
 * from the 32 raw token bytes (the token's base64url decoded). `ValidationError` names a field of
 * the wrong length.
 *
 * @example
 * ```ts
 * import { toPublicIdentity } from '@cloister/crypto';
 * import { enrolmentProofMessage } from '@cloister/protocol';
 * const tokenBytes = Buffer.from(enrolmentToken, 'base64url'); // 32 bytes
 * const message = await enrolmentProofMessage(provider, tokenBytes, toPublicIdentity(identity));
 * const proof = await provider.ed25519.sign(identity.signingKeyPair.privateKey, message);
 * ```
 */
export async function enrolmentProofMessage(
  provider: CryptoProvider,
  tokenBytes: Uint8Array,
  identity: Pick<PublicIdentity, 'signingKey' | 'dhKey'>,
): Promise<Uint8Array> {
  checkBytes(tokenBytes, 'token', 32);
  if (typeof identity !== 'object' || identity === null) throw new ValidationError('identity', 'an object');
  const signingKey = checkBytes(identity.signingKey, 'identity.signingKey', 32);
  const dhKey = checkBytes(identity.dhKey, 'identity.dhKey', 32);
  const digest = await provider.sha256(tokenBytes);
  return concatBytes(utf8(ENROL_PROOF_LABEL), digest, signingKey, dhKey);
}
