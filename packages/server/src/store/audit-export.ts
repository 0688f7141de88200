/**
 * The audit log's export formats for a SIEM (`spec/audit-log.md` §2): JSON lines (the admin API's
 * record view), ArcSight CEF:0 lines and OCSF 1.1 "API Activity" (class 6003) JSON lines, and the
 * explicit gap record each format carries where sequence numbers are missing.
 *
 * @module
 */
import type { RecordValue } from '@cloister/storage';
import type { AuditOutcome, AuditRecord } from './audit.js';

/**
 * The export formats.
 *
 * @example
 * ```ts
 * const format: AuditExportFormat = 'cef';
 * ```
 */
export type AuditExportFormat = 'jsonl' | 'cef' | 'ocsf';

/**
 * The CEF vendor, product and device version of every line (the version is that of the audit
 * record format, not of the server build).
 *
 * @example
 * ```ts
 * console.log(CEF_DEVICE.product); // 'Cloister Server'
 * ```
 */
export const CEF_DEVICE = Object.freeze({ vendor: 'Cloister', product: 'Cloister Server', version: '1' });

/**
 * The OCSF schema version the records follow.
 *
 * @example
 * ```ts
 * console.log(OCSF_VERSION); // '1.1.0'
 * ```
 */
export const OCSF_VERSION = '1.1.0';

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function jsonOf(value: RecordValue): unknown {
  if (value instanceof Uint8Array) return b64url(value);
  if (Array.isArray(value)) return value.map((v) => jsonOf(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonOf(v as RecordValue);
    return out;
  }
  return value;
}

/**
 * Escapes a CEF header field: backslash and pipe get a backslash; a line break becomes a space
 * (the header has no escape for it).
 *
 * @example
 * ```ts
 * cefHeaderEscape('a|b\\c'); // 'a\\|b\\\\c'
 * ```
 */
export function cefHeaderEscape(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');
}

/**
 * Escapes a CEF extension value: backslash and equals sign get a backslash, a newline is `\n`
 * and a carriage return `\r` (pipes need no escape there).
 *
 * @example
 * ```ts
 * cefValueEscape('a=b\nc'); // 'a\\=b\\nc'
 * ```
 */
export function cefValueEscape(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`));
}

const CEF_SEVERITY: Readonly<Record<AuditOutcome, number>> = { success: 3, failure: 6, denied: 8 };

function cef(signature: string, name: string, severity: number, ext: readonly [string, string | number][]) {
  const d = CEF_DEVICE;
  const header = [d.vendor, d.product, d.version, signature, name, String(severity)].map(cefHeaderEscape);
  const extension = ext.map(([k, v]) => `${k}=${cefValueEscape(String(v))}`).join(' ');
  return `CEF:0|${header.join('|')}|${extension}\n`;
}

/**
 * One record as a CEF:0 line (with its newline): signature ID the action, severity 3 (success),
 * 6 (failure) or 8 (denied); extension `rt` (ms), `suser`, `act`, `outcome`, `cs1` (target),
 * `cn1` (sequence), `externalId`, `cs2` (chain hash), `cs3` (details JSON), `cs4` (tenant).
 *
 * @example
 * ```ts
 * process.stdout.write(auditCefLine(record));
 * ```
 */
export function auditCefLine(r: AuditRecord): string {
  return cef(r.action, `${r.action} ${r.outcome}`, CEF_SEVERITY[r.outcome], [
    ['rt', r.at],
    ['suser', r.actor],
    ['act', r.action],
    ['outcome', r.outcome],
    ['cs1', r.target],
    ['cs1Label', 'target'],
    ['cn1', r.seq],
    ['cn1Label', 'sequence'],
    ['externalId', r.seq],
    ['cs2', b64url(r.hash)],
    ['cs2Label', 'chainHash'],
    ['cs3', JSON.stringify(jsonOf(r.details as RecordValue))],
    ['cs3Label', 'details'],
    ['cs4', r.tenant],
    ['cs4Label', 'tenant'],
  ]);
}

/**
 * The CEF line of a gap: signature ID `gap`, severity 10, `cn1`/`cn2` the first and last missing
 * sequence numbers, `rt` the export's time.
 *
 * @example
 * ```ts
 * process.stdout.write(auditCefGap(7, 9, Date.now(), 'acme'));
 * ```
 */
export function auditCefGap(from: number, to: number, at: number, tenant: string): string {
  return cef('gap', 'Audit records missing', 10, [
    ['rt', at],
    ['act', 'gap'],
    ['outcome', 'failure'],
    ['cn1', from],
    ['cn1Label', 'gapFrom'],
    ['cn2', to],
    ['cn2Label', 'gapTo'],
    ['msg', `audit records ${from}..${to} are missing`],
    ['cs4', tenant],
    ['cs4Label', 'tenant'],
  ]);
}

const OCSF_CLASS = 6003;
const OCSF_CATEGORY = 6;
const ACTIVITY: readonly [RegExp, number, string][] = [
  [/\.(create|add|invite|bootstrap|issue|enrol|admit)$/, 1, 'Create'],
  [/\.(export|read|view|search)$/, 2, 'Read'],
  [/\.(remove|delete|revoke|erase|purge)$/, 4, 'Delete'],
  [/\.(block|unblock|role|update|set|change|rotate|publish|wipe)$/, 3, 'Update'],
];
const OCSF_SEVERITY: Readonly<Record<AuditOutcome, number>> = { success: 1, failure: 2, denied: 3 };

function ocsfBase(activityId: number, activityName: string, time: number, severityId: number) {
  return {
    class_uid: OCSF_CLASS,
    class_name: 'API Activity',
    category_uid: OCSF_CATEGORY,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: OCSF_CLASS * 100 + activityId,
    time,
    severity_id: severityId,
  };
}

/**
 * One record as an OCSF 1.1 API Activity object (class 6003): the activity from the action's last
 * word (create, read, update, delete, else other), `actor.user`, `api.operation` (the action),
 * `resources` (the target), `status_id` 1 (success) or 2 (failure, denied), `metadata` with the
 * product, the sequence number and the chain hash, and `unmapped.cloister` with the details.
 *
 * @example
 * ```ts
 * process.stdout.write(`${JSON.stringify(auditOcsfRecord(record))}\n`);
 * ```
 */
export function auditOcsfRecord(r: AuditRecord): Record<string, unknown> {
  const found = ACTIVITY.find(([re]) => re.test(r.action));
  const [activityId, activityName] = found === undefined ? [99, 'Other'] : [found[1], found[2]];
  return {
    ...ocsfBase(activityId, activityName, r.at, OCSF_SEVERITY[r.outcome]),
    status_id: r.outcome === 'success' ? 1 : 2,
    status: r.outcome === 'success' ? 'Success' : 'Failure',
    ...(r.outcome === 'success' ? {} : { status_detail: r.outcome }),
    actor: { user: { uid: r.actor, name: r.actor } },
    api: { operation: r.action, service: { name: 'Cloister Admin API' } },
    ...(r.target === '' ? {} : { resources: [{ uid: r.target }] }),
    metadata: {
      version: OCSF_VERSION,
      product: { name: CEF_DEVICE.product, vendor_name: CEF_DEVICE.vendor },
      log_name: 'audit',
      uid: `${r.tenant}:${r.seq}`,
      sequence: r.seq,
      tenant_uid: r.tenant,
    },
    unmapped: {
      cloister: {
        seq: r.seq,
        hash: b64url(r.hash),
        prevHash: b64url(r.prevHash),
        outcome: r.outcome,
        details: jsonOf(r.details as RecordValue),
      },
    },
  };
}

/**
 * The OCSF object of a gap: API Activity, activity 99 (Other) named `Audit records missing`,
 * severity 5 (Critical), status 2, `unmapped.cloister = { type: 'gap', from, to }`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${JSON.stringify(auditOcsfGap(7, 9, Date.now(), 'acme'))}\n`);
 * ```
 */
export function auditOcsfGap(from: number, to: number, at: number, tenant: string): Record<string, unknown> {
  return {
    ...ocsfBase(99, 'Audit records missing', at, 5),
    status_id: 2,
    status: 'Failure',
    message: `audit records ${from}..${to} are missing`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: CEF_DEVICE.product, vendor_name: CEF_DEVICE.vendor },
      log_name: 'audit',
      tenant_uid: tenant,
    },
    unmapped: { cloister: { type: 'gap', from, to } },
  };
}
