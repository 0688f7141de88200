/**
 * Administrator certificates (`spec/organisation.md` §3): the organisation root signs an
 * administrator's Ed25519 public key with its tenant, id, role, validity and serial. An owner's
 * own certificate may be issued by the root to the root key itself (role owner).
 *
 * ```
 * u8   version = 1
 * u8   suite = 1                    (Ed25519; 2 reserved for Ed25519 + ML-DSA-65)
 * u8   len(tenant) ‖ tenant         (an identifier, 1..128 bytes)
 * u8   len(admin)  ‖ admin          (an identifier, 1..128 bytes)
 * 32   adminPublicKey               (Ed25519)
 * u8   role                         (1 owner, 2 admin, 3 user-manager, 4 auditor, 5 integration)
 * u64  issuedAtMs                   (0 .. 2^53 - 1)
 * u64  expiresAtMs                  (issuedAtMs < expiresAtMs ≤ issuedAtMs + 400 days)
 * u64  serial                       (1 .. 2^53 - 1)
 * 64   signature                    (Ed25519 by the root over the label and every byte above)
 * ```
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  equalBytes,
  InvalidKeyError,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId } from '../ids.js';
import { asDecode, checkFixed, checkUint, idBytes, Reader } from './_codec.js';
import { ADMIN_ROLES, type AdminRole } from './roles.js';
import { ORGANISATION_SUITE_ED25519 } from './root.js';

/**
 * Ed25519 signature input prefix of an administrator certificate.
 *
 * @example
 * ```ts
 * import { ADMIN_CERTIFICATE_LABEL } from '@cloister/protocol';
 * console.log(ADMIN_CERTIFICATE_LABEL); // "cloister/v1/org/admin-certificate"
 * ```
 */
export const ADMIN_CERTIFICATE_LABEL = 'cloister/v1/org/admin-certificate';

/**
 * Longest validity of an administrator certificate: 400 days.
 *
 * @example
 * ```ts
 * console.log(MAX_ADMIN_CERTIFICATE_VALIDITY_MS / 86_400_000); // 400
 * ```
 */
export const MAX_ADMIN_CERTIFICATE_VALIDITY_MS = 400 * 86_400_000;

/**
 * Bytes of the largest certificate (identifiers of 128 bytes).
 *
 * @example
 * ```ts
 * console.log(MAX_ADMIN_CERTIFICATE_BYTES); // 381
 * ```
 */
export const MAX_ADMIN_CERTIFICATE_BYTES = 1 + 1 + 129 + 129 + 32 + 1 + 8 + 8 + 8 + 64;

const LABEL = utf8(ADMIN_CERTIFICATE_LABEL);

/**
 * What the root certifies.
 *
 * @example
 * ```ts
 * const now = Date.now();
 * const body: AdminCertificateBody = {
 *   tenant, admin: 'carol', adminPublicKey, role: 'admin',
 *   issuedAtMs: now, expiresAtMs: now + 90 * 86_400_000, serial: 7,
 * };
 * ```
 */
export interface AdminCertificateBody {
  /** The tenant the administrator belongs to. */
  readonly tenant: TenantId;
  /** The administrator's id within the tenant (an identifier). */
  readonly admin: string;
  /** The administrator's Ed25519 public key (the root's own for a self-issued owner certificate). */
  readonly adminPublicKey: Uint8Array;
  /** What the administrator may sign (`spec/organisation.md` §5). */
  readonly role: AdminRole;
  /** Start of validity, ms since the epoch (0 .. 2^53 - 1). */
  readonly issuedAtMs: number;
  /** End of validity (exclusive), ms since the epoch: after `issuedAtMs`, by at most 400 days. */
  readonly expiresAtMs: number;
  /** Chosen by the issuer, unique per tenant; names the certificate in a later revocation. */
  readonly serial: number;
}

/**
 * A decoded certificate: its fields, its signature and its exact bytes.
 *
 * @example
 * ```ts
 * const certificate: AdminCertificate = decodeAdminCertificate(bytes);
 * console.log(certificate.admin, certificate.role, new Date(certificate.expiresAtMs));
 * ```
 */
export interface AdminCertificate extends AdminCertificateBody {
  /** The root's Ed25519 signature (64 bytes) over the label and the certificate up to it. */
  readonly signature: Uint8Array;
  /** The certificate's exact bytes, as issued. */
  readonly bytes: Uint8Array;
}

function checkBody(body: AdminCertificateBody): AdminCertificateBody {
  if (typeof body !== 'object' || body === null) throw new ValidationError('certificate', 'an object');
  const tenant = tenantId(body.tenant);
  idBytes(body.admin, 'certificate.admin');
  checkFixed(body.adminPublicKey, 'certificate.adminPublicKey', 32);
  if (!ADMIN_ROLES.includes(body.role)) throw new ValidationError('certificate.role', ADMIN_ROLES.join(', '));
  const issuedAtMs = checkUint(body.issuedAtMs, 'certificate.issuedAtMs', 0);
  const expiresAtMs = checkUint(body.expiresAtMs, 'certificate.expiresAtMs', 0);
  if (expiresAtMs <= issuedAtMs || expiresAtMs - issuedAtMs > MAX_ADMIN_CERTIFICATE_VALIDITY_MS) {
    throw new ValidationError('certificate.expiresAtMs', 'after issuedAtMs, by at most 400 days');
  }
  checkUint(body.serial, 'certificate.serial', 1);
  return { ...body, tenant };
}

function encodeUnsigned(body: AdminCertificateBody): Uint8Array {
  const b = checkBody(body);
  const tenant = idBytes(b.tenant, 'certificate.tenant');
  const admin = idBytes(b.admin, 'certificate.admin');
  return concatBytes(
    Uint8Array.of(1, ORGANISATION_SUITE_ED25519, tenant.length),
    tenant,
    Uint8Array.of(admin.length),
    admin,
    b.adminPublicKey,
    Uint8Array.of(ADMIN_ROLES.indexOf(b.role) + 1),
    uintBE(b.issuedAtMs, 8),
    uintBE(b.expiresAtMs, 8),
    uintBE(b.serial, 8),
  );
}

/**
 * The bytes a certificate's signature covers: {@link ADMIN_CERTIFICATE_LABEL} and the
 * certificate up to its signature. `ValidationError` names a field that breaks the rules.
 *
 * @example
 * ```ts
 * import { adminCertificateSignedBytes } from '@cloister/protocol';
 * const message = adminCertificateSignedBytes(certificate); // what certificate.signature signs
 * ```
 */
export function adminCertificateSignedBytes(body: AdminCertificateBody): Uint8Array {
  return concatBytes(LABEL, encodeUnsigned(body));
}

/**
 * The root signs an administrator certificate; returns its bytes. Run on an owner's machine.
 * `ValidationError` names a field that breaks the rules (a certificate for the root's own key
 * must have role `owner`).
 *
 * @example
 * ```ts
 * import { issueAdminCertificate, tenantId } from '@cloister/protocol';
 * const now = Date.now();
 * const issued = await issueAdminCertificate(provider, root.privateKey, {
 *   tenant: tenantId('acme'), admin: 'carol', adminPublicKey, role: 'admin',
 *   issuedAtMs: now, expiresAtMs: now + 90 * 86_400_000, serial: 7,
 * });
 * ```
 */
export async function issueAdminCertificate(
  provider: CryptoProvider,
  rootPrivateKey: Uint8Array,
  body: AdminCertificateBody,
): Promise<Uint8Array> {
  checkFixed(rootPrivateKey, 'rootPrivateKey', 32);
  const unsigned = encodeUnsigned(body);
  const rootPublicKey = await provider.ed25519.publicKey(rootPrivateKey);
  if (equalBytes(rootPublicKey, body.adminPublicKey) && body.role !== 'owner') {
    throw new ValidationError('certificate.role', "owner for the root's own key");
  }
  return concatBytes(unsigned, await provider.ed25519.sign(rootPrivateKey, concatBytes(LABEL, unsigned)));
}

/**
 * Decodes a certificate and checks its form, not its signature ({@link verifyAdminCertificate}).
 * `DecodeError` with the path of the offending field: another version or suite, a short or long
 * input, an identifier that is not one, an unknown role, a validity that breaks the rules, a
 * serial of 0, bytes after the signature.
 *
 * @example
 * ```ts
 * import { decodeAdminCertificate } from '@cloister/protocol';
 * const { admin, role, expiresAtMs } = decodeAdminCertificate(bytes);
 * ```
 */
export function decodeAdminCertificate(bytes: Uint8Array): AdminCertificate {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('certificate', 'bytes');
  if (bytes.length > MAX_ADMIN_CERTIFICATE_BYTES) {
    throw new DecodeError('certificate', `at most ${MAX_ADMIN_CERTIFICATE_BYTES} bytes`);
  }
  const r = new Reader(bytes, 'certificate');
  if (r.uint(1, 'certificate.version') !== 1) throw new DecodeError('certificate.version', 'version 1');
  if (r.uint(1, 'certificate.suite') !== ORGANISATION_SUITE_ED25519) {
    throw new DecodeError('certificate.suite', 'suite 1 (Ed25519)');
  }
  const tenant = r.id('certificate.tenant', tenantId);
  const admin = r.id('certificate.admin', (v) => {
    idBytes(v, 'certificate.admin');
    return v as string;
  });
  const adminPublicKey = r.take(32, 'certificate.adminPublicKey');
  const roleCode = r.uint(1, 'certificate.role');
  const role = ADMIN_ROLES[roleCode - 1];
  if (role === undefined) throw new DecodeError('certificate.role', `1..${ADMIN_ROLES.length}`);
  const body: AdminCertificateBody = {
    tenant,
    admin,
    adminPublicKey,
    role,
    issuedAtMs: r.uint(8, 'certificate.issuedAtMs'),
    expiresAtMs: r.uint(8, 'certificate.expiresAtMs'),
    serial: r.uint(8, 'certificate.serial'),
  };
  const signature = r.take(64, 'certificate.signature');
  r.end('certificate');
  asDecode(() => checkBody(body));
  return { ...body, signature, bytes: bytes.slice() };
}

/**
 * Options of {@link verifyAdminCertificate}.
 *
 * @example
 * ```ts
 * const options: VerifyAdminCertificateOptions = { rootPublicKey, tenant, validAt: [Date.now()] };
 * ```
 */
export interface VerifyAdminCertificateOptions {
  /** The pinned root public key. */
  readonly rootPublicKey: Uint8Array;
  /** The tenant the certificate must name. */
  readonly tenant: TenantId;
  /** Times (ms) at which the certificate must be valid: `issuedAtMs ≤ t < expiresAtMs`. */
  readonly validAt: readonly number[];
}

/**
 * Checks a decoded certificate against the pinned root: the root's signature (strict Ed25519),
 * the tenant, validity at every time of `validAt`, and that a certificate for the root's own key
 * has role `owner`. Throws `InvalidKeyError` naming the field that fails.
 *
 * @example
 * ```ts
 * import { decodeAdminCertificate, verifyAdminCertificate } from '@cloister/protocol';
 * const options = { rootPublicKey, tenant, validAt: [Date.now()] }; // rootPublicKey: the pinned root
 * await verifyAdminCertificate(provider, decodeAdminCertificate(bytes), options); // InvalidKeyError if not
 * ```
 */
export async function verifyAdminCertificate(
  provider: CryptoProvider,
  certificate: AdminCertificate,
  options: VerifyAdminCertificateOptions,
): Promise<void> {
  const root = checkFixed(options.rootPublicKey, 'options.rootPublicKey', 32);
  const signed = adminCertificateSignedBytes(certificate);
  if (!(await provider.ed25519.verify(root, signed, certificate.signature))) {
    throw new InvalidKeyError('certificate.signature', 'not signed by the pinned organisation root');
  }
  if (certificate.tenant !== options.tenant) {
    throw new InvalidKeyError('certificate.tenant', 'not the expected tenant');
  }
  for (const t of options.validAt) {
    if (t < certificate.issuedAtMs) throw new InvalidKeyError('certificate.issuedAtMs', 'not valid yet');
    if (t >= certificate.expiresAtMs) throw new InvalidKeyError('certificate.expiresAtMs', 'expired');
  }
  if (equalBytes(certificate.adminPublicKey, root) && certificate.role !== 'owner') {
    throw new InvalidKeyError('certificate.role', "the root's own key is certified as owner only");
  }
}
