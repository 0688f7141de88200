/**
 * `POST /v1/server-key-proof` (no authentication): the server signs a client's fresh nonce with
 * its TLS private key, so that a client that cannot see the TLS certificate (a browser) can still
 * check the server's public key against its pin before sending a credential or a body.
 * See `spec/client-browser-transport.md`.
 *
 * The signed message is `utf8("cloister/v1/server-key-proof") ‖ nonce ‖ SHA-256(spki)`. Its
 * first byte is `c`, so it can never be mistaken for a TLS 1.3 CertificateVerify input (which
 * starts with 64 spaces): the endpoint is not a signing oracle for TLS.
 *
 * @module
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import { concatBytes, UnsupportedError, utf8, ValidationError } from '@cloister/crypto';
import { z } from 'zod';
import type { RouteModule } from '../context.js';
import type { TlsMaterial } from '../tls.js';

/**
 * The label in front of every server-key proof (`cloister/v1/server-key-proof`).
 *
 * @example
 * ```ts
 * import { createHash, randomBytes } from 'node:crypto';
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const nonce = new Uint8Array(randomBytes(32)); // sent as {"nonce": base64url}
 * const proof = (await response.json()) as ServerKeyProof;
 * const spkiDigest = new Uint8Array(createHash('sha256').update(Buffer.from(proof.spki, 'base64url')).digest());
 * const message = concatBytes(utf8(SERVER_KEY_PROOF_LABEL), nonce, spkiDigest); // what `signature` signs
 * ```
 */
export const SERVER_KEY_PROOF_LABEL = 'cloister/v1/server-key-proof';

/** Bytes of the client's nonce. */
const NONCE_BYTES = 32;

/**
 * The signature algorithms of a proof, one per supported TLS key type.
 *
 * @example
 * ```ts
 * const algorithm: ServerKeyProofAlgorithm = 'ecdsa-p256-sha256';
 * ```
 */
export type ServerKeyProofAlgorithm =
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ed25519'
  | 'rsa-pss-sha256';

/**
 * The body of a `POST /v1/server-key-proof` answer; every byte field is unpadded base64url.
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 * const proof = (await response.json()) as ServerKeyProof;
 * const pin = `sha256/${createHash('sha256').update(Buffer.from(proof.spki, 'base64url')).digest('base64')}`;
 * // compare `pin` with the configured pin, then verify `signature` with `algorithm` over the nonce
 * ```
 */
export interface ServerKeyProof {
  /** The DER SubjectPublicKeyInfo of the TLS certificate's key (what the pin hashes). */
  readonly spki: string;
  /** The signature algorithm, given by the TLS key's type. */
  readonly algorithm: ServerKeyProofAlgorithm;
  /** The signature over `label ‖ nonce ‖ SHA-256(spki)`; ECDSA as IEEE P1363 `r ‖ s`. */
  readonly signature: string;
}

const bodySchema = z
  .object({
    nonce: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, `base64url of ${NONCE_BYTES} bytes`)
      .transform((text, zctx) => {
        const out = new Uint8Array(Buffer.from(text, 'base64url'));
        if (out.length !== NONCE_BYTES || Buffer.from(out).toString('base64url') !== text) {
          zctx.addIssue({ code: 'custom', message: `canonical base64url of ${NONCE_BYTES} bytes` });
          return z.NEVER;
        }
        return out;
      }),
  })
  .strict();

/** Which algorithm a key signs with, or undefined for a key type the proof does not support. */
function algorithmOf(key: KeyObject): ServerKeyProofAlgorithm | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  // Plain RSA keys only: an `rsa-pss` SPKI (its own OID) is not importable by WebCrypto.
  if (type === 'rsa') return 'rsa-pss-sha256';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256-sha256';
    if (curve === 'secp384r1') return 'ecdsa-p384-sha384';
  }
  return undefined;
}

function signWith(algorithm: ServerKeyProofAlgorithm, key: KeyObject, message: Uint8Array): Uint8Array {
  switch (algorithm) {
    case 'ed25519':
      return new Uint8Array(sign(null, message, key));
    case 'ecdsa-p256-sha256':
      return new Uint8Array(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
    case 'ecdsa-p384-sha384':
      return new Uint8Array(sign('sha384', message, { key, dsaEncoding: 'ieee-p1363' }));
    case 'rsa-pss-sha256':
      return new Uint8Array(
        sign('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      );
  }
}

/**
 * Creates the route module answering `POST /v1/server-key-proof` with a signature by the TLS
 * key. The certificate (the first one of `tls.cert`) and the private key must belong together:
 * otherwise this throws `ValidationError` (field `tls.key`). A key type the proof does not support
 * (anything but ECDSA P-256/P-384, Ed25519 and RSA) does not stop the server: the route then
 * answers 501 `ERR_UNSUPPORTED` and only pinning clients that see the TLS key (Node) can connect.
 *
 * @example
 * ```ts
 * const material = await loadOrCreateSelfSigned('./cloister-data');
 * await createServerKeyProofRoutes(material)(app, ctx); // createServer registers it by itself
 * // POST /v1/server-key-proof {"nonce":"<43 chars>"} → {"spki":"…","algorithm":"ecdsa-p256-sha256","signature":"…"}
 * ```
 */
export function createServerKeyProofRoutes(tls: TlsMaterial): RouteModule {
  if (typeof tls !== 'object' || tls === null) throw new ValidationError('tls', 'a certificate and a key');
  let certKey: KeyObject;
  try {
    certKey = new X509Certificate(tls.cert).publicKey;
  } catch {
    throw new ValidationError('tls.cert', 'a PEM certificate');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(tls.key);
  } catch {
    throw new ValidationError('tls.key', 'a PEM private key');
  }
  const spki = new Uint8Array(certKey.export({ type: 'spki', format: 'der' }));
  const ownSpki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  if (!Buffer.from(spki).equals(Buffer.from(ownSpki))) {
    throw new ValidationError('tls.key', "the private key of the certificate's public key");
  }
  const spkiDigest = new Uint8Array(createHash('sha256').update(spki).digest());
  const spkiText = Buffer.from(spki).toString('base64url');
  const algorithm = algorithmOf(privateKey);
  const label = utf8(SERVER_KEY_PROOF_LABEL);

  return (app) => {
    app.post('/v1/server-key-proof', async (request, reply) => {
      const { nonce } = bodySchema.parse(request.body);
      if (algorithm === undefined) {
        throw new UnsupportedError('the server key type has no server-key proof');
      }
      const signature = signWith(algorithm, privateKey, concatBytes(label, nonce, spkiDigest));
      const proof: ServerKeyProof = {
        spki: spkiText,
        algorithm,
        signature: Buffer.from(signature).toString('base64url'),
      };
      // A proof answers one nonce; no cache may keep it.
      void reply.header('cache-control', 'no-store');
      return proof;
    });
  };
}
