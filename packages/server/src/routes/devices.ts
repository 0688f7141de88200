/**
 * A user's devices (spec/server-devices.md), with the same authorization as
 * `GET /v1/users/:userId/devices/bundles` (same tenant, target not blocked, pool rules; a user may
 * list their own other devices), shared through `deliveryAccess` of `../delivery-access.js`, which
 * also binds the delivery tokens to the caller's sender class and the current epochs:
 *
 * - `GET /v1/users/:userId/devices`: every device of the user that is not blocked, is not the
 *   caller's own device and has published its signed prekeys, with its mailbox, a delivery token
 *   and its published bundle **without** one-time prekeys (the last-resort ML-KEM prekey in
 *   `kemPreKey`). Takes nothing: a client can refresh its view of a user's devices as often as it
 *   likes without draining their one-time prekeys.
 * - `GET /v1/users/:userId/devices/:deviceId/bundle`: one device's entry of the same shape, with
 *   one one-time X25519 and one one-time ML-KEM prekey taken atomically (as the bundles route).
 *
 * @module
 */
import { type PreKeyBundle, deviceId as toDeviceId } from '@cloister/crypto';
import { encodePreKeyBundle } from '@cloister/protocol';
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { type DeliveryAccess, deliveryAccess, issueDeliveryToken } from '../delivery-access.js';
import { type Device, NotFoundError } from '../store/index.js';
import type { DeviceBundleEntry } from './keys.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

const listParams = z.object({ userId: z.string() }).strict();
const oneParams = z
  .object({
    userId: z.string(),
    deviceId: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,9})$/, 'a device number')
      .transform((s) => Number(s))
      .refine((n) => n <= 0xffff_ffff, 'a device number'),
  })
  .strict();

/**
 * The answer of `GET /v1/users/:userId/devices`.
 *
 * @example
 * ```ts
 * const { devices } = (await response.json()) as DeviceListResponse;
 * for (const d of devices) console.log(d.deviceId, d.mailbox);
 * ```
 */
export interface DeviceListResponse {
  /** The user's reachable devices (not blocked, not the caller's own, with published prekeys). */
  readonly devices: readonly DeviceBundleEntry[];
  /**
   * The pools the user belongs to now, so that a sender can tell whether a recipient is in the
   * archive's scope before it writes a first message (`spec/organisation-client.md` §5). A
   * statement of the server's, not a signed one: it can only add archiving, and a recipient in
   * scope notices a message that was not sealed (an archive gap).
   */
  readonly pools: readonly string[];
}

/** The device's published bundle without one-time prekeys, or `undefined` when it never published. */
function publishedBundle(ctx: ServerContext, device: Device): Promise<PreKeyBundle | undefined> {
  return ctx.stores.bundles.peekBundle(device.tenant, device.user, device.id);
}

async function entry(
  ctx: ServerContext,
  access: DeliveryAccess,
  device: Device,
  bundle: PreKeyBundle,
): Promise<DeviceBundleEntry> {
  return {
    deviceId: device.id,
    registrationId: device.registrationId,
    mailbox: device.mailbox,
    deliveryToken: b64(await issueDeliveryToken(ctx, access, device.mailbox)),
    bundle: b64(encodePreKeyBundle(bundle)),
  };
}

/**
 * Registers `GET /v1/users/:userId/devices` and `GET /v1/users/:userId/devices/:deviceId/bundle`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, keyRoutes, deviceRoutes] });
 * ```
 */
export const deviceRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/users/:userId/devices', async (request): Promise<DeviceListResponse> => {
    const me = await authenticate(ctx, request);
    const access = await deliveryAccess(ctx, me, listParams.parse(request.params).userId);
    const user = access.user;
    const devices = (await ctx.stores.devices.list(me.tenant, user.id)).filter(
      (d) => !d.blocked && !(d.user === me.user && d.id === me.device),
    );
    const out: DeviceBundleEntry[] = [];
    for (const d of devices) {
      const bundle = await publishedBundle(ctx, d);
      if (bundle !== undefined) out.push(await entry(ctx, access, d, bundle));
    }
    return { devices: out, pools: [...user.pools] };
  });

  app.get('/v1/users/:userId/devices/:deviceId/bundle', async (request): Promise<DeviceBundleEntry> => {
    const me = await authenticate(ctx, request);
    const params = oneParams.parse(request.params);
    const access = await deliveryAccess(ctx, me, params.userId);
    const user = access.user;
    const id = toDeviceId(params.deviceId);
    if (user.id === me.user && id === me.device) throw new NotFoundError('device');
    const device = await ctx.stores.devices.get(me.tenant, user.id, id);
    if (device === undefined || device.blocked) throw new NotFoundError('device');
    const bundle = await ctx.stores.bundles.takeBundle(me.tenant, user.id, id);
    if (bundle === undefined) throw new NotFoundError('device');
    return entry(ctx, access, device, bundle);
  });
};
