/**
 * The zod schemas the admin-API operations share: identifiers, paging, the error body and the
 * views of tenants, administrators, users, devices and audit records. Each named schema is
 * registered in {@link ADMIN_SCHEMAS} under its OpenAPI component name, so the generated document
 * has one component per named schema and refers to it wherever it is used.
 *
 * @module
 */
import { ROOT_FINGERPRINT_PREFIX } from '@cloister/protocol';
import { z } from 'zod';
import { MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS } from '../password.js';
import { ADMIN_PERMISSIONS } from '../permissions.js';

/**
 * The registry of named admin-API schemas (its `id` is the OpenAPI component name).
 *
 * @example
 * ```ts
 * const name = ADMIN_SCHEMAS.get(userView)?.id; // 'User'
 * ```
 */
export const ADMIN_SCHEMAS = z.registry<{ id: string; description?: string }>();

const named_: { schema: z.ZodType; id: string; description?: string }[] = [];
const addToRegistry = ADMIN_SCHEMAS.add.bind(ADMIN_SCHEMAS);
// Every schema registered (here or by another module of the admin plane) is also listed, so that
// the OpenAPI document can give each its component.
ADMIN_SCHEMAS.add = ((schema: z.ZodType, meta: { id: string; description?: string }) => {
  if (!named_.some((n) => n.schema === schema)) named_.push({ schema, ...meta });
  return addToRegistry(schema, meta);
}) as typeof ADMIN_SCHEMAS.add;

/**
 * Every schema registered in {@link ADMIN_SCHEMAS}, with its component name and description, in
 * registration order.
 *
 * @example
 * ```ts
 * for (const { id } of namedAdminSchemas()) console.log(id);
 * ```
 */
export function namedAdminSchemas(): readonly {
  readonly schema: z.ZodType;
  readonly id: string;
  readonly description?: string;
}[] {
  return named_;
}

function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  ADMIN_SCHEMAS.add(schema as z.ZodType, { id, description });
  return schema;
}

const ID = /^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/;

/**
 * A tenant, user or pool identifier (1..128 of `A-Z a-z 0-9 . _ - : @ +`, no leading or trailing dot).
 *
 * @example
 * ```ts
 * identifier.parse('alice@acme.example');
 * ```
 */
export const identifier = z.string().regex(ID, 'an identifier');

/**
 * An administrator id (`adm_` and 22 base64url characters).
 *
 * @example
 * ```ts
 * adminIdSchema.parse('adm_AAAAAAAAAAAAAAAAAAAAAA');
 * ```
 */
export const adminIdSchema = z.string().regex(/^adm_[A-Za-z0-9_-]{22}$/, 'an administrator id');

/**
 * A device id in a path: a decimal integer from 0 to 2^32 - 1.
 *
 * @example
 * ```ts
 * deviceIdParam.parse('3'); // 3
 * ```
 */
export const deviceIdParam = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,9})$/, 'a device id')
  .transform(Number)
  .refine((n) => n <= 0xffff_ffff, 'a device id');

/**
 * A non-negative integer in a query string.
 *
 * @example
 * ```ts
 * queryInt.parse('1750000000000'); // 1750000000000
 * ```
 */
export const queryInt = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'a non-negative integer')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'a safe integer');

/**
 * A page size in a query string (1..1000).
 *
 * @example
 * ```ts
 * pageLimit.parse('50'); // 50
 * ```
 */
export const pageLimit = queryInt.refine((n) => n >= 1 && n <= 1000, 'from 1 to 1000');

/**
 * The query of a listing paged by an opaque cursor.
 *
 * @example
 * ```ts
 * const { after, limit } = pageQuery.parse(request.query);
 * ```
 */
export const pageQuery = z
  .object({
    after: z.string().min(1).max(256).optional(),
    limit: pageLimit.optional(),
  })
  .strict();

/**
 * A new password (12..1024 characters).
 *
 * @example
 * ```ts
 * passwordSchema.parse('correct horse battery staple');
 * ```
 */
export const passwordSchema = z.string().min(MIN_PASSWORD_CHARS).max(MAX_PASSWORD_CHARS);

/**
 * An e-mail address as administrators are named by.
 *
 * @example
 * ```ts
 * emailSchema.parse('ops@acme.example');
 * ```
 */
export const emailSchema = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'an e-mail address');

/**
 * A display name (1..256 characters, no control characters).
 *
 * @example
 * ```ts
 * displayName.parse('Alice');
 * ```
 */
export const displayName = z
  .string()
  .min(1)
  .max(256)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is exactly "no control characters"
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

/**
 * An administrator's name (1..128 characters, no control characters).
 *
 * @example
 * ```ts
 * adminName.parse('Ops team');
 * ```
 */
export const adminName = z
  .string()
  .min(1)
  .max(128)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is exactly "no control characters"
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

/**
 * An administrator permission.
 *
 * @example
 * ```ts
 * permissionSchema.parse('users.read');
 * ```
 */
export const permissionSchema = named(
  z.enum(ADMIN_PERMISSIONS as unknown as [string, ...string[]]),
  'Permission',
  'A permission of the admin API (spec/admin-api.md, the matrix).',
);

/**
 * An administrator role.
 *
 * @example
 * ```ts
 * roleSchema.parse('auditor');
 * ```
 */
export const roleSchema = named(
  z.enum(['owner', 'admin', 'user-manager', 'auditor', 'integration']),
  'Role',
  'An administrator role.',
);

/**
 * The body of every error answer.
 *
 * @example
 * ```ts
 * errorBodySchema.parse({ error: { code: 'ERR_FORBIDDEN', message: 'this role does not allow this action' } });
 * ```
 */
export const errorBodySchema = named(
  z
    .object({
      error: z
        .object({
          code: z.string().describe('A stable code such as ERR_VALIDATION or ERR_FORBIDDEN.'),
          message: z.string().describe('Names a field or a rule, never a value.'),
          field: z.string().optional(),
        })
        .strict(),
    })
    .strict(),
  'Error',
  'The body of every error answer.',
);

/**
 * A tenant as the admin API shows it.
 *
 * @example
 * ```ts
 * const view = tenantView.parse(await (await fetch(`${url}/admin/v1/tenant`, { headers })).json());
 * console.log(view.name, view.domains, view.rootFingerprint ?? 'no root yet');
 * ```
 */
export const tenantView = named(
  z
    .object({
      id: identifier,
      name: z.string(),
      domains: z.array(z.string()),
      createdAt: z.number().int(),
      serverSigningKey: z
        .string()
        .describe('The server-held key that signs sender certificates (base64url).'),
      rootFingerprint: z
        .string()
        .startsWith(ROOT_FINGERPRINT_PREFIX)
        .nullable()
        .describe('The organisation root fingerprint, or null before the root is set.'),
    })
    .strict(),
  'Tenant',
  'A tenant (organisation).',
);

/**
 * An administrator as the admin API shows it (no secret, no hash).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 *
 * const body = await (await fetch(`${url}/admin/v1/administrators`, { headers })).json();
 * const { items } = z.object({ items: z.array(adminView) }).parse(body);
 * for (const a of items) console.log(a.email, a.role, a.totp); // 'ops@acme.example' 'admin' 'active'
 * ```
 */
export const adminView = named(
  z
    .object({
      id: adminIdSchema,
      email: z.string(),
      name: z.string(),
      role: roleSchema,
      scopes: z.array(permissionSchema),
      disabled: z.boolean(),
      totp: z.enum(['pending', 'active', 'none']),
      createdAt: z.number().int(),
    })
    .strict(),
  'Administrator',
  'An administrator (a person or an integration); never a secret.',
);

/**
 * A user as the admin API shows it.
 *
 * @example
 * ```ts
 * const view = userView.parse(await (await fetch(`${url}/admin/v1/users/alice`, { headers })).json());
 * console.log(view.displayName, view.blocked);
 * ```
 */
export const userView = named(
  z
    .object({
      id: identifier,
      displayName: z.string(),
      pools: z.array(identifier),
      blocked: z.boolean(),
      email: z.string().nullable().describe('E-mail address (domain lower-cased), or null.'),
      createdAt: z.number().int(),
      directory: z
        .object({
          source: z.string(),
          externalId: z.string().nullable(),
          state: z.enum(['active', 'disabled', 'left']),
          since: z.number().int(),
          reenableRequested: z.boolean(),
        })
        .strict()
        .optional()
        .describe('Present when a directory manages the user (`spec/directory.md` §1).'),
    })
    .strict(),
  'User',
  'A user of the tenant.',
);

/**
 * A device as the admin API shows it (its public identity key's fingerprint, never a credential).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 *
 * const body = await (await fetch(`${url}/admin/v1/users/alice/devices`, { headers })).json();
 * const { items } = z.object({ items: z.array(deviceView) }).parse(body);
 * for (const d of items) console.log(d.id, d.blocked, d.lastSeenAt);
 * ```
 */
export const deviceView = named(
  z
    .object({
      id: z.number().int().min(0).max(0xffff_ffff),
      blocked: z.boolean(),
      createdAt: z.number().int(),
      lastSeenAt: z.number().int().nullable(),
      identityKey: z.string().describe('The device identity signing key (base64url, 32 bytes).'),
      clientVersion: z.string().nullable().describe('What the device last reported, or null.'),
      enrolledVia: z
        .enum(['token', 'managed'])
        .describe('`managed`: enrolled with a managed enrolment token (MDM configuration).'),
    })
    .strict(),
  'Device',
  'A device of a user.',
);

/**
 * An audit record (hashes in base64url).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 *
 * const body = await (await fetch(`${url}/admin/v1/audit?limit=100`, { headers })).json();
 * const { items } = z.object({ items: z.array(auditRecordView) }).parse(body);
 * for (const r of items) console.log(r.seq, r.actor, r.action, r.outcome);
 * ```
 */
export const auditRecordView = named(
  z
    .object({
      seq: z.number().int().min(1),
      at: z.number().int(),
      actor: z.string(),
      action: z.string(),
      target: z.string(),
      outcome: z.enum(['success', 'failure', 'denied']),
      details: z.record(z.string(), z.unknown()),
      prevHash: z.string(),
      hash: z.string(),
    })
    .strict(),
  'AuditRecord',
  'One record of the hash-chained audit log.',
);

/**
 * The path of a user.
 *
 * @example
 * ```ts
 * const { user } = userParams.parse(request.params);
 * ```
 */
export const userParams = z.object({ user: identifier }).strict();

/**
 * The path of a device.
 *
 * @example
 * ```ts
 * const { user, device } = deviceParams.parse(request.params);
 * ```
 */
export const deviceParams = z.object({ user: identifier, device: deviceIdParam }).strict();

/**
 * Base64url without padding, as byte strings travel in JSON.
 *
 * @example
 * ```ts
 * b64url(new Uint8Array([1, 2, 3])); // 'AQID'
 * ```
 */
export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
