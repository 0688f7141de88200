/**
 * The audit log in the admin API: search by time, actor, action and target, paged by sequence
 * number (`audit.read`); verify the whole hash chain (`audit.read`); export as JSON lines, CEF or
 * OCSF, with explicit gap records (`audit.export`, itself audited as `audit.export` before the
 * first line is sent); the log as a Merkle tree: a C2SP signed checkpoint, inclusion and
 * consistency proofs and the log's verifier key (`audit.read`; `spec/audit-log.md`).
 *
 * A search reads the log in sequence order from `after + 1` and stops when it has `limit` matches
 * or has read {@link AUDIT_SCAN_LIMIT} records; `next` (a sequence number) continues where it
 * stopped, so a search over a long log is a series of bounded requests.
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { TenantId } from '@cloister/protocol';
import { adapterExecutor } from '@cloister/storage';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import {
  type AuditExportFormat,
  auditCefGap,
  auditCefLine,
  auditOcsfGap,
  auditOcsfRecord,
} from '../../store/audit-export.js';
import { type AuditTree, createAuditTree } from '../../store/audit-tree.js';
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

function formatLine(format: AuditExportFormat, r: AuditRecord): string {
  if (format === 'cef') return auditCefLine(r);
  if (format === 'ocsf') return `${JSON.stringify(auditOcsfRecord(r))}\n`;
  return `${JSON.stringify(auditViewOf(r))}\n`;
}

function gapLine(format: AuditExportFormat, from: number, to: number, at: number, tenant: string): string {
  if (format === 'cef') return auditCefGap(from, to, at, tenant);
  if (format === 'ocsf') return `${JSON.stringify(auditOcsfGap(from, to, at, tenant))}\n`;
  return `${JSON.stringify({ type: 'gap', from, to })}\n`;
}

async function* lines(
  ctx: ServerContext,
  tenant: TenantId,
  filter: Filter,
  last: number,
  format: AuditExportFormat,
) {
  let seq = 1;
  const at = ctx.now();
  while (seq <= last) {
    const batch = await ctx.stores.audit.list(tenant, { fromSeq: seq, toSeq: last, limit: BATCH });
    if (batch.length === 0) break;
    for (const r of batch) {
      if (r.seq > seq) yield gapLine(format, seq, r.seq - 1, at, tenant);
      seq = r.seq + 1;
      if (matches(r, filter)) yield formatLine(format, r);
    }
  }
  if (seq <= last) yield gapLine(format, seq, last, at, tenant);
}

/**
 * `GET /admin/v1/audit/export` (`audit.export`): every record (optionally within `from`..`to`)
 * in `format`: `jsonl` (default; `application/x-ndjson`, the same objects the search answers),
 * `cef` (`text/plain`, CEF:0 lines) or `ocsf` (`application/x-ndjson`, OCSF API Activity), ending
 * with the `audit.export` record of this export. A missing range of sequence numbers is one gap
 * record (`{"type":"gap","from":n,"to":m}` in JSON lines), never skipped silently.
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
  summary: 'Export the audit log as JSON lines, CEF or OCSF',
  access: { permission: 'audit.export' },
  query: z
    .object({
      from: queryInt.optional().describe('Earliest time (ms since the epoch), inclusive.'),
      to: queryInt.optional().describe('Latest time (ms since the epoch), inclusive.'),
      format: z
        .enum(['jsonl', 'cef', 'ocsf'])
        .optional()
        .describe('jsonl (default), cef (CEF:0 lines, text/plain) or ocsf (OCSF API Activity JSON lines).'),
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
        ...(query.format === undefined || query.format === 'jsonl' ? {} : { format: query.format }),
      },
    });
    const format = query.format ?? 'jsonl';
    void reply.type(format === 'cef' ? 'text/plain; charset=utf-8' : 'application/x-ndjson');
    return Readable.from(lines(ctx, me.tenant, query, record.seq, format));
  },
});

function treeOf(ctx: ServerContext): AuditTree {
  return createAuditTree(adapterExecutor(ctx.adapter), ctx.provider, ctx.stores.audit);
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const proofHashes = z.array(z.string()).describe('The proof hashes, standard base64, in RFC 9162 order.');

/**
 * `GET /admin/v1/audit/checkpoint` (`audit.read`): a C2SP checkpoint of the whole log as a signed
 * note (`text/plain`): origin, tree size, base64 root hash, blank line, the log key's Ed25519
 * signature line. 409 when the chain does not verify or no longer extends the last checkpoint.
 *
 * @example
 * ```ts
 * const note = await (await fetch(`${url}/admin/v1/audit/checkpoint`, { headers })).text();
 * ```
 */
export const auditCheckpointOperation = defineAdminOperation({
  id: 'auditCheckpoint',
  method: 'GET',
  path: '/admin/v1/audit/checkpoint',
  tag: 'audit',
  summary: "A signed checkpoint of the audit log's Merkle tree (C2SP tlog-checkpoint, text/plain)",
  access: { permission: 'audit.read' },
  status: 200,
  response: 'text',
  handle: async (ctx, { me, reply }) => {
    const { note } = await treeOf(ctx).checkpoint(me.tenant);
    void reply.type('text/plain; charset=utf-8');
    return note;
  },
});

/**
 * `GET /admin/v1/audit/proof/inclusion?index&size` (`audit.read`): the RFC 9162 inclusion proof
 * of leaf `index` (0-based: record `index + 1`) in the tree of size `size`.
 *
 * @example
 * ```ts
 * const { hashes } = await (await fetch(`${url}/admin/v1/audit/proof/inclusion?index=0&size=10`, { headers })).json();
 * ```
 */
export const auditInclusionProofOperation = defineAdminOperation({
  id: 'auditInclusionProof',
  method: 'GET',
  path: '/admin/v1/audit/proof/inclusion',
  tag: 'audit',
  summary: 'An inclusion proof of one audit record (RFC 9162)',
  access: { permission: 'audit.read' },
  query: z
    .object({
      index: queryInt.describe('The leaf index: the record sequence number minus one.'),
      size: queryInt.describe('The tree size (at most the current log size).'),
    })
    .strict(),
  status: 200,
  response: z.object({ index: z.number().int(), size: z.number().int(), hashes: proofHashes }).strict(),
  handle: async (ctx, { me, query }) => {
    const hashes = await treeOf(ctx).inclusionProof(me.tenant, query.index, query.size);
    return { index: query.index, size: query.size, hashes: hashes.map(b64) };
  },
});

/**
 * `GET /admin/v1/audit/proof/consistency?from&to` (`audit.read`): the RFC 9162 consistency proof
 * between the trees of sizes `from` and `to`.
 *
 * @example
 * ```ts
 * const { hashes } = await (await fetch(`${url}/admin/v1/audit/proof/consistency?from=5&to=10`, { headers })).json();
 * ```
 */
export const auditConsistencyProofOperation = defineAdminOperation({
  id: 'auditConsistencyProof',
  method: 'GET',
  path: '/admin/v1/audit/proof/consistency',
  tag: 'audit',
  summary: 'A consistency proof between two audit log tree sizes (RFC 9162)',
  access: { permission: 'audit.read' },
  query: z
    .object({
      from: queryInt.describe('The older tree size.'),
      to: queryInt.describe('The newer tree size (at most the current log size).'),
    })
    .strict(),
  status: 200,
  response: z.object({ from: z.number().int(), to: z.number().int(), hashes: proofHashes }).strict(),
  handle: async (ctx, { me, query }) => {
    const hashes = await treeOf(ctx).consistencyProof(me.tenant, query.from, query.to);
    return { from: query.from, to: query.to, hashes: hashes.map(b64) };
  },
});

/**
 * `GET /admin/v1/audit/log-key` (`audit.read`): the log's origin and its signed-note verifier key.
 *
 * @example
 * ```ts
 * const { verifierKey } = await (await fetch(`${url}/admin/v1/audit/log-key`, { headers })).json();
 * ```
 */
export const auditLogKeyOperation = defineAdminOperation({
  id: 'auditLogKey',
  method: 'GET',
  path: '/admin/v1/audit/log-key',
  tag: 'audit',
  summary: "The audit log's checkpoint origin and note verifier key",
  access: { permission: 'audit.read' },
  status: 200,
  response: z
    .object({
      origin: z.string(),
      verifierKey: z.string().describe('`<name>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>`.'),
    })
    .strict(),
  handle: async (ctx, { me }) => {
    const key = await treeOf(ctx).logKey(me.tenant);
    return { origin: key.origin, verifierKey: key.verifierKey };
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
export const AUDIT_OPERATIONS = [
  searchAuditOperation,
  verifyAuditOperation,
  exportAuditOperation,
  auditCheckpointOperation,
  auditInclusionProofOperation,
  auditConsistencyProofOperation,
  auditLogKeyOperation,
] as const;
