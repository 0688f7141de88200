/**
 * Signed organisation objects (`spec/organisation.md` §4–§7): one envelope for every kind, signed
 * by an administrator whose root-signed certificate travels inside it, verified by clients against
 * the organisation root they pinned at enrolment.
 *
 * ```
 * u8   version = 1
 * u8   suite = 1                    (Ed25519; 2 reserved for Ed25519 + ML-DSA-65)
 * u8   kind                         (1 policy-layer, 2 wipe, 3 broadcast, 4 pool-rules,
 *                                    5 device-admission, 6 certificate-delegation)
 * u8   len(tenant) ‖ tenant
 * u64  issuedAtMs
 * u64  sequence                     (1 .. 2^53 - 1; grows per tenant and kind)
 * u32  len(payload) ‖ payload       (the kind's payload, at most 262144 bytes)
 * u16  len(certificate) ‖ certificate  (the signer's administrator certificate)
 * 64   signature                    (Ed25519 by the certified key over the kind's label and every byte above)
 * ```
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  type Ed25519Signer,
  ed25519SignWith,
  equalBytes,
  ForbiddenError,
  InvalidKeyError,
  isEd25519Signer,
  uintBE,
  utf8,
  ValidationError,
  verifyPublicIdentity,
} from '@cloister/crypto';
import { type TenantId, tenantId } from '../ids.js';
import { asDecode, checkFixed, checkUint, idBytes, Reader } from './_codec.js';
import {
  type AdminCertificate,
  decodeAdminCertificate,
  MAX_ADMIN_CERTIFICATE_BYTES,
  verifyAdminCertificate,
} from './certificate.js';
import {
  type BroadcastPayload,
  decodeBroadcast,
  decodeWipe,
  encodeBroadcast,
  encodeWipe,
  type WipePayload,
} from './commands.js';
import { type CertificateDelegationPayload, decodeDelegation, encodeDelegation } from './delegation.js';
import {
  type DeviceAdmissionPayload,
  decodeDeviceAdmission,
  decodePoolRules,
  encodeDeviceAdmission,
  encodePoolRules,
  type PoolRulesPayload,
} from './directory.js';
import {
  checkPolicyLayerRules,
  decodePolicyLayer,
  encodePolicyLayer,
  type PolicyLayerPayload,
} from './policy-layer.js';
import { maySign, ORGANISATION_OBJECT_KINDS, type OrganisationObjectKind } from './roles.js';
import { ORGANISATION_SUITE_ED25519 } from './root.js';

/**
 * The Ed25519 signature input prefix of each kind of organisation object.
 *
 * @example
 * ```ts
 * import { ORGANISATION_OBJECT_LABELS } from '@cloister/protocol';
 * console.log(ORGANISATION_OBJECT_LABELS.wipe); // "cloister/v1/org/wipe"
 * ```
 */
export const ORGANISATION_OBJECT_LABELS: { readonly [K in OrganisationObjectKind]: string } = {
  'policy-layer': 'cloister/v1/org/policy-layer',
  wipe: 'cloister/v1/org/wipe',
  broadcast: 'cloister/v1/org/broadcast',
  'pool-rules': 'cloister/v1/org/pool-rules',
  'device-admission': 'cloister/v1/org/device-admission',
  'certificate-delegation': 'cloister/v1/org/certificate-delegation',
};

/**
 * Longest payload of an organisation object.
 *
 * @example
 * ```ts
 * console.log(MAX_ORGANISATION_PAYLOAD_BYTES); // 262144
 * ```
 */
export const MAX_ORGANISATION_PAYLOAD_BYTES = 256 * 1024;

/**
 * How far in the future (by the verifier's clock) an object's `issuedAtMs` may lie: 5 minutes.
 *
 * @example
 * ```ts
 * console.log(MAX_ORGANISATION_CLOCK_SKEW_MS); // 300000
 * ```
 */
export const MAX_ORGANISATION_CLOCK_SKEW_MS = 5 * 60_000;

const MAX_OBJECT_BYTES =
  3 + 129 + 16 + 4 + MAX_ORGANISATION_PAYLOAD_BYTES + 2 + MAX_ADMIN_CERTIFICATE_BYTES + 64;

/**
 * A kind and its payload.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const wipe: OrganisationPayload = {
 *   kind: 'wipe', payload: { user, deviceId: deviceId(2), commandId: provider.randomBytes(16) },
 * };
 * ```
 */
export type OrganisationPayload =
  | { readonly kind: 'policy-layer'; readonly payload: PolicyLayerPayload }
  | { readonly kind: 'wipe'; readonly payload: WipePayload }
  | { readonly kind: 'broadcast'; readonly payload: BroadcastPayload }
  | { readonly kind: 'pool-rules'; readonly payload: PoolRulesPayload }
  | { readonly kind: 'device-admission'; readonly payload: DeviceAdmissionPayload }
  | { readonly kind: 'certificate-delegation'; readonly payload: CertificateDelegationPayload };

/**
 * What an administrator signs: a kind and its payload, the tenant, the issue time (ms since the
 * epoch) and the sequence.
 *
 * @example
 * ```ts
 * const body: OrganisationObjectBody = {
 *   kind: 'broadcast', tenant, issuedAtMs: Date.now(), sequence: 4,
 *   payload: { broadcastId: provider.randomBytes(16), audience: { kind: 'tenant' }, text: 'Fire drill at 10:00' },
 * };
 * ```
 */
export type OrganisationObjectBody = OrganisationPayload & {
  readonly tenant: TenantId;
  readonly issuedAtMs: number;
  /** Grows per tenant and kind (spec/organisation.md §7). */
  readonly sequence: number;
};

/**
 * A decoded object: its fields, its payload's bytes, the signer's certificate, the signature and its exact bytes.
 *
 * @example
 * ```ts
 * const object: SignedOrganisationObject = decodeOrganisationObject(bytes);
 * console.log(object.kind, object.sequence, object.certificate.admin);
 * ```
 */
export type SignedOrganisationObject = OrganisationObjectBody & {
  readonly payloadBytes: Uint8Array;
  readonly certificate: AdminCertificate;
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
};

function encodePayload(o: OrganisationPayload): Uint8Array {
  switch (o.kind) {
    case 'policy-layer':
      return encodePolicyLayer(o.payload);
    case 'wipe':
      return encodeWipe(o.payload);
    case 'broadcast':
      return encodeBroadcast(o.payload);
    case 'pool-rules':
      return encodePoolRules(o.payload);
    case 'device-admission':
      return encodeDeviceAdmission(o.payload);
    case 'certificate-delegation':
      return encodeDelegation(o.payload);
    default:
      throw new ValidationError('object.kind', ORGANISATION_OBJECT_KINDS.join(', '));
  }
}

function decodePayload(kind: OrganisationObjectKind, bytes: Uint8Array): OrganisationPayload {
  const r = new Reader(bytes, 'payload');
  let o: OrganisationPayload;
  switch (kind) {
    case 'policy-layer':
      o = { kind, payload: decodePolicyLayer(r) };
      break;
    case 'wipe':
      o = { kind, payload: decodeWipe(r) };
      break;
    case 'broadcast':
      o = { kind, payload: decodeBroadcast(r) };
      break;
    case 'pool-rules':
      o = { kind, payload: decodePoolRules(r) };
      break;
    case 'device-admission':
      o = { kind, payload: decodeDeviceAdmission(r) };
      break;
    case 'certificate-delegation':
      o = { kind, payload: decodeDelegation(r) };
      break;
  }
  r.end('payload');
  return o;
}

function encodeUnsigned(certificate: Uint8Array, o: OrganisationObjectBody): Uint8Array {
  if (typeof o !== 'object' || o === null) throw new ValidationError('object', 'an object');
  const kind = ORGANISATION_OBJECT_KINDS.indexOf(o.kind) + 1;
  if (kind === 0) throw new ValidationError('object.kind', ORGANISATION_OBJECT_KINDS.join(', '));
  const tenant = idBytes(o.tenant, 'object.tenant');
  checkUint(o.issuedAtMs, 'object.issuedAtMs', 0);
  checkUint(o.sequence, 'object.sequence', 1);
  if (!(certificate instanceof Uint8Array) || certificate.length > MAX_ADMIN_CERTIFICATE_BYTES) {
    throw new ValidationError(
      'certificate',
      `an administrator certificate of at most ${MAX_ADMIN_CERTIFICATE_BYTES} bytes`,
    );
  }
  const payload = encodePayload(o);
  if (payload.length > MAX_ORGANISATION_PAYLOAD_BYTES) {
    throw new ValidationError('object.payload', `at most ${MAX_ORGANISATION_PAYLOAD_BYTES} bytes encoded`);
  }
  return concatBytes(
    Uint8Array.of(1, ORGANISATION_SUITE_ED25519, kind, tenant.length),
    tenant,
    uintBE(o.issuedAtMs, 8),
    uintBE(o.sequence, 8),
    uintBE(payload.length, 4),
    payload,
    uintBE(certificate.length, 2),
    certificate,
  );
}

/**
 * The bytes an object's signature covers: the kind's label ({@link ORGANISATION_OBJECT_LABELS})
 * and the object up to its signature, with `certificate` embedded. Form rules only
 * (`ValidationError`); the kind rules of {@link signOrganisationObject} are not applied.
 *
 * @example
 * ```ts
 * import { organisationObjectSignedBytes } from '@cloister/protocol';
 * const object = decodeOrganisationObject(bytes);
 * const message = organisationObjectSignedBytes(object.certificate.bytes, object); // what object.signature signs
 * ```
 */
export function organisationObjectSignedBytes(
  certificate: Uint8Array,
  object: OrganisationObjectBody,
): Uint8Array {
  const unsigned = encodeUnsigned(certificate, object);
  return concatBytes(utf8(ORGANISATION_OBJECT_LABELS[object.kind]), unsigned);
}

/** The checks a verifier applies to a kind's payload beyond its form; throws `ForbiddenError` or `InvalidKeyError`. */
async function checkKindRules(
  provider: CryptoProvider,
  o: OrganisationPayload,
  now: number | undefined,
): Promise<void> {
  if (o.kind === 'policy-layer') checkPolicyLayerRules(o.payload);
  else if (o.kind === 'device-admission')
    await verifyPublicIdentity(provider, o.payload.identity, 'payload.identity');
  else if (o.kind === 'certificate-delegation' && now !== undefined && now >= o.payload.notAfterMs) {
    throw new InvalidKeyError('payload.notAfterMs', 'the delegation has expired');
  }
}

/**
 * An administrator signs an organisation object; returns its bytes. `certificate` is the
 * administrator's root-signed certificate (embedded in the object). `adminPrivateKey` is the
 * 32-byte Ed25519 seed or an {@link Ed25519Signer} that holds the key (a non-extractable WebCrypto
 * key: `spec/admin-sdk.md` "Keys held by the browser"). Before signing: the key must be the
 * certified one (`InvalidKeyError`; for a signer its `publicKey`, for bytes the key derived from
 * them), the object's tenant the certificate's (`ValidationError`), the role allowed to sign the
 * kind and the kind's rules met (`ForbiddenError`). A signer's signature is then verified against
 * the certified key, and one that is not 64 bytes or does not verify is an `InvalidKeyError`:
 * nothing a signer returns leaves this function unchecked.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * import { signOrganisationObject } from '@cloister/protocol';
 * const signed = await signOrganisationObject(provider, adminPrivateKey, adminCertificate, {
 *   kind: 'wipe', tenant, issuedAtMs: Date.now(), sequence: 12,
 *   payload: { user: userId('alice'), deviceId: deviceId(2), commandId: provider.randomBytes(16) },
 * });
 * ```
 */
export async function signOrganisationObject(
  provider: CryptoProvider,
  adminPrivateKey: Uint8Array | Ed25519Signer,
  certificate: Uint8Array,
  object: OrganisationObjectBody,
): Promise<Uint8Array> {
  const signer = isEd25519Signer(adminPrivateKey) ? adminPrivateKey : undefined;
  if (signer === undefined) checkFixed(adminPrivateKey, 'adminPrivateKey', 32);
  let cert: AdminCertificate;
  try {
    cert = decodeAdminCertificate(certificate);
  } catch (e) {
    if (e instanceof DecodeError) throw new ValidationError('certificate', 'an administrator certificate');
    throw e;
  }
  const unsigned = encodeUnsigned(certificate, object);
  const publicKey =
    signer === undefined ? await provider.ed25519.publicKey(adminPrivateKey as Uint8Array) : signer.publicKey;
  if (!equalBytes(publicKey, cert.adminPublicKey)) {
    throw new InvalidKeyError('adminPrivateKey', 'not the key the certificate certifies');
  }
  if (object.tenant !== cert.tenant) throw new ValidationError('object.tenant', "the certificate's tenant");
  if (!maySign(cert.role, object.kind))
    throw new ForbiddenError(`role ${cert.role} may not sign ${object.kind}`);
  await checkKindRules(provider, object, undefined);
  const message = concatBytes(utf8(ORGANISATION_OBJECT_LABELS[object.kind]), unsigned);
  const signature = await ed25519SignWith(provider, adminPrivateKey, message);
  // A signer names its public key; that it signs with that key is checked, not assumed.
  if (signer !== undefined && !(await provider.ed25519.verify(cert.adminPublicKey, message, signature))) {
    throw new InvalidKeyError('adminPrivateKey', 'the signer did not sign with the certified key');
  }
  return concatBytes(unsigned, signature);
}

/**
 * Decodes an organisation object and its embedded certificate, and checks the form of both and of
 * the payload; no signature ({@link verifyOrganisationObject}). `DecodeError` with the path of the
 * offending field: another version or suite, an unknown kind, a short or long input, a payload
 * that breaks its kind's format, bytes after the signature.
 *
 * @example
 * ```ts
 * import { decodeOrganisationObject } from '@cloister/protocol';
 * const { kind, sequence, certificate } = decodeOrganisationObject(bytes);
 * ```
 */
export function decodeOrganisationObject(bytes: Uint8Array): SignedOrganisationObject {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('object', 'bytes');
  if (bytes.length > MAX_OBJECT_BYTES) throw new DecodeError('object', `at most ${MAX_OBJECT_BYTES} bytes`);
  const r = new Reader(bytes, 'object');
  if (r.uint(1, 'object.version') !== 1) throw new DecodeError('object.version', 'version 1');
  if (r.uint(1, 'object.suite') !== ORGANISATION_SUITE_ED25519)
    throw new DecodeError('object.suite', 'suite 1 (Ed25519)');
  const kind = ORGANISATION_OBJECT_KINDS[r.uint(1, 'object.kind') - 1];
  if (kind === undefined) throw new DecodeError('object.kind', `1..${ORGANISATION_OBJECT_KINDS.length}`);
  const tenant = r.id('object.tenant', tenantId);
  const issuedAtMs = r.uint(8, 'object.issuedAtMs');
  const sequence = r.uint(8, 'object.sequence');
  if (sequence < 1) throw new DecodeError('object.sequence', 'at least 1');
  const payloadLength = r.uint(4, 'object.payload.length');
  if (payloadLength > MAX_ORGANISATION_PAYLOAD_BYTES) {
    throw new DecodeError('object.payload', `at most ${MAX_ORGANISATION_PAYLOAD_BYTES} bytes`);
  }
  const payloadBytes = r.take(payloadLength, 'object.payload');
  const certificate = decodeAdminCertificate(
    r.take(r.uint(2, 'object.certificate.length'), 'object.certificate'),
  );
  const signature = r.take(64, 'object.signature');
  r.end('object');
  const payload = decodePayload(kind, payloadBytes);
  asDecode(() => tenantId(tenant));
  return {
    ...payload,
    tenant,
    issuedAtMs,
    sequence,
    payloadBytes,
    certificate,
    signature,
    bytes: bytes.slice(),
  } as SignedOrganisationObject;
}

/**
 * Options of {@link verifyOrganisationObject}.
 *
 * @example
 * ```ts
 * const options: VerifyOrganisationObjectOptions = { rootPublicKey, tenant, now: Date.now(), newestSequence: 11 };
 * ```
 */
export interface VerifyOrganisationObjectOptions {
  /** The organisation root public key the client pinned at enrolment. */
  readonly rootPublicKey: Uint8Array;
  /** The tenant the client belongs to. */
  readonly tenant: TenantId;
  /** The verifier's clock, ms since the epoch. */
  readonly now: number;
  /**
   * The sequence of the newest object the client accepted in this object's scope
   * ({@link organisationObjectScope}); an object with a lower sequence is refused.
   */
  readonly newestSequence?: number;
}

/**
 * Verifies an organisation object against the pinned root: decodes it (`DecodeError`), then
 * checks the tenant, the certificate chain (root signature, the tenant, valid at the object's
 * `issuedAtMs` and at `now`), that `issuedAtMs` is not more than 5 minutes ahead of `now`, the
 * administrator's signature (strict Ed25519) — each an `InvalidKeyError` naming the field — then
 * that the role may sign the kind (`ForbiddenError`), the kind's rules (a non-tenant policy layer
 * naming `archive`: `ForbiddenError`; an admitted identity whose DH key signature fails, an
 * expired delegation: `InvalidKeyError`) and that the sequence is not older than
 * `newestSequence` (`InvalidKeyError`). Returns the decoded object.
 *
 * @example
 * ```ts
 * import { verifyOrganisationObject } from '@cloister/protocol';
 * const object = await verifyOrganisationObject(provider, bytes, { rootPublicKey, tenant, now: Date.now() });
 * if (object.kind === 'wipe') console.log('wipe ordered for device', object.payload.deviceId);
 * ```
 */
export async function verifyOrganisationObject(
  provider: CryptoProvider,
  bytes: Uint8Array,
  options: VerifyOrganisationObjectOptions,
): Promise<SignedOrganisationObject> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const rootPublicKey = checkFixed(options.rootPublicKey, 'options.rootPublicKey', 32);
  const tenant = tenantId(options.tenant);
  const now = checkUint(options.now, 'options.now', 0);
  if (options.newestSequence !== undefined) checkUint(options.newestSequence, 'options.newestSequence', 0);
  const o = decodeOrganisationObject(bytes);
  if (o.tenant !== tenant) throw new InvalidKeyError('object.tenant', 'not the expected tenant');
  await verifyAdminCertificate(provider, o.certificate, {
    rootPublicKey,
    tenant,
    validAt: [o.issuedAtMs, now],
  });
  if (o.issuedAtMs > now + MAX_ORGANISATION_CLOCK_SKEW_MS) {
    throw new InvalidKeyError('object.issuedAtMs', 'in the future');
  }
  const signed = concatBytes(utf8(ORGANISATION_OBJECT_LABELS[o.kind]), bytes.subarray(0, bytes.length - 64));
  if (!(await provider.ed25519.verify(o.certificate.adminPublicKey, signed, o.signature))) {
    throw new InvalidKeyError('object.signature', 'not signed by the certified administrator key');
  }
  if (!maySign(o.certificate.role, o.kind)) {
    throw new ForbiddenError(`role ${o.certificate.role} may not sign ${o.kind}`);
  }
  await checkKindRules(provider, o, now);
  if (options.newestSequence !== undefined && o.sequence < options.newestSequence) {
    throw new InvalidKeyError('object.sequence', 'older than the newest accepted object of its scope');
  }
  return o;
}

/**
 * The scope in which an object's sequence must not go back (spec/organisation.md §7): the kind
 * and what it is about. A client keeps the newest sequence it accepted per scope.
 *
 * @example
 * ```ts
 * import { organisationObjectScope } from '@cloister/protocol';
 * organisationObjectScope(decodeOrganisationObject(bytes)); // e.g. "policy-layer/user/alice", "wipe/alice/2"
 * ```
 */
export function organisationObjectScope(o: OrganisationPayload): string {
  switch (o.kind) {
    case 'policy-layer':
      return o.payload.target === null
        ? 'policy-layer/tenant'
        : `policy-layer/${o.payload.layer}/${o.payload.target}`;
    case 'wipe':
      return `wipe/${o.payload.user}/${o.payload.deviceId}`;
    case 'device-admission':
      return `device-admission/${o.payload.user}`;
    default:
      return o.kind;
  }
}
