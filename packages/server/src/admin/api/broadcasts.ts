/**
 * Broadcasts through the end-to-end path (spec/broadcast.md): the administrator's machine signs
 * the broadcast object, fetches the audience's devices with their keys and signed device lists
 * ({@link broadcastAudienceOperation}), seals the object to every device (organisation envelopes,
 * spec/envelope.md §5a) and submits the envelopes in batches ({@link sendBroadcastOperation});
 * the server checks each batch, queues the envelopes into the devices' mailboxes like any
 * message and keeps no text, only ids and counts ({@link broadcastCountsOperation}). Every
 * operation needs `broadcast.send`.
 *
 * @module
 */
import {
  type DeviceId,
  deviceId,
  ENVELOPE_KIND_ORGANISATION,
  ENVELOPE_MAX_BYTES,
  equalBytes,
  ForbiddenError,
  peekEnvelopeOuter,
  ValidationError,
} from '@cloister/crypto';
import {
  type BroadcastAudience,
  type BroadcastPayload,
  type MailboxId,
  type MessageId,
  type PoolId,
  type SignedOrganisationObject,
  type TenantId,
  tenantId,
  messageId as toMessageId,
  type UserId,
  userId,
  verifyOrganisationObject,
} from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { requireOrganisationRoot } from '../../organisation/root.js';
import { recipientsOf } from '../../recipients.js';
import { offerToLocalSockets } from '../../routes/ws.js';
import {
  BROADCAST_DEDUP_MS,
  ConflictError,
  MAX_MAILBOX_BATCH,
  NotFoundError,
  queuedRecordBytes,
  type ServerStoreSet,
  type User,
} from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, b64url, identifier } from './schemas.js';

/**
 * Most envelopes one `POST /admin/v1/broadcasts` call takes: 100 (an envelope of the longest
 * broadcast is about 5 KiB, so a full batch stays under the 1 MiB request limit).
 *
 * @example
 * ```ts
 * for (let i = 0; i < envelopes.length; i += MAX_BROADCAST_BATCH) await send(envelopes.slice(i, i + MAX_BROADCAST_BATCH));
 * ```
 */
export const MAX_BROADCAST_BATCH = 100;

/**
 * Most users one page of `GET /admin/v1/broadcasts/audience` looks at: 200 (each with at most 64
 * devices).
 *
 * @example
 * ```ts
 * const url = `/admin/v1/broadcasts/audience?limit=${MAX_AUDIENCE_PAGE}`;
 * ```
 */
export const MAX_AUDIENCE_PAGE = 200;

function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  ADMIN_SCHEMAS.add(schema, { id, description });
  return schema;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));
const base64url = (maxChars: number) =>
  z
    .string()
    .min(1)
    .max(maxChars)
    .regex(/^[A-Za-z0-9_-]+$/, 'base64url')
    .transform(fromB64);

const idList = z
  .string()
  .max(64 * 129)
  .transform((s) => s.split(','))
  .pipe(z.array(identifier).min(1).max(64));

const audienceQuery = z
  .object({
    pools: idList.optional(),
    users: idList.optional(),
    after: z.string().max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_AUDIENCE_PAGE).optional(),
  })
  .strict()
  .refine((q) => q.pools === undefined || q.users === undefined, 'pools and users do not go together');

const audienceDevice = z
  .object({
    device: z.number().int().min(0).max(0xffff_ffff),
    mailbox: z.string(),
    signingKey: z.string(),
    dhKey: z.string(),
  })
  .strict();

const audienceView = named(
  z
    .object({
      users: z.array(
        z
          .object({
            user: z.string(),
            deviceList: z.string().nullable(),
            devices: z.array(audienceDevice),
          })
          .strict(),
      ),
      next: z.string().optional(),
    })
    .strict(),
  'BroadcastAudiencePage',
  'One page of the audience: each user with their newest signed device list and their unblocked devices (keys and mailbox).',
);

const sendBody = named(
  z
    .object({
      object: base64url(400_000),
      envelopes: z
        .array(
          z
            .object({
              user: identifier,
              device: z.number().int().min(0).max(0xffff_ffff),
              envelope: base64url(Math.ceil((ENVELOPE_MAX_BYTES * 4) / 3)),
            })
            .strict(),
        )
        .max(MAX_BROADCAST_BATCH),
    })
    .strict(),
  'BroadcastBatch',
  'The signed broadcast object and up to 100 organisation envelopes, each for one device of its audience.',
);

const sendView = named(
  z
    .object({
      broadcastId: z.string(),
      sequence: z.number().int(),
      results: z.array(
        z
          .object({
            user: z.string(),
            device: z.number().int(),
            status: z.enum(['queued', 'duplicate', 'refused']),
            reason: z.enum(['device', 'audience', 'envelope']).optional(),
          })
          .strict(),
      ),
    })
    .strict(),
  'BroadcastBatchResult',
  'One result per envelope, in order: queued, duplicate (queued for that device before) or refused (why).',
);

const countsView = named(
  z
    .object({
      broadcastId: z.string(),
      sequence: z.number().int(),
      admin: z.string(),
      issuedAt: z.number().int(),
      devices: z.number().int(),
      delivered: z.number().int(),
      read: z.number().int(),
    })
    .strict(),
  'BroadcastCounts',
  'How many devices a broadcast was queued for, reported delivered and reported read (counts only).',
);

/** Whether `user` is in `audience` (the server's view of the user's pools). */
function reaches(audience: BroadcastAudience, user: Pick<User, 'id' | 'pools'>): boolean {
  if (audience.kind === 'tenant') return true;
  if (audience.kind === 'users') return audience.users.includes(user.id);
  return audience.pools.some((p: PoolId) => user.pools.includes(p));
}

/**
 * `GET /admin/v1/broadcasts/audience?pools=a,b | users=x,y &after=&limit=` (`broadcast.send`): one
 * page of the users of the tenant (all of them, or those in one of `pools`, or those named), each
 * with their newest signed device list (base64url, `null` when they have none) and their devices
 * that are not blocked (id, mailbox, identity keys). Blocked users are left out. The
 * administrator's machine checks every device against the list before sealing anything to it.
 *
 * @example
 * ```ts
 * const page = await (await fetch(`${url}/admin/v1/broadcasts/audience?pools=icu&limit=100`, { headers })).json();
 * ```
 */
export const broadcastAudienceOperation = defineAdminOperation({
  id: 'broadcastAudience',
  method: 'GET',
  path: '/admin/v1/broadcasts/audience',
  tag: 'broadcasts',
  summary: 'The devices a broadcast goes to, with their keys and signed device lists',
  access: { permission: 'broadcast.send' },
  query: audienceQuery,
  status: 200,
  response: audienceView,
  handle: async (ctx, { me, query }) => {
    const audience: BroadcastAudience =
      query.pools !== undefined
        ? { kind: 'pools', pools: query.pools as PoolId[] }
        : query.users !== undefined
          ? { kind: 'users', users: query.users as UserId[] }
          : { kind: 'tenant' };
    const page = await ctx.stores.users.list(me.tenant, {
      limit: query.limit ?? 100,
      ...(query.after === undefined ? {} : { after: query.after }),
    });
    const users = [];
    for (const u of page.items) {
      if (u.blocked || !reaches(audience, u)) continue;
      const list = await ctx.stores.deviceLists.newest(me.tenant, u.id);
      const devices = (await ctx.stores.devices.list(me.tenant, u.id))
        .filter((d) => !d.blocked)
        .map((d) => ({
          device: d.id as number,
          mailbox: d.mailbox as string,
          signingKey: b64url(d.identity.signingKey),
          dhKey: b64url(d.identity.dhKey),
        }));
      users.push({ user: u.id as string, deviceList: list === undefined ? null : b64(list.bytes), devices });
    }
    return { users, ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

interface Checked {
  readonly index: number;
  readonly user: UserId;
  readonly device: DeviceId;
  readonly mailbox: MailboxId;
  readonly envelope: Uint8Array;
}

/** The mailbox message id of a broadcast envelope: fixed per broadcast and mailbox, so a resent batch is a duplicate. */
async function broadcastMessageId(
  ctx: ServerContext,
  objectHash: Uint8Array,
  mailbox: MailboxId,
): Promise<MessageId> {
  const digest = await ctx.provider.sha256(
    new Uint8Array([...objectHash, ...new TextEncoder().encode(mailbox)]),
  );
  return toMessageId(`m_${b64(digest.subarray(0, 16))}`);
}

/** After the commit: the device's socket on this instance gets it, or the other instances are woken and a push hint goes out. */
function announce(
  ctx: ServerContext,
  mailbox: MailboxId,
  offer: { messageId: MessageId; envelope: Uint8Array; cursor: string },
) {
  if (offerToLocalSockets(ctx, mailbox, offer)) return;
  ctx.bus.notify(mailbox).catch(() => ctx.log.warn('wake-up bus notify failed'));
  const notifier = ctx.notifier;
  if (notifier === undefined) return;
  try {
    notifier.notify({ mailboxHint: mailbox }).catch(() => ctx.log.warn('push hint failed'));
  } catch {
    ctx.log.warn('push hint failed');
  }
}

/**
 * `POST /admin/v1/broadcasts` (`broadcast.send`): one batch of a broadcast. The signed object is
 * verified against the tenant's root (kind `broadcast`, certified to the caller); the first batch
 * of a broadcast advances the tenant's `broadcast` sequence (a sequence not above the newest is
 * `ConflictError('organisation-sequence')`, 409) and creates its record; later batches must carry
 * the same object (other bytes with the same id: `ConflictError('broadcast')`, 409). Each envelope
 * must be an organisation envelope for the named device's mailbox, with no delivery token, for
 * an unblocked device of an unblocked user in the object's audience; it is then queued into the
 * mailbox (once per device: again is `duplicate`), and its device is announced (socket, bus, push
 * hint). Audited `broadcast.send` with the broadcast id and the number of devices queued.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/broadcasts`, { method: 'POST', headers, body: JSON.stringify({ object, envelopes }) });
 * ```
 */
export const sendBroadcastOperation = defineAdminOperation({
  id: 'sendBroadcast',
  method: 'POST',
  path: '/admin/v1/broadcasts',
  tag: 'broadcasts',
  summary: 'Send one batch of an end-to-end broadcast',
  description: `The signed object and up to ${MAX_BROADCAST_BATCH} organisation envelopes; the first batch publishes the broadcast (sequence rules).`,
  access: { permission: 'broadcast.send' },
  body: sendBody,
  status: 200,
  response: sendView,
  handle: async (ctx, { me, body }) => {
    const tenant: TenantId = tenantId(me.tenant);
    const root = await requireOrganisationRoot(ctx, tenant);
    const o = (await verifyOrganisationObject(ctx.provider, body.object, {
      rootPublicKey: root.rootPublicKey,
      tenant,
      now: ctx.now(),
    })) as SignedOrganisationObject;
    if (o.kind !== 'broadcast') throw new ValidationError('object.kind', 'an object of kind broadcast');
    if (o.certificate.admin !== me.admin.id) {
      throw new ForbiddenError('the object is signed under another administrator’s certificate');
    }
    const payload = o.payload as BroadcastPayload;
    const id = b64(payload.broadcastId);
    const objectHash = await ctx.provider.sha256(body.object);
    const results: {
      user: string;
      device: number;
      status: 'queued' | 'duplicate' | 'refused';
      reason?: 'device' | 'audience' | 'envelope';
    }[] = body.envelopes.map((e) => ({
      user: e.user,
      device: e.device,
      status: 'refused',
      reason: 'envelope',
    }));
    // The checks that need no database.
    const formed: {
      index: number;
      user: UserId;
      device: DeviceId;
      envelope: Uint8Array;
      mailbox: Uint8Array;
    }[] = [];
    for (const [index, e] of body.envelopes.entries()) {
      try {
        const outer = peekEnvelopeOuter(e.envelope);
        if (outer.kind !== ENVELOPE_KIND_ORGANISATION || outer.deliveryToken.length !== 0) continue;
        formed.push({
          index,
          user: userId(e.user),
          device: deviceId(e.device),
          envelope: e.envelope,
          mailbox: outer.mailbox,
        });
      } catch {
        // refused: envelope
      }
    }
    const now = ctx.now();
    const queued = await ctx.stores.transaction(async (s: ServerStoreSet) => {
      const existing = await s.broadcasts.get(tenant, id);
      if (existing === undefined) {
        await s.organisation.advanceSequence(tenant, 'broadcast', o.sequence);
        await s.broadcasts.create(tenant, {
          id,
          sequence: o.sequence,
          objectHash,
          admin: o.certificate.admin,
          issuedAtMs: o.issuedAtMs,
          createdAt: now,
        });
      } else if (!equalBytes(existing.objectHash, objectHash)) {
        throw new ConflictError('broadcast', 'another object with this broadcast id');
      }
      const accepted: Checked[] = [];
      const users = new Map<string, User | undefined>();
      for (const f of formed) {
        const r = results[f.index]!;
        if (!users.has(f.user)) users.set(f.user, await s.users.get(tenant, f.user));
        const user = users.get(f.user);
        const device = user === undefined ? undefined : await s.devices.get(tenant, f.user, f.device);
        if (user === undefined || device === undefined || user.blocked || device.blocked) {
          r.reason = 'device';
          continue;
        }
        if (!reaches(payload.audience, user)) {
          r.reason = 'audience';
          continue;
        }
        if (!equalBytes(f.mailbox, new TextEncoder().encode(device.mailbox))) continue; // envelope
        accepted.push({
          index: f.index,
          user: f.user,
          device: f.device,
          mailbox: device.mailbox,
          envelope: f.envelope,
        });
      }
      const fresh = await s.broadcasts.addDevices(tenant, id, accepted, now + BROADCAST_DEDUP_MS);
      const toQueue = accepted.filter((_, k) => fresh[k] === true);
      for (const [k, a] of accepted.entries()) {
        results[a.index] = {
          user: a.user,
          device: a.device,
          status: fresh[k] === true ? 'queued' : 'duplicate',
        };
      }
      const items = await Promise.all(
        toQueue.map(async (a) => ({
          mailbox: a.mailbox,
          messageId: await broadcastMessageId(ctx, objectHash, a.mailbox),
          envelope: a.envelope,
          expiresAt: now + ctx.limits.mailboxRetentionMs,
        })),
      );
      const out: { mailbox: MailboxId; messageId: MessageId; envelope: Uint8Array; cursor: string }[] = [];
      for (let i = 0; i < items.length; i += MAX_MAILBOX_BATCH) {
        const part = items.slice(i, i + MAX_MAILBOX_BATCH);
        const outcomes = await s.mailboxes.enqueueMany(part);
        outcomes.forEach((outcome, k) => {
          const item = part[k]!;
          if (outcome.status === 'queued') out.push({ ...item, cursor: outcome.cursor });
        });
      }
      await s.audit.append(tenant, {
        actor: me.admin.id,
        action: 'broadcast.send',
        target: id,
        outcome: 'success',
        at: now,
        details: { devices: toQueue.length },
      });
      return out;
    });
    for (const q of queued) {
      recipientsOf(ctx).noteUsage(q.mailbox, 1, queuedRecordBytes(q.messageId, q.envelope.length));
      announce(ctx, q.mailbox, q);
    }
    return { broadcastId: id, sequence: o.sequence, results };
  },
});

/**
 * `GET /admin/v1/broadcasts/:broadcastId` (`broadcast.send`): the counts of a broadcast of the
 * caller's tenant — devices queued for, reported delivered, reported read. Another tenant's or an
 * unknown id is 404.
 *
 * @example
 * ```ts
 * const { devices, delivered, read } = await (await fetch(`${url}/admin/v1/broadcasts/${id}`, { headers })).json();
 * ```
 */
export const broadcastCountsOperation = defineAdminOperation({
  id: 'broadcastCounts',
  method: 'GET',
  path: '/admin/v1/broadcasts/:broadcastId',
  tag: 'broadcasts',
  summary: 'Delivery and read counts of a broadcast',
  access: { permission: 'broadcast.send' },
  params: z.object({ broadcastId: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a broadcast id') }).strict(),
  status: 200,
  response: countsView,
  handle: async (ctx, { me, params }) => {
    const b = await ctx.stores.broadcasts.get(me.tenant, params.broadcastId);
    if (b === undefined) throw new NotFoundError('broadcast');
    return {
      broadcastId: b.id,
      sequence: b.sequence,
      admin: b.admin,
      issuedAt: b.issuedAtMs,
      devices: b.devices,
      delivered: b.delivered,
      read: b.read,
    };
  },
});

/**
 * The broadcast operations.
 *
 * @example
 * ```ts
 * const ids = BROADCAST_OPERATIONS.map((op) => op.id); // ['broadcastAudience', 'sendBroadcast', 'broadcastCounts']
 * ```
 */
export const BROADCAST_OPERATIONS = [
  broadcastAudienceOperation,
  sendBroadcastOperation,
  broadcastCountsOperation,
] as const;
