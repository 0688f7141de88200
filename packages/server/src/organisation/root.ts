/**
 * The tenant's organisation root on the server (`spec/organisation.md` §10.1). An owner sets it
 * once, with the owner certificate the root issued: the server keeps the root's public key (never
 * a private key), verifies every organisation object against it, and hands it to enrolling
 * devices, which accept it only when it matches the fingerprint they got from a source the server
 * does not control (the enrolment code or the MDM configuration).
 *
 * @module
 */
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import {
  decodeAdminCertificate,
  rootFingerprint,
  type TenantId,
  tenantId,
  verifyAdminCertificate,
} from '@cloister/protocol';
import type { ServerContext } from '../context.js';
import { ConflictError } from '../store/index.js';

/**
 * What {@link setOrganisationRoot} takes.
 *
 * @example
 * ```ts
 * const input: SetOrganisationRootInput = { rootPublicKey, ownerCertificate, actor: auth.admin.id, admin: auth.admin.id };
 * const { fingerprint } = await setOrganisationRoot(ctx, auth.tenant, input);
 * ```
 */
export interface SetOrganisationRootInput {
  /** The root's Ed25519 public key (32 bytes). */
  readonly rootPublicKey: Uint8Array;
  /** An owner certificate of this tenant signed by the root and valid now. */
  readonly ownerCertificate: Uint8Array;
  /** Who sets it, for the audit record. */
  readonly actor: string;
  /** When given, the certificate must certify this administrator (`ForbiddenError` otherwise). */
  readonly admin?: string;
}

/**
 * Sets the tenant's organisation root, once. The owner certificate must decode, verify under
 * `rootPublicKey` (`InvalidKeyError` naming the field), name the tenant, be valid at `ctx.now()`
 * and certify the role owner (`ValidationError('ownerCertificate')`). `NotFoundError('tenant')`,
 * `ConflictError('organisation-root')` when the tenant has a root already. The root and the audit
 * record `organisation.root` are written in one transaction.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const { fingerprint } = await setOrganisationRoot(ctx, tenantId('acme'), {
 *   rootPublicKey,
 *   ownerCertificate,
 *   actor: admin.id,
 * }); // 'cloister-root:v1:…'
 * ```
 */
export async function setOrganisationRoot(
  ctx: ServerContext,
  tenant: TenantId,
  input: SetOrganisationRootInput,
): Promise<{ fingerprint: string }> {
  const tid = tenantId(tenant);
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
  if (!(input.rootPublicKey instanceof Uint8Array) || input.rootPublicKey.length !== 32) {
    throw new ValidationError('rootPublicKey', 'an Ed25519 public key of 32 bytes');
  }
  if (!(input.ownerCertificate instanceof Uint8Array)) {
    throw new ValidationError('ownerCertificate', 'an administrator certificate');
  }
  if (typeof input.actor !== 'string' || input.actor.length === 0)
    throw new ValidationError('actor', 'a string');
  const certificate = decodeAdminCertificate(input.ownerCertificate);
  await verifyAdminCertificate(ctx.provider, certificate, {
    rootPublicKey: input.rootPublicKey,
    tenant: tid,
    validAt: [ctx.now()],
  });
  if (certificate.role !== 'owner') {
    throw new ValidationError('ownerCertificate', 'a certificate of the role owner');
  }
  if (input.admin !== undefined && certificate.admin !== input.admin) {
    throw new ForbiddenError('the owner certificate certifies another administrator');
  }
  const fingerprint = await rootFingerprint(ctx.provider, input.rootPublicKey);
  await ctx.stores.transaction(async (s) => {
    await s.organisation.setRoot(tid, {
      rootPublicKey: input.rootPublicKey,
      ownerCertificate: input.ownerCertificate,
      fingerprint,
    });
    await s.audit.append(tid, {
      actor: input.actor,
      action: 'organisation.root',
      target: tid,
      outcome: 'success',
      details: { fingerprint, ownerAdmin: certificate.admin, serial: certificate.serial },
    });
  });
  return { fingerprint };
}

/**
 * The tenant's organisation root public key and fingerprint, or `undefined` while none is set.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 *
 * const root = await getOrganisationRoot(ctx, tenantId('acme'));
 * if (root !== undefined) console.log(root.fingerprint);
 * ```
 */
export async function getOrganisationRoot(
  ctx: Pick<ServerContext, 'stores'>,
  tenant: TenantId,
): Promise<{ rootPublicKey: Uint8Array; fingerprint: string } | undefined> {
  const root = await ctx.stores.organisation.root(tenantId(tenant));
  return root === undefined
    ? undefined
    : { rootPublicKey: root.rootPublicKey, fingerprint: root.fingerprint };
}

/**
 * The tenant's root; `ConflictError('organisation-root')` while none is set (a tenant without a
 * root accepts no organisation object: there is nothing to verify it against).
 *
 * @example
 * ```ts
 * const { rootPublicKey } = await requireOrganisationRoot(ctx, tenant);
 * ```
 */
export async function requireOrganisationRoot(
  ctx: Pick<ServerContext, 'stores'>,
  tenant: TenantId,
): Promise<{ rootPublicKey: Uint8Array; fingerprint: string }> {
  const root = await getOrganisationRoot(ctx, tenant);
  if (root === undefined) {
    throw new ConflictError('organisation-root', 'the tenant has no organisation root yet');
  }
  return root;
}
