/**
 * `POST /v1/broadcasts/receipts` (authenticated device), JSON `{ "broadcastId": "<base64url of 16
 * bytes>", "state": "delivered" | "read" }`: a content-free receipt for a broadcast this device
 * received (spec/broadcast.md §6). The server counts it once per device and state for a broadcast
 * it queued for this device; it answers 204 whether the receipt was counted or a repeat, and 404
 * when no broadcast with that id was queued for this device (or the dedup row expired).
 *
 * @module
 */
import { z } from 'zod';
import { credentialDevice } from '../auth.js';
import type { RouteModule } from '../context.js';
import { NotFoundError } from '../store/index.js';

const receiptBody = z
  .object({
    broadcastId: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
    state: z.enum(['delivered', 'read']),
  })
  .strict();

/**
 * The device route for broadcast receipts.
 *
 * @example
 * ```ts
 * await app.register(async (scope) => broadcastRoutes(scope, ctx));
 * ```
 */
export const broadcastRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/broadcasts/receipts', async (request, reply) => {
    const device = await credentialDevice(ctx, request);
    const body = receiptBody.parse(request.body);
    const outcome = await ctx.stores.broadcasts.receipt(
      device.tenant,
      body.broadcastId,
      device.user,
      device.id,
      body.state,
    );
    if (outcome === 'unknown') throw new NotFoundError('broadcast');
    return reply.code(204).send();
  });
};
