/**
 * The audit log in the admin API: search by time, actor, action and target, paged by sequence
 * number (`audit.read`); verify the whole hash chain (`audit.read`); export as JSON lines
 * (`audit.export`, itself audited as `audit.export` before the first line is sent).
 *
 * A search reads the log in sequence order from `after + 1` and stops when it has `limit` matches
 * or has read {@link AUDIT_SCAN_LIMIT} records; `next` (a sequence number) continues where it
 * stopped, so a search over a long log is a series of bounded requests.
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { TenantId } from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import type { AuditRecord } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { auditRecordView, b64url, pageLimit, queryInt } from './schemas.js';
import { auditViewOf } from './views.js';

/**
 * Most records one search request reads before it answers with `next`.
 *
 * @example
 * ```ts
 * console.log(AUDIT_SCAN_LIMIT); // 10000
 * ```
 */
export const AUDIT_SCAN_LIMIT = 10_000;

const BATCH = 1000;

const filterText = z.string().min(1).max(512);
const searchQuery = z
  .object({
    from: queryInt.optional().describe('Earliest time (ms since the epoch), inclusive.'),
    to: queryInt.optional().describe('Latest time (ms since the epoch), inclusive.'),
    actor: filterText.optional(),
    action: filterText.optional().describe('An action, or a prefix ending in "." (such as "user.").'),
    target: filterText.optional(),
    limit: pageLimit.optional(),
    after: queryInt.optional().describe("Continue after this sequence number (a previous answer's next)."),
  })
  .strict();

interface Filter {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly target?: string | undefined;
}

function matches(r: AuditRecord, f: Filter): boolean {
  if (f.from !== undefined && r.at < f.from) return false;
  if (f.to !== undefined && r.at > f.to) return false;
  if (f.actor !== undefined && r.actor !== f.actor) return false;
  if (f.target !== undefined && r.target !== f.target) return false;
  if (f.action !== undefined) {
    const prefix = f.action.endsWith('.');
    if (prefix ? !r.action.startsWith(f.action) : r.action !== f.action) return false;
  }
  return true;
}

/**
 * `GET /admin/v1/audit` (`audit.read`): matching records in sequence order.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/audit?action=user.&limit=50`, { headers })).json();
 * ```
 */
export const searchAuditOperation = defineAdminOperation({
  id: 'searchAudit',
  method: 'GET',
  path: '/admin/v1/audit',
  tag: 'audit',
  summary: 'Search the audit log',
  access: { permission: 'audit.read' },
  query: searchQuery,
  status: 200,
  response: z
    .object({
      items: z.array(auditRecordView),
      next: z.string().optional().describe('A sequence number: pass it as `after` to continue.'),
    })
    .strict(),
  handle: async (ctx, { me, query }) => {
    const limit = query.limit ?? 100;
    const head = await ctx.stores.audit.head(me.tenant);
    const items: ReturnType<typeof auditViewOf>[] = [];
    if (head === undefined) return { items };
    let seq = (query.after ?? 0) + 1;
    let scanned = 0;
    while (items.length < limit && seq <= head.seq && scanned < AUDIT_SCAN_LIMIT) {
      const batch = await ctx.stores.audit.list(me.tenant, {
        fromSeq: seq,
        toSeq: head.seq,
        limit: Math.min(BATCH, AUDIT_SCAN_LIMIT - scanned),
      });
      if (batch.length === 0) break;
      for (const r of batch) {
        scanned += 1;
        seq = r.seq + 1;
        if (matches(r, query)) items.push(auditViewOf(r));
        if (items.length >= limit) break;
      }
    }
    return { items, ...(seq <= head.seq ? { next: String(seq - 1) } : {}) };
  },
});

/**
 * `GET /admin/v1/audit/verify` (`audit.read`): recomputes the chain.
 *
 * @example
 * ```ts
 * const check = await (await fetch(`${url}/admin/v1/audit/verify`, { headers })).json();
 * if (!check.ok) console.error('audit chain broken at', check.firstBadSeq);
 * ```
 */
export const verifyAuditOperation = defineAdminOperation({
  id: 'verifyAudit',
  method: 'GET',
  path: '/admin/v1/audit/verify',
  tag: 'audit',
  summary: "Verify the audit log's hash chain",
  access: { permission: 'audit.read' },
  status: 200,
  response: z.union([
    z
      .object({
        ok: z.literal(true),
        count: z.number().int(),
        head: z.string().describe('The last chain hash (base64url): publish it to anchor the chain.'),
      })
      .strict(),
    z.object({ ok: z.literal(false), firstBadSeq: z.number().int() }).strict(),
  ]),
  handle: async (ctx, { me }) => {
    const check = await ctx.stores.audit.verifyChain(me.tenant);
    return check.ok
      ? { ok: true as const, count: check.count, head: b64url(check.head) }
      : { ok: false as const, firstBadSeq: check.firstBadSeq };
  },
});

async function* lines(ctx: ServerContext, tenant: TenantId, filter: Filter, last: number) {
  let seq = 1;
  while (seq <= last) {
    const batch = await ctx.stores.audit.list(tenant, { fromSeq: seq, toSeq: last, limit: BATCH });
    if (batch.length === 0) return;
    for (const r of batch) {
      seq = r.seq + 1;
      if (matches(r, filter)) yield `${JSON.stringify(auditViewOf(r))}\n`;
    }
  }
}

/**
 * `GET /admin/v1/audit/export` (`audit.export`): every record (optionally within `from`..`to`)
 * as JSON lines (`application/x-ndjson`), the same objects the search answers, ending with the
 * `audit.export` record of this export.
 *
 * @example
 * ```ts
 * const text = await (await fetch(`${url}/admin/v1/audit/export`, { headers })).text();
 * const records = text.trim().split('\n').map((l) => JSON.parse(l));
 * ```
 */
export const exportAuditOperation = defineAdminOperation({
  id: 'exportAudit',
  method: 'GET',
  path: '/admin/v1/audit/export',
  tag: 'audit',
  summary: 'Export the audit log as JSON lines',
  access: { permission: 'audit.export' },
  query: z
    .object({
      from: queryInt.optional().describe('Earliest time (ms since the epoch), inclusive.'),
      to: queryInt.optional().describe('Latest time (ms since the epoch), inclusive.'),
    })
    .strict(),
  status: 200,
  response: 'jsonl',
  handle: async (ctx, { me, query, reply }) => {
    const record = await ctx.stores.audit.append(me.tenant, {
      actor: me.admin.id,
      action: 'audit.export',
      target: me.tenant,
      outcome: 'success',
      details: {
        ...(query.from === undefined ? {} : { from: query.from }),
        ...(query.to === undefined ? {} : { to: query.to }),
      },
    });
    void reply.type('application/x-ndjson');
    return Readable.from(lines(ctx, me.tenant, query, record.seq));
  },
});

/**
 * The audit operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, AUDIT_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const AUDIT_OPERATIONS = [searchAuditOperation, verifyAuditOperation, exportAuditOperation] as const;
