/**
 * The latest compliance report of each device (`spec/restrictions.md` §5): which policy revision
 * it applied, which restrictions its SDK enforces and which its app declared it enforces, and the
 * SDK version it runs. One row per device, replaced by each report; the device's purge removes it.
 *
 * - `s_compliance[k(tenant, user)][u32(device)]` → `{ revision, reportedAt, sdk, enforced, appEnforced }`
 *
 * @module
 */
import type { DeviceId } from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkArray,
  checkDeviceId,
  checkId,
  checkObject,
  checkText,
  getRec,
  key,
  T,
  u32,
  write,
} from './_util.js';

/**
 * Bounds of a report: restriction names per list, characters per name, per revision and per SDK version.
 *
 * @example
 * ```ts
 * console.log(COMPLIANCE_LIMITS.names); // 64
 * ```
 */
export const COMPLIANCE_LIMITS = { names: 64, name: 64, revision: 64, sdk: 64 } as const;

/**
 * A device's latest compliance report, as stored.
 *
 * @example
 * ```ts
 * const report: ComplianceReport | undefined = await stores.compliance.get(tenant, user, device);
 * const stale = report === undefined || Date.now() - report.reportedAt > 86_400_000;
 * ```
 */
export interface ComplianceReport {
  /** The policy revision (`GET /v1/policy`'s `revision`) the device applied. */
  readonly revision: string;
  /** When the server received the report (server clock, Unix ms). */
  readonly reportedAt: number;
  /** The SDK's name and version, as it reports it. */
  readonly sdk: string;
  /** The restrictions the SDK enforces itself, sorted. */
  readonly enforced: readonly string[];
  /** The restrictions the app declared it enforces, sorted. */
  readonly appEnforced: readonly string[];
}

/**
 * What a device reports ({@link ComplianceStore.put}); the server adds `reportedAt`.
 *
 * @example
 * ```ts
 * const input: ComplianceReportInput = { revision: 'r1', sdk: '@cloister/client/0.1.0', enforced: ['files.send'], appEnforced: [] };
 * ```
 */
export type ComplianceReportInput = Omit<ComplianceReport, 'reportedAt'>;

/**
 * The compliance reports of devices.
 *
 * @example
 * ```ts
 * await stores.compliance.put(tenant, user, device, { revision: 'r1', sdk: '@cloister/client/0.1.0', enforced: ['files.send'], appEnforced: [] });
 * ```
 */
export interface ComplianceStore {
  /**
   * Replaces the device's report (names deduplicated and sorted; each list at most
   * {@link COMPLIANCE_LIMITS}`.names`); `reportedAt` is the store's clock. `ValidationError` for a
   * malformed field.
   *
   * @example
   * ```ts
   * const stored = await stores.compliance.put(tenant, user, device, { revision: 'r1', sdk: 'x/1', enforced: [], appEnforced: ['screenshots'] });
   * ```
   */
  put(
    tenant: TenantId,
    user: UserId,
    device: DeviceId,
    report: ComplianceReportInput,
  ): Promise<ComplianceReport>;
  /**
   * The device's latest report, or undefined.
   *
   * @example
   * ```ts
   * const report = await stores.compliance.get(tenant, user, device);
   * ```
   */
  get(tenant: TenantId, user: UserId, device: DeviceId): Promise<ComplianceReport | undefined>;
}

function names(value: unknown, field: string): string[] {
  const list = checkArray(value, field, COMPLIANCE_LIMITS.names).map((v, i) =>
    checkText(v, `${field}[${i}]`, COMPLIANCE_LIMITS.name),
  );
  return [...new Set(list)].sort();
}

/**
 * Creates the compliance store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const compliance = createComplianceStore(adapterExecutor(adapter));
 * ```
 */
export function createComplianceStore(run: Executor): ComplianceStore {
  return {
    async put(tenant, user, device, report) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(device, 'device');
      const o = checkObject(report, 'report');
      const revision = checkText(o.revision, 'revision', COMPLIANCE_LIMITS.revision);
      const sdk = checkText(o.sdk, 'sdk', COMPLIANCE_LIMITS.sdk);
      const enforced = names(o.enforced, 'enforced');
      const appEnforced = names(o.appEnforced, 'appEnforced');
      return run(async (tx) => {
        const stored: ComplianceReport = { revision, reportedAt: tx.now, sdk, enforced, appEnforced };
        await tx.put(T.compliance, {
          partition: key(tid, uid),
          sort: u32(did),
          value: write({ ...stored, enforced: [...enforced], appEnforced: [...appEnforced] }),
        });
        return stored;
      });
    },

    async get(tenant, user, device) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(device, 'device');
      return run(async (tx) => {
        const r = await getRec(tx, T.compliance, key(tid, uid), u32(did));
        if (r === undefined) return undefined;
        return {
          revision: r.str('revision', COMPLIANCE_LIMITS.revision),
          reportedAt: r.int('reportedAt'),
          sdk: r.str('sdk', COMPLIANCE_LIMITS.sdk),
          enforced: r.strs('enforced'),
          appEnforced: r.strs('appEnforced'),
        };
      });
    },
  };
}
