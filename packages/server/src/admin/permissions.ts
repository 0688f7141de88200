/**
 * Administrator roles and what each may do. This first slice of the admin plane only needs the
 * names; the admin routes that follow check them through `authenticateAdmin(…, { permission })`.
 * The matrix is `spec/admin-auth.md` §6.
 *
 * @module
 */
import type { Role } from '../store/index.js';

/**
 * Every permission an admin route can require.
 *
 * @example
 * ```ts
 * const p: AdminPermission = 'users.block';
 * ```
 */
export type AdminPermission =
  | 'tenant.read'
  | 'tenant.manage'
  | 'admins.read'
  | 'admins.manage'
  | 'users.read'
  | 'users.invite'
  | 'users.block'
  | 'users.delete'
  | 'devices.read'
  | 'devices.block'
  | 'devices.wipe'
  | 'activity.read'
  | 'policy.read'
  | 'policy.write'
  | 'archive.key'
  | 'audit.read'
  | 'audit.export'
  | 'root.operate'
  | 'broadcast.send'
  | 'pools.write'
  | 'devices.admit'
  | 'allowlist.write'
  | 'stats.read'
  | 'integrations.manage'
  | 'subjects.export'
  | 'scim.manage'
  | 'archive.audit'
  | 'archive.hold';

/**
 * Every {@link AdminPermission}, in the order of the matrix.
 *
 * @example
 * ```ts
 * ADMIN_PERMISSIONS.includes('devices.wipe'); // true
 * ```
 */
export const ADMIN_PERMISSIONS: readonly AdminPermission[] = Object.freeze([
  'tenant.read',
  'tenant.manage',
  'admins.read',
  'admins.manage',
  'users.read',
  'users.invite',
  'users.block',
  'users.delete',
  'devices.read',
  'devices.block',
  'devices.wipe',
  'activity.read',
  'policy.read',
  'policy.write',
  'archive.key',
  'audit.read',
  'audit.export',
  'root.operate',
  'broadcast.send',
  'pools.write',
  'devices.admit',
  'allowlist.write',
  'stats.read',
  'integrations.manage',
  'subjects.export',
  'scim.manage',
  'archive.audit',
  'archive.hold',
]);

/**
 * The actions that need a second factor presented recently (step-up), whatever the role.
 *
 * @example
 * ```ts
 * const permission: AdminPermission = 'devices.wipe';
 * const fresh = FRESH_FACTOR_PERMISSIONS.includes(permission); // → true: a step-up is needed
 * ```
 */
export const FRESH_FACTOR_PERMISSIONS: readonly AdminPermission[] = Object.freeze([
  'admins.manage',
  'devices.wipe',
  'users.delete',
  'archive.key',
  'root.operate',
  'archive.audit',
  'archive.hold',
]);

const all = ADMIN_PERMISSIONS;
const readOnly: AdminPermission[] = [
  'tenant.read',
  'admins.read',
  'users.read',
  'devices.read',
  'activity.read',
  'policy.read',
];

/**
 * The permissions of each role. An integration's key is further limited to its scopes.
 *
 * @example
 * ```ts
 * ROLE_PERMISSIONS.auditor.includes('audit.export'); // true
 * ```
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly AdminPermission[]>> = Object.freeze({
  // Reading the archive and the auditors' wrapped shares is the auditors' alone (separation of duties).
  owner: Object.freeze(all.filter((p) => p !== 'archive.audit')),
  admin: Object.freeze(
    all.filter(
      (p) =>
        p !== 'root.operate' &&
        p !== 'archive.key' &&
        p !== 'tenant.manage' &&
        p !== 'archive.audit' &&
        p !== 'archive.hold',
    ),
  ),
  'user-manager': Object.freeze([
    ...readOnly,
    'users.invite',
    'users.block',
    'devices.block',
    'broadcast.send',
    'devices.admit',
  ] as AdminPermission[]),
  auditor: Object.freeze([
    ...readOnly,
    'audit.read',
    'audit.export',
    'stats.read',
    'subjects.export',
    'archive.audit',
    'archive.hold',
  ] as AdminPermission[]),
  integration: Object.freeze([
    ...readOnly,
    'users.invite',
    'users.block',
    'devices.block',
    'audit.read',
    'devices.admit',
    'stats.read',
  ] as AdminPermission[]),
});

/**
 * Whether `role` (and, for an integration, its `scopes`) grants `permission`.
 *
 * @example
 * ```ts
 * import { ForbiddenError } from '@cloister/crypto';
 *
 * if (!roleAllows(admin.role, 'devices.wipe')) throw new ForbiddenError('the role may not wipe devices');
 * ```
 */
export function roleAllows(role: Role, permission: AdminPermission, scopes?: readonly string[]): boolean {
  if (!ROLE_PERMISSIONS[role].includes(permission)) return false;
  return role !== 'integration' || (scopes ?? []).includes(permission);
}
