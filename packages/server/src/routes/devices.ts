/**
 * A user's devices (spec/server-devices.md), with the same authorization as
 * `GET /v1/users/:userId/devices/bundles` (same tenant, target not blocked, pool rules; a user may
 * list their own other devices), shared through `contactableUser` of `./keys.js`:
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
import {
  concatBytes,
  DecodeError,
  type DeviceId,
  deviceId as toDeviceId,
  kemPreKeyId,
  type PreKeyBundle,
  signedPreKeyId,
  type SuiteName,
  uintBE,
  utf8,
} from '@cloister/crypto';
import { encodePreKeyBundle } from '@cloister/protocol';
import {
  decodeRecord,
  type Device,
  NotFoundError,
  SERVER_TABLES,
  type TenantId,
  type UserId,
} from '@cloister/storage';
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { contactableUser, type DeviceBundleEntry } from './keys.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const KEM_PUBLIC_KEY_BYTES = 1184;
const NO_SORT = new Uint8Array(0);

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
 * const { devices }: DeviceListResponse = res.json;
 * for (const d of devices) console.log(d.deviceId, d.mailbox);
 * ```
 */
export interface DeviceListResponse {
  readonly devices: readonly DeviceBundleEntry[];
}

/**
 * The partition under which `@cloister/storage` keeps a device's key material (its `deviceKey`:
 * tenant, user and big-endian device number joined by 0x00).
 */
function devicePartition(tenant: TenantId, user: UserId, device: DeviceId): Uint8Array {
  return concatBytes(utf8(tenant), Uint8Array.of(0), utf8(user), Uint8Array.of(0), uintBE(device, 4));
}

function field(o: unknown, k: string, path: string): unknown {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o instanceof Uint8Array) {
    throw new DecodeError(path, 'expected an object');
  }
  return (o as Record<string, unknown>)[k];
}

function bytesOf(o: unknown, k: string, path: string, length: number): Uint8Array {
  const v = field(o, k, path);
  if (!(v instanceof Uint8Array) || v.length !== length)
    throw new DecodeError(`${path}.${k}`, 'expected bytes');
  return v;
}

function u32Of(o: unknown, k: string, path: string): number {
  const v = field(o, k, path);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new DecodeError(`${path}.${k}`, 'expected an integer');
  }
  return v;
}

/**
 * The device's published bundle without one-time prekeys, read without taking anything
 * (`KeyBundleStore` has only the taking read), or `undefined` when it never published.
 */
async function publishedBundle(ctx: ServerContext, device: Device): Promise<PreKeyBundle | undefined> {
  const table = SERVER_TABLES.bundleSigned;
  const row = await ctx.adapter.transaction(
    (tx) => tx.get(table, devicePartition(device.tenant, device.user, device.id), NO_SORT),
    { readOnly: true },
  );
  if (row === undefined) return undefined;
  const { v, d } = decodeRecord(row.value, table);
  if (v !== 1) throw new DecodeError(table, 'unknown record version');
  const spk = field(d, 'signedPreKey', table);
  const kem = field(d, 'lastResortKemPreKey', table);
  const suites = field(d, 'suites', table);
  const unknown = field(d, 'unknownSuiteCodes', table) ?? [];
  if (!Array.isArray(suites) || !suites.every((s) => typeof s === 'string')) {
    throw new DecodeError(`${table}.suites`, 'expected strings');
  }
  if (!Array.isArray(unknown) || !unknown.every((c) => typeof c === 'number')) {
    throw new DecodeError(`${table}.unknownSuiteCodes`, 'expected numbers');
  }
  return {
    registrationId: device.registrationId,
    deviceId: device.id,
    identity: device.identity,
    signedPreKey: {
      id: signedPreKeyId(u32Of(spk, 'id', `${table}.signedPreKey`)),
      publicKey: bytesOf(spk, 'publicKey', `${table}.signedPreKey`, 32),
      signature: bytesOf(spk, 'signature', `${table}.signedPreKey`, 64),
    },
    kemPreKey: {
      id: kemPreKeyId(u32Of(kem, 'id', `${table}.lastResortKemPreKey`)),
      publicKey: bytesOf(kem, 'publicKey', `${table}.lastResortKemPreKey`, KEM_PUBLIC_KEY_BYTES),
      lastResort: true,
      signature: bytesOf(kem, 'signature', `${table}.lastResortKemPreKey`, 64),
    },
    suites: suites as SuiteName[],
    ...(unknown.length === 0 ? {} : { unknownSuiteCodes: unknown as number[] }),
    suitesSignature: bytesOf(d, 'suitesSignature', table, 64),
  };
}

async function entry(ctx: ServerContext, device: Device, bundle: PreKeyBundle): Promise<DeviceBundleEntry> {
  return {
    deviceId: device.id,
    registrationId: device.registrationId,
    mailbox: device.mailbox,
    deliveryToken: b64(await ctx.deliveryTokens.issue(device.mailbox)),
    bundle: b64(encodePreKeyBundle(bundle)),
  };
}

/**
 * Registers `GET /v1/users/:userId/devices` and `GET /v1/users/:userId/devices/:deviceId/bundle`.
 *
 * @example
 * ```ts
 * import { deviceRoutes } from './routes/devices.js';
 * await deviceRoutes(app, ctx);
 * ```
 */
export const deviceRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/users/:userId/devices', async (request): Promise<DeviceListResponse> => {
    const me = await authenticate(ctx, request);
    const user = await contactableUser(ctx, me, listParams.parse(request.params).userId);
    const devices = (await ctx.stores.devices.list(me.tenant, user.id)).filter(
      (d) => !d.blocked && !(d.user === me.user && d.id === me.device),
    );
    const out: DeviceBundleEntry[] = [];
    for (const d of devices) {
      const bundle = await publishedBundle(ctx, d);
      if (bundle !== undefined) out.push(await entry(ctx, d, bundle));
    }
    return { devices: out };
  });

  app.get('/v1/users/:userId/devices/:deviceId/bundle', async (request): Promise<DeviceBundleEntry> => {
    const me = await authenticate(ctx, request);
    const params = oneParams.parse(request.params);
    const user = await contactableUser(ctx, me, params.userId);
    const id = toDeviceId(params.deviceId);
    if (user.id === me.user && id === me.device) throw new NotFoundError('device');
    const device = await ctx.stores.devices.get(me.tenant, user.id, id);
    if (device === undefined || device.blocked) throw new NotFoundError('device');
    const bundle = await ctx.stores.bundles.takeBundle(me.tenant, user.id, id);
    if (bundle === undefined) throw new NotFoundError('device');
    return entry(ctx, device, bundle);
  });
};
