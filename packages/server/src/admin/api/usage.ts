/**
 * What the administrator's tenant holds on the server (`activity.read`): its blobs and its
 * compliance archive, in bytes and items as the usage ledger counts them (`store/usage.ts`), with
 * the storage quotas the server enforces. The tenant quota covers blobs and archive together;
 * mailboxes have their own quotas per mailbox (shown per user in the activity).
 *
 * @module
 */
import { z } from 'zod';
import { defineAdminOperation } from './operation.js';

const figure = z
  .object({ bytes: z.number().int(), count: z.number().int() })
  .strict()
  .describe('Bytes and items.');

/**
 * `GET /admin/v1/usage` (`activity.read`).
 *
 * @example
 * ```ts
 * const { blobs, archive, quotas } = await (await fetch(`${url}/admin/v1/usage`, { headers })).json();
 * const share = (blobs.bytes + archive.bytes) / quotas.tenantMaxBytes;
 * ```
 */
export const tenantUsageOperation = defineAdminOperation({
  id: 'getUsage',
  method: 'GET',
  path: '/admin/v1/usage',
  tag: 'activity',
  summary: "What the tenant's blobs and archive hold, and the storage quotas",
  access: { permission: 'activity.read' },
  status: 200,
  response: z
    .object({
      blobs: figure.describe(
        "The tenant's blobs: declared bytes and count, unfinished uploads included, until deleted or the end of their expiry day.",
      ),
      archive: figure.describe("The tenant's compliance archive: sealed bytes and items."),
      quotas: z
        .object({
          tenantMaxBytes: z.number().int().describe('Most bytes of blobs and archive together.'),
          blobMaxBytesPerDevice: z.number().int(),
          blobMaxCountPerDevice: z.number().int(),
          mailboxMaxEnvelopes: z.number().int().describe('Per mailbox.'),
          mailboxMaxBytes: z.number().int().describe('Per mailbox.'),
        })
        .strict(),
    })
    .strict(),
  handle: async (ctx, { me }) => {
    const { blobs, archive } = await ctx.stores.usage.tenant(me.tenant);
    return {
      blobs: { bytes: blobs.bytes, count: blobs.count },
      archive: { bytes: archive.bytes, count: archive.count },
      quotas: {
        tenantMaxBytes: ctx.limits.tenantMaxBytes,
        blobMaxBytesPerDevice: ctx.limits.blobMaxBytesPerDevice,
        blobMaxCountPerDevice: ctx.limits.blobMaxCountPerDevice,
        mailboxMaxEnvelopes: ctx.limits.mailboxMaxEnvelopes,
        mailboxMaxBytes: ctx.limits.mailboxMaxBytes,
      },
    };
  },
});

/**
 * The usage operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, USAGE_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const USAGE_OPERATIONS = [tenantUsageOperation] as const;
