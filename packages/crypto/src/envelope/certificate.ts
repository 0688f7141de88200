/**
 * Sender certificates (spec/envelope.md §2): a tenant-signed statement that a device with the
 * given identity keys belongs to a user, a tenant and a set of pools until an expiry time. It
 * travels inside the sealed envelope, so only the recipient learns who sent a message.
 */
import { checkBytes, checkInt, concatBytes, equalBytes, uintBE, utf8 } from '../bytes.js';
import { DecodeError, InvalidKeyError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { decodeUtf8, Reader } from './_reader.js';

/**
 * Ed25519 signature input prefix of a sender certificate: the ASCII bytes of
 * `"cloister/v1/sender-certificate"`, no terminator.
 *
 * @example
 * ```ts
 * const encoded = encodeSenderCertificate(certificate);
 * const signedBytes = concatBytes(SENDER_CERTIFICATE_LABEL, encoded.subarray(0, encoded.length - 64));
 * await provider.ed25519.verify(tenant.publicKey, signedBytes, certificate.signature); // true
 * ```
 */
export const SENDER_CERTIFICATE_LABEL = utf8('cloister/v1/sender-certificate');
/**
 * Largest user id, tenant id or pool name, in UTF-8 bytes: 256.
 *
 * @example
 * ```ts
 * const fits = (s: string) => utf8(s).length <= CERTIFICATE_MAX_STRING_BYTES;
 * ```
 */
export const CERTIFICATE_MAX_STRING_BYTES = 256;
/**
 * Most pools one certificate may list: 32.
 *
 * @example
 * ```ts
 * const pools = ['engineering', 'berlin', 'all-staff'].slice(0, CERTIFICATE_MAX_POOLS);
 * ```
 */
export const CERTIFICATE_MAX_POOLS = 32;
/**
 * Largest encoded certificate in bytes: every field at its bound. {@link decodeSenderCertificate}
 * refuses longer input before reading it.
 *
 * @example
 * ```ts
 * console.log(encodeSenderCertificate(certificate).length <= CERTIFICATE_MAX_BYTES); // true
 * ```
 */
export const CERTIFICATE_MAX_BYTES = 2 + 256 + 4 + 32 + 32 + 2 + 256 + 1 + 32 * (2 + 256) + 8 + 64;

/**
 * The signed fields of a sender certificate.
 *
 * @example
 * ```ts
 * const fields: SenderCertificateFields = {
 *   userId: 'u-4f1c',
 *   deviceId: 1,
 *   identitySigningKey: identity.signingKeyPair.publicKey,
 *   identityDhKey: identity.dhKeyPair.publicKey,
 *   tenantId: 'acme',
 *   pools: ['engineering'],
 *   expiresAt: Date.now() + 86_400_000,
 * };
 * const certificate = await issueSenderCertificate(provider, tenant.privateKey, fields);
 * ```
 */
export interface SenderCertificateFields {
  /** Opaque user id, at most 256 bytes of UTF-8. */
  readonly userId: string;
  /** Device number, an unsigned 32-bit integer. */
  readonly deviceId: number;
  /** The device's 32-byte Ed25519 identity signing key. */
  readonly identitySigningKey: Uint8Array;
  /** The device's 32-byte X25519 identity DH key. */
  readonly identityDhKey: Uint8Array;
  /** Tenant id, at most 256 bytes of UTF-8. */
  readonly tenantId: string;
  /** Pools the user belongs to: at most 32 names of at most 256 UTF-8 bytes. */
  readonly pools: readonly string[];
  /** Last valid moment, milliseconds since the Unix epoch (0 to 2^53 - 1). */
  readonly expiresAt: number;
}

/**
 * A certificate: its fields and the tenant's 64-byte Ed25519 signature over them.
 *
 * @example
 * ```ts
 * const received: SenderCertificate = decodeSenderCertificate(bytes);
 * await verifySenderCertificate(provider, received, { tenantPublicKey: tenant.publicKey, now: Date.now() });
 * ```
 */
export interface SenderCertificate extends SenderCertificateFields {
  /** The tenant's 64-byte Ed25519 signature over the label and the canonical fields. */
  readonly signature: Uint8Array;
}

/**
 * Why {@link verifySenderCertificate} rejected a certificate: a bad tenant signature, an expired
 * certificate, or identity keys other than the expected ones.
 *
 * @example
 * ```ts
 * const messages: Record<SenderCertificateProblem, string> = {
 *   signature: 'not signed by this tenant',
 *   expired: 'expired: fetch a fresh certificate',
 *   identity: 'issued for another device identity',
 * };
 * ```
 */
export type SenderCertificateProblem = 'signature' | 'expired' | 'identity';

/**
 * A certificate was refused by {@link verifySenderCertificate}. Its code is `ERR_INVALID_KEY`;
 * `problem` tells the caller which check failed. `openEnvelope` never lets it escape: there it
 * becomes `DecryptionFailed`.
 *
 * @example
 * ```ts
 * try {
 *   await verifySenderCertificate(provider, certificate, { tenantPublicKey: tenant.publicKey, now: Date.now() });
 * } catch (e) {
 *   if (!(e instanceof SenderCertificateError)) throw e;
 *   console.warn(`certificate refused: ${e.problem}`); // "signature", "expired" or "identity"
 * }
 * ```
 */
export class SenderCertificateError extends InvalidKeyError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'SenderCertificateError';

  /** Which check failed: `signature`, `expired` or `identity`. */
  readonly problem: SenderCertificateProblem;

  constructor(problem: SenderCertificateProblem) {
    const reason = {
      signature: 'signature does not verify under the tenant key',
      expired: 'expired',
      identity: 'identity keys differ from the expected identity',
    }[problem];
    super('certificate', reason);
    this.problem = problem;
  }
}

function checkString(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new ValidationError(field, 'a string');
  const bytes = utf8(value);
  const wellFormed = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes) === value;
  if (bytes.length > CERTIFICATE_MAX_STRING_BYTES || !wellFormed) {
    throw new ValidationError(
      field,
      `well-formed text of at most ${CERTIFICATE_MAX_STRING_BYTES} UTF-8 bytes`,
    );
  }
  return bytes;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concatBytes(uintBE(bytes.length, 2), bytes);
}

/** Checks the fields and returns the canonical body (everything but the label and signature). */
function encodeBody(fields: SenderCertificateFields): Uint8Array {
  if (typeof fields !== 'object' || fields === null) throw new ValidationError('fields', 'an object');
  const userId = checkString(fields.userId, 'userId');
  const deviceId = checkInt(fields.deviceId, 'deviceId', 0, 0xffffffff);
  const signingKey = checkBytes(fields.identitySigningKey, 'identitySigningKey', 32);
  const dhKey = checkBytes(fields.identityDhKey, 'identityDhKey', 32);
  const tenantId = checkString(fields.tenantId, 'tenantId');
  if (!Array.isArray(fields.pools) || fields.pools.length > CERTIFICATE_MAX_POOLS) {
    throw new ValidationError('pools', `an array of at most ${CERTIFICATE_MAX_POOLS} strings`);
  }
  const pools = fields.pools.map((p, i) => lengthPrefixed(checkString(p, `pools[${i}]`)));
  const expiresAt = checkInt(fields.expiresAt, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
  return concatBytes(
    lengthPrefixed(userId),
    uintBE(deviceId, 4),
    signingKey,
    dhKey,
    lengthPrefixed(tenantId),
    uintBE(pools.length, 1),
    ...pools,
    uintBE(expiresAt, 8),
  );
}

/**
 * Signs `fields` with the tenant's Ed25519 private key. The signature covers
 * `"cloister/v1/sender-certificate"` followed by the canonical body (spec/envelope.md §2).
 *
 * @example
 * ```ts
 * import { createNobleProvider, issueSenderCertificate } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const tenant = await provider.ed25519.generateKeyPair();
 * const device = await provider.ed25519.generateKeyPair();
 * const dh = await provider.x25519.generateKeyPair();
 * const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
 *   userId: 'u-4f1c',
 *   deviceId: 1,
 *   identitySigningKey: device.publicKey,
 *   identityDhKey: dh.publicKey,
 *   tenantId: 'acme',
 *   pools: ['engineering'],
 *   expiresAt: Date.now() + 86_400_000,
 * });
 * ```
 */
export async function issueSenderCertificate(
  provider: CryptoProvider,
  tenantPrivateKey: Uint8Array,
  fields: SenderCertificateFields,
): Promise<SenderCertificate> {
  checkBytes(tenantPrivateKey, 'tenantPrivateKey', 32);
  const body = encodeBody(fields);
  const signature = await provider.ed25519.sign(
    tenantPrivateKey,
    concatBytes(SENDER_CERTIFICATE_LABEL, body),
  );
  return {
    userId: fields.userId,
    deviceId: fields.deviceId,
    identitySigningKey: fields.identitySigningKey.slice(),
    identityDhKey: fields.identityDhKey.slice(),
    tenantId: fields.tenantId,
    pools: [...fields.pools],
    expiresAt: fields.expiresAt,
    signature,
  };
}

/**
 * Encodes a certificate: the canonical body followed by the 64-byte signature.
 *
 * @example
 * ```ts
 * const bytes = encodeSenderCertificate(certificate);
 * ```
 */
export function encodeSenderCertificate(certificate: SenderCertificate): Uint8Array {
  const body = encodeBody(certificate);
  return concatBytes(body, checkBytes(certificate.signature, 'signature', 64));
}

function readString(r: Reader, field: string): string {
  const length = r.uint(2, `${field}.length`);
  if (length > CERTIFICATE_MAX_STRING_BYTES) throw new DecodeError(`certificate.${field}`, 'too long');
  return decodeUtf8(r.take(length, field), `certificate.${field}`);
}

/**
 * Decodes a certificate without verifying it. Throws `DecodeError` naming the field on truncated,
 * oversized or non-canonical input.
 *
 * @example
 * ```ts
 * const certificate = decodeSenderCertificate(bytes);
 * ```
 */
export function decodeSenderCertificate(bytes: Uint8Array): SenderCertificate {
  checkBytes(bytes, 'bytes');
  if (bytes.length > CERTIFICATE_MAX_BYTES) throw new DecodeError('certificate', 'too long');
  const r = new Reader(bytes, 'certificate');
  const userId = readString(r, 'userId');
  const deviceId = r.uint(4, 'deviceId');
  const identitySigningKey = r.take(32, 'identitySigningKey');
  const identityDhKey = r.take(32, 'identityDhKey');
  const tenantId = readString(r, 'tenantId');
  const poolCount = r.uint(1, 'pools.length');
  if (poolCount > CERTIFICATE_MAX_POOLS) throw new DecodeError('certificate.pools', 'too many');
  const pools: string[] = [];
  for (let i = 0; i < poolCount; i++) pools.push(readString(r, `pools[${i}]`));
  const expiresAt = r.uint(8, 'expiresAt');
  const signature = r.take(64, 'signature');
  r.end();
  return { userId, deviceId, identitySigningKey, identityDhKey, tenantId, pools, expiresAt, signature };
}

/**
 * Options of {@link verifySenderCertificate}.
 *
 * @example
 * ```ts
 * const options: VerifySenderCertificateOptions = {
 *   tenantPublicKey: tenant.publicKey,
 *   now: Date.now(),
 *   expectedIdentity: pinned,
 * };
 * await verifySenderCertificate(provider, certificate, options);
 * ```
 */
export interface VerifySenderCertificateOptions {
  /** The tenant's 32-byte Ed25519 public key. */
  readonly tenantPublicKey: Uint8Array;
  /** The current time in milliseconds since the epoch (crypto has no clock). */
  readonly now: number;
  /** When given, the identity the session authenticated; both keys must match exactly. */
  readonly expectedIdentity?: { readonly signingKey: Uint8Array; readonly dhKey: Uint8Array };
}

/**
 * Verifies the tenant's signature, then the expiry (`now > expiresAt` is expired), then, when
 * `expectedIdentity` is given, both identity keys in constant time. Throws
 * {@link SenderCertificateError} (`ERR_INVALID_KEY`, with `problem`) on the first failure.
 *
 * @example
 * ```ts
 * await verifySenderCertificate(provider, certificate, {
 *   tenantPublicKey: tenant.publicKey,
 *   now: Date.now(),
 *   expectedIdentity: { signingKey: pinned.signingKey, dhKey: pinned.dhKey }, // the session's peer
 * });
 * ```
 */
export async function verifySenderCertificate(
  provider: CryptoProvider,
  certificate: SenderCertificate,
  options: VerifySenderCertificateOptions,
): Promise<void> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const tenantPublicKey = checkBytes(options.tenantPublicKey, 'tenantPublicKey', 32);
  const now = checkInt(options.now, 'now', 0, Number.MAX_SAFE_INTEGER);
  const expected = options.expectedIdentity;
  if (expected !== undefined) {
    checkBytes(expected.signingKey, 'expectedIdentity.signingKey', 32);
    checkBytes(expected.dhKey, 'expectedIdentity.dhKey', 32);
  }
  const body = encodeBody(certificate);
  const signature = checkBytes(certificate.signature, 'signature', 64);
  const valid = await provider.ed25519.verify(
    tenantPublicKey,
    concatBytes(SENDER_CERTIFICATE_LABEL, body),
    signature,
  );
  if (!valid) throw new SenderCertificateError('signature');
  if (now > certificate.expiresAt) throw new SenderCertificateError('expired');
  if (expected !== undefined) {
    const sameSigning = equalBytes(expected.signingKey, certificate.identitySigningKey);
    const sameDh = equalBytes(expected.dhKey, certificate.identityDhKey);
    if (!(sameSigning && sameDh)) throw new SenderCertificateError('identity');
  }
}
