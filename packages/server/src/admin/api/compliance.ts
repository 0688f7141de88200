/**
 * Client compliance in the admin API (`spec/restrictions.md` §6): `GET /admin/v1/compliance`
 * (`devices.read`) lists the devices of the tenant that are not compliant, each with its reasons:
 * no report (`missing`), a report for another policy revision than the user's current one
 * (`revision`), a report older than `maxAgeMs` (`stale`), or a report that does not cover a
 * restriction the user's policy sets (`not-enforced`, with the names). Blocked devices are left
 * out (they cannot connect, so cannot report). {@link deviceCompliance} is the check, for other
 * listings (filters) to reuse.
 *
 * @module
 */
import {
  RESTRICTION_DEFAULTS,
  RESTRICTION_NAMES,
  RESTRICTIONS,
  type RestrictionName,
  restrictionsFromFeatures,
  type TenantId,
  type UserId,
} from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { resolvedPolicy } from '../../routes/policy.js';
import type { ComplianceReport, Device } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { identifier, queryInt } from './schemas.js';

/**
 * Why a device is not compliant.
 *
 * @example
 * ```ts
 * const reason: ComplianceReason = 'revision'; // it applied an older policy
 * ```
 */
export type ComplianceReason = 'missing' | 'revision' | 'stale' | 'not-enforced';

/**
 * How long a report stays current by default: 24 hours (clients report at every connection and
 * every policy change).
 *
 * @example
 * ```ts
 * const stale = now - report.reportedAt > DEFAULT_COMPLIANCE_MAX_AGE_MS;
 * ```
 */
export const DEFAULT_COMPLIANCE_MAX_AGE_MS = 86_400_000;

/**
 * The compliance of one device.
 *
 * @example
 * ```ts
 * const c: DeviceCompliance = { compliant: false, reasons: ['not-enforced'], notEnforced: ['clipboard.copy'] };
 * ```
 */
export interface DeviceCompliance {
  /** True when there is no reason. */
  readonly compliant: boolean;
  /** Every reason that applies, in the order missing, revision, stale, not-enforced. */
  readonly reasons: readonly ComplianceReason[];
  /** The restrictions the policy sets that the report covers neither as SDK- nor as app-enforced. */
  readonly notEnforced: readonly RestrictionName[];
}

/**
 * The restrictions a user's policy sets (a value other than the default), and its revision.
 *
 * @example
 * ```ts
 * const { revision, restricted } = await restrictionsInForce(ctx, tenant, user);
 * ```
 */
export async function restrictionsInForce(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
): Promise<{ readonly revision: string; readonly restricted: readonly RestrictionName[] }> {
  const policy = await resolvedPolicy(ctx, tenant, user);
  const archive = policy.features[RESTRICTIONS.archive.feature]?.enabled === true;
  const { values } = restrictionsFromFeatures(policy.features, policy.retention.messageLifetimeMs, archive);
  const restricted = RESTRICTION_NAMES.filter(
    (n) => JSON.stringify(values[n]) !== JSON.stringify(RESTRICTION_DEFAULTS[n]),
  );
  return { revision: policy.revision, restricted };
}

/**
 * Checks one device's latest report against its user's policy (revision and restrictions in force).
 *
 * @example
 * ```ts
 * const inForce = await restrictionsInForce(ctx, tenant, user);
 * const report = await ctx.stores.compliance.get(tenant, user, device);
 * const { compliant, reasons } = deviceCompliance(report, inForce, ctx.now(), DEFAULT_COMPLIANCE_MAX_AGE_MS);
 * ```
 */
export function deviceCompliance(
  report: ComplianceReport | undefined,
  inForce: { readonly revision: string; readonly restricted: readonly RestrictionName[] },
  now: number,
  maxAgeMs: number,
): DeviceCompliance {
  if (report === undefined)
    return { compliant: false, reasons: ['missing'], notEnforced: [...inForce.restricted] };
  const reasons: ComplianceReason[] = [];
  if (report.revision !== inForce.revision) reasons.push('revision');
  if (now - report.reportedAt > maxAgeMs) reasons.push('stale');
  const covered = new Set([...report.enforced, ...report.appEnforced]);
  const notEnforced = inForce.restricted.filter((n) => !covered.has(n));
  if (notEnforced.length > 0) reasons.push('not-enforced');
  return { compliant: reasons.length === 0, reasons, notEnforced };
}

const complianceItem = z
  .object({
    user: z.string(),
    device: z.number().int(),
    reasons: z.array(z.enum(['missing', 'revision', 'stale', 'not-enforced'])).describe('Why, at least one.'),
    notEnforced: z.array(z.string()).describe('Restrictions in force the report does not cover.'),
    revision: z.string().nullable().describe('The policy revision the device reported, or null.'),
    currentRevision: z.string().describe("The user's current policy revision."),
    reportedAt: z.number().int().nullable().describe('When the latest report arrived (ms), or null.'),
    sdk: z.string().nullable(),
    enforced: z.array(z.string()).describe('What the SDK reported it enforces.'),
    appEnforced: z.array(z.string()).describe('What the app declared it enforces.'),
    appVersion: z.string().nullable(),
    platform: z.string().nullable(),
  })
  .strict();

const complianceQuery = z
  .object({
    after: z.string().min(1).max(256).optional(),
    limit: queryInt.refine((n) => n >= 1 && n <= 200, 'from 1 to 200').optional(),
    maxAgeMs: queryInt.optional(),
  })
  .strict();

function itemOf(d: Device, report: ComplianceReport | undefined, current: string, c: DeviceCompliance) {
  return {
    user: d.user,
    device: d.id,
    reasons: [...c.reasons],
    notEnforced: [...c.notEnforced],
    revision: report?.revision ?? null,
    currentRevision: current,
    reportedAt: report?.reportedAt ?? null,
    sdk: report?.sdk ?? null,
    enforced: [...(report?.enforced ?? [])],
    appEnforced: [...(report?.appEnforced ?? [])],
    appVersion: d.appVersion ?? null,
    platform: d.platform ?? null,
  };
}

/**
 * `GET /admin/v1/compliance` (`devices.read`): the non-compliant devices of the tenant. A page
 * covers `limit` users (1..200, default 50) in the users' order, so it may hold fewer items, even
 * none, and still have `next`; `maxAgeMs` (default {@link DEFAULT_COMPLIANCE_MAX_AGE_MS}) is how
 * old a report may be.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/compliance?limit=50`, { headers })).json();
 * ```
 */
export const listNonCompliantOperation = defineAdminOperation({
  id: 'listNonCompliantDevices',
  method: 'GET',
  path: '/admin/v1/compliance',
  tag: 'devices',
  summary: 'List non-compliant devices',
  access: { permission: 'devices.read' },
  query: complianceQuery,
  status: 200,
  response: z.object({ items: z.array(complianceItem), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, query }) => {
    const maxAgeMs = query.maxAgeMs ?? DEFAULT_COMPLIANCE_MAX_AGE_MS;
    const page = await ctx.stores.users.list(me.tenant, {
      ...(query.after === undefined ? {} : { after: identifier.parse(query.after) }),
      limit: query.limit ?? 50,
    });
    const now = ctx.now();
    const items: z.infer<typeof complianceItem>[] = [];
    for (const user of page.items) {
      const devices = (await ctx.stores.devices.list(me.tenant, user.id)).filter((d) => !d.blocked);
      if (devices.length === 0) continue;
      const inForce = await restrictionsInForce(ctx, me.tenant, user.id);
      for (const d of devices) {
        const report = await ctx.stores.compliance.get(me.tenant, user.id, d.id);
        const c = deviceCompliance(report, inForce, now, maxAgeMs);
        if (!c.compliant) items.push(itemOf(d, report, inForce.revision, c));
      }
    }
    return { items, ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

/**
 * The compliance operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, COMPLIANCE_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const COMPLIANCE_OPERATIONS = [listNonCompliantOperation] as const;
