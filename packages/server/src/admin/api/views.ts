/**
 * How stored records become the admin API's views (`schemas.ts`): byte strings as base64url,
 * no secret and no hash of one.
 *
 * @module
 */
import type { TenantId } from '@cloister/protocol';
import type { RecordValue } from '@cloister/storage';
import type { ServerContext } from '../../context.js';
import { getOrganisationRoot } from '../../organisation/root.js';
import type { Administrator, AuditRecord, Device, Tenant, User } from '../../store/index.js';
import { b64url } from './schemas.js';

/**
 * A tenant with its domains and root fingerprint.
 *
 * @example
 * ```ts
 * return tenantViewOf(ctx, await ctx.stores.tenants.get(me.tenant));
 * ```
 */
export async function tenantViewOf(ctx: Pick<ServerContext, 'stores'>, tenant: Tenant) {
  const root = await getOrganisationRoot(ctx, tenant.id);
  return {
    id: tenant.id,
    name: tenant.name,
    domains: await ctx.stores.domains.list(tenant.id),
    createdAt: tenant.createdAt,
    serverSigningKey: b64url(tenant.signingKey),
    rootFingerprint: root?.fingerprint ?? null,
  };
}

/**
 * The root fingerprint of `tenant`, or null.
 *
 * @example
 * ```ts
 * const fingerprint = await rootFingerprintOf(ctx, tenant);
 * ```
 */
export async function rootFingerprintOf(
  ctx: Pick<ServerContext, 'stores'>,
  tenant: TenantId,
): Promise<string | null> {
  return (await getOrganisationRoot(ctx, tenant))?.fingerprint ?? null;
}

/**
 * An administrator without secrets.
 *
 * @example
 * ```ts
 * const items = page.items.map(adminViewOf);
 * ```
 */
export function adminViewOf(a: Administrator) {
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    role: a.role,
    scopes: [...a.scopes],
    disabled: a.disabled,
    totp: a.totp?.state ?? ('none' as const),
    createdAt: a.createdAt,
  };
}

/**
 * A user.
 *
 * @example
 * ```ts
 * return userViewOf(await s.users.update(me.tenant, user, { blocked: true }));
 * ```
 */
export function userViewOf(u: User) {
  return {
    id: u.id,
    displayName: u.displayName,
    pools: [...u.pools],
    blocked: u.blocked,
    email: u.email,
    createdAt: u.createdAt,
    ...(u.directory === null ? {} : { directory: { ...u.directory } }),
  };
}

/**
 * A device (its identity key, never its credential hash or mailbox).
 *
 * @example
 * ```ts
 * const items = (await ctx.stores.devices.list(tenant, user)).map(deviceViewOf);
 * ```
 */
export function deviceViewOf(d: Device) {
  return {
    id: d.id as number,
    blocked: d.blocked,
    createdAt: d.createdAt,
    lastSeenAt: d.lastSeenAt,
    identityKey: b64url(d.identity.signingKey),
    clientVersion: d.clientVersion ?? null,
    enrolledVia: d.enrolledVia,
  };
}

function jsonOf(value: RecordValue): unknown {
  if (value instanceof Uint8Array) return b64url(value);
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonOf(v as RecordValue)]));
  }
  return value;
}

/**
 * An audit record with its hashes (and any bytes in its details) as base64url.
 *
 * @example
 * ```ts
 * const line = JSON.stringify(auditViewOf(record));
 * ```
 */
export function auditViewOf(r: AuditRecord) {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    details: jsonOf(r.details as RecordValue) as Record<string, unknown>,
    prevHash: b64url(r.prevHash),
    hash: b64url(r.hash),
  };
}
