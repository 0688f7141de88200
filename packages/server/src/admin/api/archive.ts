/**
 * The compliance archive in the admin API (`spec/archive-server.md`, `spec/admin-api.md`): the
 * registry of archive key sets (each auditor's wrapped share of the archive private key, which the
 * server cannot open), the sealed items page by page, and the streamed export. Reading items and
 * shares needs `archive.audit` (the auditor role only: not owner, not admin) with a fresh second
 * factor; the key sets' metadata is also readable with `policy.read`. Every call is audited in its
 * transaction (`archive.key-set.create`, `archive.key-set.list`, `archive.read`, `archive.export`).
 *
 * @module
 */
import { Readable } from 'node:stream';
import { ForbiddenError } from '@cloister/crypto';
import { archiveKeyFingerprint, type TenantId } from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import type { ArchiveItem, ArchiveKeySet } from '../../store/index.js';
import { MAX_ARCHIVE_SHARE_BYTES } from '../../store/index.js';
import { type AdminAuth, authenticateAdmin } from '../sessions.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, b64url, pageLimit, queryInt } from './schemas.js';

const b64 = (maxBytes: number) =>
  z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9_-]{1,${Math.ceil((maxBytes * 4) / 3)}}$`), 'base64url without padding');
const setIdSchema = z.string().regex(/^[0-9a-f]{32}$/, '32 lower-case hex characters (16 bytes)');

/**
 * An archive item as the admin API answers it (bytes as unpadded base64url).
 *
 * @example
 * ```ts
 * const line = '{"id":"00","seq":1,"receivedAt":0,"deliveryId":null,"size":1,"sealed":"AA","expiresAt":null}';
 * const item = archiveItemView.parse(JSON.parse(line));
 * ```
 */
export const archiveItemView = z
  .object({
    id: z.string().describe('The item id (hex): the listing cursor.'),
    seq: z
      .number()
      .int()
      .nullable()
      .describe('The per-tenant filing sequence number; null for items filed before numbering.'),
    receivedAt: z.number().int().describe('When the server filed it (ms since the epoch).'),
    deliveryId: z
      .string()
      .nullable()
      .describe('The delivery it was filed with (base64url of 16 bytes), or null.'),
    size: z.number().int().describe('Size of the seal in bytes.'),
    sealed: z.string().describe('The seal (base64url), as the client made it.'),
    expiresAt: z
      .number()
      .int()
      .nullable()
      .describe('When the server shreds it (ms); null: never, or frozen by a legal hold.'),
  })
  .strict();
ADMIN_SCHEMAS.add(archiveItemView, { id: 'ArchiveItem', description: 'A sealed compliance-archive item' });

/**
 * An archive key set as the admin API lists it; `shares` only for an auditor (`archive.audit`).
 *
 * @example
 * ```ts
 * const { items } = (await (await fetch(`${url}/admin/v1/archive/key-sets`, { headers })).json()) as { items: unknown[] };
 * const [set] = items.map((i) => archiveKeySetView.parse(i));
 * ```
 */
export const archiveKeySetView = z
  .object({
    id: z.string(),
    publicKey: z.string().describe('The archive X25519 public key (base64url of 32 bytes).'),
    fingerprint: z.string().describe('`cloister-archive:v1:…`.'),
    threshold: z.number().int(),
    holders: z.array(z.string()),
    label: z.string().optional(),
    createdAt: z.number().int(),
    createdBy: z.string(),
    shares: z
      .array(z.object({ holder: z.string(), share: z.string() }).strict())
      .optional()
      .describe('Each holder’s wrapped share (base64url): auditors only.'),
  })
  .strict();
ADMIN_SCHEMAS.add(archiveKeySetView, {
  id: 'ArchiveKeySet',
  description: 'An archive key set and, for auditors, its wrapped shares',
});

/**
 * The JSON view of a stored item.
 *
 * @example
 * ```ts
 * const item = await stores.archive.get(tenant, '000001a1c554c730d6f93edc8ef2eb60');
 * if (item !== undefined) console.log(archiveItemViewOf(item)); // { id, seq, receivedAt, deliveryId, size, sealed, expiresAt }
 * ```
 */
export function archiveItemViewOf(item: ArchiveItem): z.infer<typeof archiveItemView> {
  return {
    id: item.id,
    seq: item.seq,
    receivedAt: item.receivedAt,
    deliveryId: item.deliveryId === null ? null : b64url(item.deliveryId),
    size: item.size,
    sealed: b64url(item.sealed),
    expiresAt: item.expiresAt,
  };
}

function keySetViewOf(set: ArchiveKeySet, shares: boolean): z.infer<typeof archiveKeySetView> {
  return {
    id: set.id,
    publicKey: b64url(set.publicKey),
    fingerprint: set.fingerprint,
    threshold: set.threshold,
    holders: set.holders.map((h) => h.holder),
    ...(set.label === null ? {} : { label: set.label }),
    createdAt: set.createdAt,
    createdBy: set.createdBy,
    ...(shares ? { shares: set.holders.map((h) => ({ holder: h.holder, share: b64url(h.share) })) } : {}),
  };
}

const fromBase64Url = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

/**
 * `POST /admin/v1/archive/key-sets` (`archive.audit`, fresh factor, people only) `{ setId,
 * publicKey, threshold, holders: [{ holder, share }], label? }` → 201 `{ id, fingerprint,
 * createdAt, createdBy }`. The server checks lengths and uniqueness only (it cannot open a share):
 * a 32-byte key, 2..16 distinct holders, threshold 2..holders, shares of at most 4096 bytes; 409
 * `conflict: archive.key-set` for a set id already registered. Audited `archive.key-set.create`.
 *
 * @example
 * ```ts
 * const [publicKey, share, share2] = ['<base64url of 32 bytes>', '<wrapped share>', '<wrapped share>'];
 * const body = JSON.stringify({ setId: '0123456789abcdef0123456789abcdef', publicKey, threshold: 2, holders: [{ holder: 'dpo', share }, { holder: 'audit', share: share2 }] });
 * const { fingerprint } = await (await fetch(`${url}/admin/v1/archive/key-sets`, { method: 'POST', headers, body })).json();
 * ```
 */
export const createArchiveKeySetOperation = defineAdminOperation({
  id: 'createArchiveKeySet',
  method: 'POST',
  path: '/admin/v1/archive/key-sets',
  tag: 'archive',
  summary: 'Register an archive key set and its wrapped shares',
  access: { permission: 'archive.audit', freshFactor: true, allowKey: false },
  body: z
    .object({
      setId: setIdSchema.describe('The share set id every share carries.'),
      publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte key, base64url'),
      threshold: z.number().int().min(2).max(16),
      holders: z
        .array(z.object({ holder: z.string().min(1).max(255), share: b64(MAX_ARCHIVE_SHARE_BYTES) }).strict())
        .min(2)
        .max(16)
        .refine((hs) => new Set(hs.map((h) => h.holder)).size === hs.length, 'distinct holders'),
      label: z.string().min(1).max(128).optional(),
    })
    .strict()
    .refine((b) => b.threshold <= b.holders.length, {
      message: 'at most the number of holders',
      path: ['threshold'],
    }),
  status: 201,
  response: z
    .object({ id: z.string(), fingerprint: z.string(), createdAt: z.number().int(), createdBy: z.string() })
    .strict(),
  handle: async (ctx, { me, body }) => {
    const publicKey = fromBase64Url(body.publicKey);
    const set: ArchiveKeySet = {
      tenant: me.tenant,
      id: body.setId,
      publicKey,
      fingerprint: await archiveKeyFingerprint(ctx.provider, publicKey),
      threshold: body.threshold,
      holders: body.holders.map((h) => ({ holder: h.holder, share: fromBase64Url(h.share) })),
      label: body.label ?? null,
      createdAt: ctx.now(),
      createdBy: me.admin.id,
    };
    await ctx.stores.transaction(async (s) => {
      await s.archiveKeySets.create(set);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'archive.key-set.create',
        target: set.id,
        outcome: 'success',
        details: {
          fingerprint: set.fingerprint,
          threshold: set.threshold,
          holders: set.holders.map((h) => h.holder),
        },
      });
    });
    return { id: set.id, fingerprint: set.fingerprint, createdAt: set.createdAt, createdBy: set.createdBy };
  },
});

/** Whether the caller may read the wrapped shares: `archive.audit` with a fresh second factor. */
async function mayReadShares(
  ctx: ServerContext,
  request: Parameters<typeof authenticateAdmin>[1],
  me: AdminAuth,
) {
  if (me.via !== 'session') return false;
  try {
    await authenticateAdmin(ctx, request, {
      permission: 'archive.audit',
      freshFactor: true,
      allowKey: false,
    });
    return true;
  } catch (error) {
    if (error instanceof ForbiddenError) return false;
    throw error;
  }
}

/**
 * `GET /admin/v1/archive/key-sets` (`policy.read`) → `{ items }`: the tenant's key sets, oldest
 * first; each holder's wrapped share (`shares`) only for a caller with `archive.audit` and a fresh
 * second factor. Audited `archive.key-set.list` (with whether shares were given).
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/archive/key-sets`, { headers })).json();
 * ```
 */
export const listArchiveKeySetsOperation = defineAdminOperation({
  id: 'listArchiveKeySets',
  method: 'GET',
  path: '/admin/v1/archive/key-sets',
  tag: 'archive',
  summary: 'List the archive key sets (and, for auditors, the wrapped shares)',
  access: { permission: 'policy.read' },
  status: 200,
  response: z.object({ items: z.array(archiveKeySetView) }).strict(),
  handle: async (ctx, { me, request }) => {
    const shares = await mayReadShares(ctx, request, me);
    const sets = await ctx.stores.transaction(async (s) => {
      const all = await s.archiveKeySets.list(me.tenant);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'archive.key-set.list',
        target: me.tenant,
        outcome: 'success',
        details: { sets: all.length, shares },
      });
      return all;
    });
    return { items: sets.map((set) => keySetViewOf(set, shares)) };
  },
});

const purposeSchema = z
  .string()
  .min(1)
  .max(200)
  .describe('Why the archive is read: recorded in the audit log.');

/** The audit details of a read: the range asked for and what it spanned. */
function readDetails(
  query: { from?: number | undefined; to?: number | undefined; purpose?: string | undefined },
  extra: Record<string, number | string | null>,
) {
  return {
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
    ...(query.purpose === undefined ? {} : { purpose: query.purpose }),
    ...extra,
  };
}

/** The first and last sequence numbers among `items` (null when none carries one). */
function seqRange(items: readonly ArchiveItem[]): { firstSeq: number | null; lastSeq: number | null } {
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  for (const { seq } of items) {
    if (seq === null) continue;
    if (firstSeq === null || seq < firstSeq) firstSeq = seq;
    if (lastSeq === null || seq > lastSeq) lastSeq = seq;
  }
  return { firstSeq, lastSeq };
}

/**
 * `GET /admin/v1/archive/items?from&to&after&limit&purpose` (`archive.audit`, fresh factor, people
 * only) → `{ items, next?, range: { firstSeq, lastSeq } }`: items received in `[from, to)`, ordered
 * by (receivedAt, id), at most `limit` (1..1000, default 100); `next` is the `after` of the next
 * page; `range` the lowest and highest filing sequence numbers on the page (gaps are items deleted,
 * shredded or withheld). Audited `archive.read` with the range and the `purpose`, in the read's
 * transaction.
 *
 * @example
 * ```ts
 * const page = await (await fetch(`${url}/admin/v1/archive/items?from=0&limit=500&purpose=case-114`, { headers })).json();
 * ```
 */
export const listArchiveItemsOperation = defineAdminOperation({
  id: 'listArchiveItems',
  method: 'GET',
  path: '/admin/v1/archive/items',
  tag: 'archive',
  summary: 'Read the sealed archive items of a time range',
  access: { permission: 'archive.audit', freshFactor: true, allowKey: false },
  query: z
    .object({
      from: queryInt.optional().describe('Earliest filing time (ms since the epoch), inclusive.'),
      to: queryInt.optional().describe('Latest filing time (ms since the epoch), exclusive.'),
      after: z
        .string()
        .regex(/^[0-9a-f]{32}$/, 'an archive item id')
        .optional(),
      limit: pageLimit.optional(),
      purpose: purposeSchema.optional(),
    })
    .strict(),
  status: 200,
  response: z
    .object({
      items: z.array(archiveItemView),
      next: z.string().optional(),
      range: z
        .object({ firstSeq: z.number().int().nullable(), lastSeq: z.number().int().nullable() })
        .strict(),
    })
    .strict(),
  handle: async (ctx, { me, query }) => {
    const page = await ctx.stores.transaction(async (s) => {
      const listed = await s.archive.list(me.tenant, {
        ...(query.from === undefined ? {} : { from: query.from }),
        ...(query.to === undefined ? {} : { to: query.to }),
        ...(query.after === undefined ? {} : { after: query.after }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      });
      const range = seqRange(listed.items);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'archive.read',
        target: me.tenant,
        outcome: 'success',
        details: readDetails(query, { count: listed.items.length, ...range }),
      });
      return { ...listed, range };
    });
    return {
      items: page.items.map(archiveItemViewOf),
      ...(page.next === undefined ? {} : { next: page.next }),
      range: page.range,
    };
  },
});

/** Every item of `[from, to)`, page by page, as JSON lines (bounded memory). */
async function* exportLines(
  ctx: ServerContext,
  tenant: TenantId,
  from: number | undefined,
  to: number | undefined,
) {
  let after: string | undefined;
  for (;;) {
    const page = await ctx.stores.archive.list(tenant, {
      limit: 500,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(after === undefined ? {} : { after }),
    });
    for (const item of page.items) yield `${JSON.stringify(archiveItemViewOf(item))}\n`;
    if (page.next === undefined) return;
    after = page.next;
  }
}

/**
 * `GET /admin/v1/archive/export?from&to&purpose` (`archive.audit`, fresh factor, people only): the
 * items of `[from, to)` as JSON lines (`application/x-ndjson`), the same objects as
 * `listArchiveItems`, streamed page by page. One `archive.export` audit record per export, written
 * before the first line.
 *
 * @example
 * ```ts
 * const text = await (await fetch(`${url}/admin/v1/archive/export?from=0&purpose=case-114`, { headers })).text();
 * const items = text.trim().split('\n').map((l) => JSON.parse(l));
 * ```
 */
export const exportArchiveOperation = defineAdminOperation({
  id: 'exportArchive',
  method: 'GET',
  path: '/admin/v1/archive/export',
  tag: 'archive',
  summary: 'Export the sealed archive items of a time range as JSON lines',
  access: { permission: 'archive.audit', freshFactor: true, allowKey: false },
  query: z
    .object({
      from: queryInt.optional().describe('Earliest filing time (ms since the epoch), inclusive.'),
      to: queryInt.optional().describe('Latest filing time (ms since the epoch), exclusive.'),
      purpose: purposeSchema.optional(),
    })
    .strict(),
  status: 200,
  response: 'jsonl',
  handle: async (ctx, { me, query, reply }) => {
    await ctx.stores.transaction(async (s) => {
      const state = await s.archive.state(me.tenant);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'archive.export',
        target: me.tenant,
        outcome: 'success',
        details: readDetails(query, { lastSeq: state.lastSeq }),
      });
    });
    void reply.type('application/x-ndjson');
    return Readable.from(exportLines(ctx, me.tenant, query.from, query.to));
  },
});

/**
 * The archive operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ARCHIVE_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const ARCHIVE_OPERATIONS = [
  createArchiveKeySetOperation,
  listArchiveKeySetsOperation,
  listArchiveItemsOperation,
  exportArchiveOperation,
] as const;
