/**
 * Administrator roles, organisation object kinds, and which role may sign which kind
 * (`spec/organisation.md` §5). Codes are the bytes the formats carry.
 *
 * @module
 */

/**
 * The roles of an administrator certificate, in code order (code = index + 1).
 *
 * @example
 * ```ts
 * import { ADMIN_ROLES } from '@cloister/protocol';
 * console.log(ADMIN_ROLES[0]); // "owner" (code 1)
 * ```
 */
export const ADMIN_ROLES = ['owner', 'admin', 'user-manager', 'auditor', 'integration'] as const;

/**
 * A role of an administrator certificate.
 *
 * @example
 * ```ts
 * const role: AdminRole = 'user-manager';
 * maySign(role, 'broadcast'); // true
 * ```
 */
export type AdminRole = (typeof ADMIN_ROLES)[number];

/**
 * The kinds of signed organisation objects, in code order (code = index + 1).
 *
 * @example
 * ```ts
 * import { ORGANISATION_OBJECT_KINDS } from '@cloister/protocol';
 * console.log(ORGANISATION_OBJECT_KINDS[1]); // "wipe" (code 2)
 * ```
 */
export const ORGANISATION_OBJECT_KINDS = [
  'policy-layer',
  'wipe',
  'broadcast',
  'pool-rules',
  'device-admission',
  'certificate-delegation',
] as const;

/**
 * A kind of signed organisation object.
 *
 * @example
 * ```ts
 * const kind: OrganisationObjectKind = 'policy-layer';
 * ORGANISATION_PERMISSIONS[kind]; // ["owner", "admin"]
 * ```
 */
export type OrganisationObjectKind = (typeof ORGANISATION_OBJECT_KINDS)[number];

/**
 * Which roles may sign each kind. Auditors sign nothing; only owners delegate certificate
 * issuance to the server.
 *
 * @example
 * ```ts
 * import { ORGANISATION_PERMISSIONS } from '@cloister/protocol';
 * ORGANISATION_PERMISSIONS.wipe; // ["owner", "admin"]
 * ```
 */
export const ORGANISATION_PERMISSIONS: { readonly [K in OrganisationObjectKind]: readonly AdminRole[] } = {
  'policy-layer': ['owner', 'admin'],
  wipe: ['owner', 'admin'],
  broadcast: ['owner', 'admin', 'user-manager'],
  'pool-rules': ['owner', 'admin'],
  'device-admission': ['owner', 'admin', 'user-manager', 'integration'],
  'certificate-delegation': ['owner'],
};

/**
 * Whether an administrator with `role` may sign objects of `kind`.
 *
 * @example
 * ```ts
 * import { maySign } from '@cloister/protocol';
 * maySign('auditor', 'wipe'); // false
 * ```
 */
export function maySign(role: AdminRole, kind: OrganisationObjectKind): boolean {
  return ORGANISATION_PERMISSIONS[kind]?.includes(role) === true;
}
