/**
 * A user's activity as the server knows it (`activity.read`): when the user was created and
 * first enrolled a device, when a device was last seen, how many devices, and per device its
 * creation, last-seen time, block flag, the client version it reported and what waits in its
 * mailbox (envelopes and the bytes they take in storage, against the mailbox quotas; totals for the
 * user too). Nothing about content
 * or contacts: the server has no record of either.
 *
 * @module
 */
import { userId } from '@cloister/protocol';
import { z } from 'zod';
import { NotFoundError } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { identifier, userParams } from './schemas.js';

const deviceActivity = z
  .object({
    id: z.number().int(),
    createdAt: z.number().int(),
    lastSeenAt: z.number().int().nullable(),
    blocked: z.boolean(),
    clientVersion: z.string().nullable(),
    pending: z
      .object({ envelopes: z.number().int(), bytes: z.number().int() })
      .strict()
      .describe("What waits in the device's mailbox: envelopes and the bytes they take in storage."),
  })
  .strict();

/**
 * `GET /admin/v1/users/:user/activity` (`activity.read`).
 *
 * @example
 * ```ts
 * const { lastSeenAt, devices } = await (await fetch(`${url}/admin/v1/users/alice/activity`, { headers })).json();
 * ```
 */
export const userActivityOperation = defineAdminOperation({
  id: 'getUserActivity',
  method: 'GET',
  path: '/admin/v1/users/:user/activity',
  tag: 'activity',
  summary: "A user's activity (no content, no contacts)",
  access: { permission: 'activity.read' },
  params: userParams,
  status: 200,
  response: z
    .object({
      user: identifier,
      createdAt: z.number().int(),
      blocked: z.boolean(),
      enrolledAt: z.number().int().nullable().describe('When the oldest device still enrolled was enrolled.'),
      lastSeenAt: z.number().int().nullable().describe('The latest last-seen time of any device.'),
      deviceCount: z.number().int(),
      pending: z
        .object({
          envelopes: z.number().int(),
          bytes: z.number().int(),
          maxEnvelopesPerMailbox: z.number().int(),
          maxBytesPerMailbox: z.number().int(),
        })
        .strict()
        .describe("What waits in all the user's mailboxes, and the quotas of one mailbox."),
      devices: z.array(deviceActivity),
    })
    .strict(),
  handle: async (ctx, { me, params }) => {
    const user = await ctx.stores.users.get(me.tenant, userId(params.user));
    if (user === undefined) throw new NotFoundError('user');
    const devices = await ctx.stores.devices.list(me.tenant, user.id);
    const created = devices.map((d) => d.createdAt);
    const seen = devices.map((d) => d.lastSeenAt).filter((t): t is number => t !== null);
    const usage = await Promise.all(devices.map((d) => ctx.stores.mailboxes.usage(d.mailbox)));
    return {
      user: user.id,
      createdAt: user.createdAt,
      blocked: user.blocked,
      enrolledAt: created.length === 0 ? null : Math.min(...created),
      lastSeenAt: seen.length === 0 ? null : Math.max(...seen),
      deviceCount: devices.length,
      pending: {
        envelopes: usage.reduce((n, u) => n + u.envelopes, 0),
        bytes: usage.reduce((n, u) => n + u.bytes, 0),
        maxEnvelopesPerMailbox: ctx.limits.mailboxMaxEnvelopes,
        maxBytesPerMailbox: ctx.limits.mailboxMaxBytes,
      },
      devices: devices.map((d, k) => ({
        id: d.id as number,
        createdAt: d.createdAt,
        lastSeenAt: d.lastSeenAt,
        blocked: d.blocked,
        clientVersion: d.clientVersion ?? null,
        pending: {
          envelopes: usage[k]?.envelopes ?? 0,
          bytes: usage[k]?.bytes ?? 0,
        },
      })),
    };
  },
});

/**
 * The activity operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ACTIVITY_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const ACTIVITY_OPERATIONS = [userActivityOperation] as const;
