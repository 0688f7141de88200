/**
 * Creating an organisation's trust chain on an owner's machine (`spec/admin-sdk.md` §1): the root
 * key pair, the first owner's own signing key and its certificate, and certificates for later
 * administrators. Nothing here talks to a server.
 *
 * The root certifies a **separate** owner signing key rather than itself: the root is then needed
 * only to certify administrators (rare, and it can stay locked away under its own passphrase),
 * while the everyday signatures (policies, wipes, the weekly delegation) come from a key whose
 * certificate expires and can be replaced without a new root (which would mean enrolling every
 * device again).
 *
 * @module
 */
import {
  type CryptoProvider,
  type Ed25519Signer,
  equalBytes,
  isEd25519Signer,
  type KeyPair,
  ValidationError,
} from '@cloister/crypto';
import {
  type AdminRole,
  decodeAdminCertificate,
  generateOrganisationRoot,
  issueAdminCertificate,
  MAX_ADMIN_CERTIFICATE_VALIDITY_MS,
  rootFingerprint,
  type TenantId,
  tenantId,
  verifyAdminCertificate,
} from '@cloister/protocol';

/**
 * Default validity of a certificate the SDK issues: 365 days (the format allows 400).
 *
 * @example
 * ```ts
 * console.log(DEFAULT_CERTIFICATE_VALIDITY_MS / 86_400_000); // 365
 * ```
 */
export const DEFAULT_CERTIFICATE_VALIDITY_MS = 365 * 86_400_000;

/**
 * An administrator's signing key with its root-signed certificate: what signs organisation
 * objects. `rootPublicKey` is the organisation root the administrator was certified under, kept
 * so the SDK can check the server's root fingerprint against it.
 *
 * @example
 * ```ts
 * const key: AdminSigningKey = org.owner;
 * console.log(key.admin, key.role); // 'adm_…' 'owner'
 * ```
 */
export interface AdminSigningKey {
  /** The tenant the certificate names. */
  readonly tenant: TenantId;
  /** The administrator's id (`adm_…`) the certificate names. */
  readonly admin: string;
  /** The role the certificate grants (what objects this key may sign). */
  readonly role: AdminRole;
  /**
   * The Ed25519 private key: its 32 bytes, or an `Ed25519Signer` that holds it (a non-extractable
   * WebCrypto key from `importSigningKeyToWebCrypto` or `generateWebCryptoSigner`).
   * Every signing function accepts both; a key held by a signer cannot be sealed or exported.
   *
   * @example
   * ```ts
   * import { isEd25519Signer } from '@cloister/crypto';
   * console.log(isEd25519Signer(org.owner.privateKey) ? 'held by WebCrypto' : '32 bytes in memory');
   * ```
   */
  readonly privateKey: Uint8Array | Ed25519Signer;
  /** Ed25519 public key (32 bytes): the certified one. */
  readonly publicKey: Uint8Array;
  /** The administrator certificate (`spec/organisation.md` §3). */
  readonly certificate: Uint8Array;
  /** The organisation root's public key (32 bytes). */
  readonly rootPublicKey: Uint8Array;
}

/**
 * What {@link generateOrganisation} creates.
 *
 * @example
 * ```ts
 * const { root, rootFingerprint, owner }: GeneratedOrganisation = await generateOrganisation(provider, {
 *   tenant: 'acme',
 *   admin: me.admin,
 * });
 * ```
 */
export interface GeneratedOrganisation {
  /** The tenant id. */
  readonly tenant: TenantId;
  /** The organisation root key pair (Ed25519). Keep the private key in a key store only. */
  readonly root: KeyPair;
  /** `cloister-root:v1:…`, what enrolment codes and MDM configurations carry. */
  readonly rootFingerprint: string;
  /** The first owner's signing key, certified by the root with role `owner`. */
  readonly owner: AdminSigningKey;
}

/**
 * Options of {@link certifyAdministrator}.
 *
 * @example
 * ```ts
 * const options: CertifyOptions = {
 *   tenant: 'acme', admin: 'adm_3kT9fQx2VbN7LmP0aR5sWe', role: 'admin', adminPublicKey,
 * };
 * ```
 */
export interface CertifyOptions {
  /** The tenant id. */
  readonly tenant: string;
  /** The administrator's id in the tenant (the admin API's `adm_…`). */
  readonly admin: string;
  /** The role the certificate grants. */
  readonly role: AdminRole;
  /** The administrator's Ed25519 public key (32 bytes). */
  readonly adminPublicKey: Uint8Array;
  /** Default {@link DEFAULT_CERTIFICATE_VALIDITY_MS}; at most 400 days. */
  readonly validityMs?: number;
  /** The issue time, ms since the epoch (default `Date.now()`). */
  readonly now?: number;
  /** The certificate's serial (default: a random 53-bit number). */
  readonly serial?: number;
}

/** A random serial in 1 .. 2^53 - 1: unique per tenant without keeping a counter anywhere. */
function randomSerial(provider: CryptoProvider): number {
  for (;;) {
    let value = 0n;
    for (const b of provider.randomBytes(8)) value = (value << 8n) | BigInt(b);
    value &= (1n << 53n) - 1n;
    if (value > 0n) return Number(value);
  }
}

/**
 * The root certifies an administrator's public key; returns the certificate's bytes
 * (`spec/organisation.md` §3). `ValidationError` names a field that breaks the rules.
 *
 * @example
 * ```ts
 * import { certifyAdministrator } from '@cloister/admin';
 * const certificate = await certifyAdministrator(provider, root.privateKey, {
 *   tenant: 'acme', admin: 'adm_3kT9fQx2VbN7LmP0aR5sWe', role: 'admin', adminPublicKey,
 * });
 * ```
 */
export async function certifyAdministrator(
  provider: CryptoProvider,
  rootPrivateKey: Uint8Array,
  options: CertifyOptions,
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const validityMs = options.validityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS;
  if (!Number.isSafeInteger(validityMs) || validityMs < 1 || validityMs > MAX_ADMIN_CERTIFICATE_VALIDITY_MS) {
    throw new ValidationError('options.validityMs', 'a whole number of ms from 1 to 400 days');
  }
  const now = options.now ?? Date.now();
  return issueAdminCertificate(provider, rootPrivateKey, {
    tenant: tenantId(options.tenant),
    admin: options.admin,
    adminPublicKey: options.adminPublicKey,
    role: options.role,
    issuedAtMs: now,
    expiresAtMs: now + validityMs,
    serial: options.serial ?? randomSerial(provider),
  });
}

/**
 * An administrator's signing key from its private key, its certificate and the root it was
 * certified under. `privateKey` is the 32-byte seed (copied) or an `Ed25519Signer` (kept as it
 * is; its `publicKey` is compared with the certificate, and every signature it makes is verified
 * when an object is signed). `ValidationError` when the certificate does not decode or certifies
 * another key.
 *
 * @example
 * ```ts
 * import { adminSigningKey } from '@cloister/admin';
 * const key = await adminSigningKey(provider, request.privateKey, certificate, rootPublicKey);
 * ```
 */
export async function adminSigningKey(
  provider: CryptoProvider,
  privateKey: Uint8Array | Ed25519Signer,
  certificate: Uint8Array,
  rootPublicKey: Uint8Array,
): Promise<AdminSigningKey> {
  let decoded: ReturnType<typeof decodeAdminCertificate>;
  try {
    decoded = decodeAdminCertificate(certificate);
  } catch {
    throw new ValidationError('certificate', 'an administrator certificate');
  }
  const signer = isEd25519Signer(privateKey) ? privateKey : undefined;
  if (signer === undefined && (!(privateKey instanceof Uint8Array) || privateKey.length !== 32)) {
    throw new ValidationError('privateKey', 'a 32-byte Ed25519 private key or an Ed25519Signer');
  }
  const publicKey =
    signer === undefined
      ? await provider.ed25519.publicKey(privateKey as Uint8Array)
      : signer.publicKey.slice();
  if (!equalBytes(publicKey, decoded.adminPublicKey)) {
    throw new ValidationError('certificate', 'a certificate of this private key');
  }
  if (!(rootPublicKey instanceof Uint8Array) || rootPublicKey.length !== 32) {
    throw new ValidationError('rootPublicKey', '32 bytes');
  }
  return {
    tenant: decoded.tenant,
    admin: decoded.admin,
    role: decoded.role,
    privateKey: signer ?? (privateKey as Uint8Array).slice(),
    publicKey,
    certificate: decoded.bytes,
    rootPublicKey: rootPublicKey.slice(),
  };
}

/**
 * An administrator's signing key from its private key and the certificate an owner issued for it,
 * after checking the certificate against the root (`verifyAdminCertificate`: the root's signature,
 * the tenant, valid at `now`): what an administrator runs before keeping the key. `privateKey` may
 * be an `Ed25519Signer` (a key pair generated in the browser with `generateWebCryptoSigner`).
 * `InvalidKeyError` names what fails; `ValidationError` a certificate of another key.
 *
 * @example
 * ```ts
 * import { installAdminCertificate } from '@cloister/admin';
 * const key = await installAdminCertificate(provider, request.privateKey, certificate, rootPublicKey);
 * ```
 */
export async function installAdminCertificate(
  provider: CryptoProvider,
  privateKey: Uint8Array | Ed25519Signer,
  certificate: Uint8Array,
  rootPublicKey: Uint8Array,
  now: number = Date.now(),
): Promise<AdminSigningKey> {
  const key = await adminSigningKey(provider, privateKey, certificate, rootPublicKey);
  await verifyAdminCertificate(provider, decodeAdminCertificate(key.certificate), {
    rootPublicKey,
    tenant: key.tenant,
    validAt: [now],
  });
  return key;
}

/**
 * Options of {@link generateOrganisation}.
 *
 * @example
 * ```ts
 * const options: GenerateOrganisationOptions = { tenant: 'acme', admin: session.admin };
 * ```
 */
export interface GenerateOrganisationOptions {
  /** The tenant id. */
  readonly tenant: string;
  /** The owner's administrator id (`GET /admin/v1/session`'s `admin`). */
  readonly admin: string;
  /** Validity of the owner certificate (default {@link DEFAULT_CERTIFICATE_VALIDITY_MS}). */
  readonly validityMs?: number;
  /** ms since the epoch (default `Date.now()`). */
  readonly now?: number;
}

/**
 * Generates an organisation on an owner's machine: the root key pair, its fingerprint, and the
 * owner's own Ed25519 signing key certified by the root with role `owner`. Register it with
 * `AdminClient.setOrganisationRoot` (the root public key and `owner.certificate`), then keep
 * the root's private key in a key store (`sealRootKey`).
 *
 * @example
 * ```ts
 * import { generateOrganisation } from '@cloister/admin';
 * const org = await generateOrganisation(provider, { tenant: 'acme', admin: me.admin });
 * console.log(org.rootFingerprint); // cloister-root:v1:…
 * ```
 */
export async function generateOrganisation(
  provider: CryptoProvider,
  options: GenerateOrganisationOptions,
): Promise<GeneratedOrganisation> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const tenant = tenantId(options.tenant);
  const root = await generateOrganisationRoot(provider);
  const ownerKeys = await provider.ed25519.generateKeyPair();
  const certificate = await certifyAdministrator(provider, root.privateKey, {
    tenant,
    admin: options.admin,
    role: 'owner',
    adminPublicKey: ownerKeys.publicKey,
    ...(options.validityMs === undefined ? {} : { validityMs: options.validityMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    tenant,
    root,
    rootFingerprint: await rootFingerprint(provider, root.publicKey),
    owner: await adminSigningKey(provider, ownerKeys.privateKey, certificate, root.publicKey),
  };
}
