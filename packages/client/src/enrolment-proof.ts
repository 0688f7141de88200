/**
 * Signing the enrolment proof (`spec/server-enrolment.md` §3) on the device, over the message
 * `enrolmentProofMessage` of `@cloister/protocol` defines for both sides.
 *
 * @module
 */
import { type CryptoProvider, type PublicIdentity, ValidationError } from '@cloister/crypto';
import { enrolmentProofMessage } from '@cloister/protocol';
import { fromBase64Url } from './_base64.js';

/**
 * Signs the enrolment proof for `token` (43 characters of base64url) with the identity signing key.
 *
 * @example
 * ```ts
 * import { toPublicIdentity } from '@cloister/crypto';
 * const { token } = parseEnrolmentCode(code);
 * const proof = await signEnrolmentProofBytes(provider, identity.signingKeyPair.privateKey, token, toPublicIdentity(identity));
 * ```
 */
export async function signEnrolmentProofBytes(
  provider: CryptoProvider,
  signingPrivateKey: Uint8Array,
  token: string,
  identity: Pick<PublicIdentity, 'signingKey' | 'dhKey'>,
): Promise<Uint8Array> {
  const tokenBytes = typeof token === 'string' && token.length === 43 ? fromBase64Url(token) : undefined;
  if (tokenBytes === undefined) throw new ValidationError('token', 'a 43-character base64url token');
  try {
    return await provider.ed25519.sign(
      signingPrivateKey,
      await enrolmentProofMessage(provider, tokenBytes, identity),
    );
  } finally {
    tokenBytes.fill(0);
  }
}
