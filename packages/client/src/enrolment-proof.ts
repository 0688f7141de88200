/**
 * The enrolment proof a device signs (`spec/server-enrolment.md` §3): it shows the server that
 * whoever presents the token holds the identity signing key being registered.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  type PublicIdentity,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { fromBase64Url } from './_base64.js';

/** The label the proof starts with. */
export const ENROL_PROOF_LABEL = 'cloister/server/v1/enrol-proof';

/**
 * Signs `label ‖ SHA-256(token bytes) ‖ signing key ‖ DH key` with the identity signing key.
 *
 * @example
 * ```ts
 * const proof = await signEnrolmentProofBytes(provider, identity.signingKeyPair.privateKey, token, toPublicIdentity(identity));
 * ```
 */
export async function signEnrolmentProofBytes(
  provider: CryptoProvider,
  signingPrivateKey: Uint8Array,
  token: string,
  identity: Pick<PublicIdentity, 'signingKey' | 'dhKey'>,
): Promise<Uint8Array> {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    throw new ValidationError('token', 'a 43-character base64url token');
  }
  const tokenBytes = fromBase64Url(token);
  if (tokenBytes === undefined) throw new ValidationError('token', 'a 43-character base64url token');
  const digest = await provider.sha256(tokenBytes);
  tokenBytes.fill(0);
  const message = concatBytes(utf8(ENROL_PROOF_LABEL), digest, identity.signingKey, identity.dhKey);
  return provider.ed25519.sign(signingPrivateKey, message);
}
