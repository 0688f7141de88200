/**
 * Prekeys and key bundles (`spec/server-keys.md`):
 *
 * - `PUT /v1/keys/signed`: a device publishes its signed X25519 prekey, its last-resort ML-KEM
 *   prekey and its signed suite list, as a protobuf `PreKeyBundle` (`encodePreKeyBundle`) with no
 *   one-time prekey. Every signature is verified against the device's registered identity first;
 *   a suite list older (`suitesIssuedAt`) than the one stored is refused with 409.
 * - `POST /v1/keys/one-time`: a batch of one-time X25519 and (signed) one-time ML-KEM prekeys,
 *   JSON with base64url bytes (the protocol has no message for a batch of prekeys).
 * - `GET /v1/keys/count`: how many one-time prekeys of each kind the device has left.
 * - `GET /v1/users/:userId/devices/bundles`: one bundle per device of a user the caller may
 *   message (same tenant, not blocked, pool rules allow it), each with the device's mailbox and a
 *   delivery token bound to the caller's sender class (`delivery-access.ts`); one-time prekeys
 *   are taken atomically, each handed out once.
 *
 * @module
 */
import {
  ForbiddenError,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  UnauthenticatedError,
  ValidationError,
  verifyBundleSuites,
  verifyKemPreKeyPublic,
} from '@cloister/crypto';
import { decodePreKeyBundle, encodePreKeyBundle, userId } from '@cloister/protocol';
import { z } from 'zod';
import { authenticate, type DeviceAuth } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { deliveryAccess, issueDeliveryToken } from '../delivery-access.js';
import { mayContact, poolRulesFrom } from '../policy-pools.js';
import { type Device, MAX_ONE_TIME_PREKEYS, NotFoundError, type Pool, type User } from '../store/index.js';

/** ML-KEM-768 encapsulation key length, in bytes. */
const KEM_PUBLIC_KEY_BYTES = 1184;
const B64URL = /^[A-Za-z0-9_-]*$/;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** Canonical unpadded base64url of exactly `length` bytes. */
function bytesField(length: number) {
  return z
    .string()
    .length(Math.ceil((length * 4) / 3))
    .regex(B64URL)
    .transform((text, zctx) => {
      const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
      if (bytes.length !== length || b64(bytes) !== text) {
        zctx.addIssue({ code: 'custom', message: `expected canonical base64url of ${length} bytes` });
        return z.NEVER;
      }
      return bytes;
    });
}

const u32 = z.number().int().min(0).max(0xffff_ffff);

const oneTimeBody = z
  .object({
    preKeys: z
      .array(z.object({ id: u32, publicKey: bytesField(32) }).strict())
      .max(MAX_ONE_TIME_PREKEYS)
      .optional(),
    kemPreKeys: z
      .array(
        z
          .object({ id: u32, publicKey: bytesField(KEM_PUBLIC_KEY_BYTES), signature: bytesField(64) })
          .strict(),
      )
      .max(MAX_ONE_TIME_PREKEYS)
      .optional(),
  })
  .strict()
  .refine((b) => (b.preKeys?.length ?? 0) + (b.kemPreKeys?.length ?? 0) > 0, {
    message: 'at least one prekey',
  });

const bundleParams = z.object({ userId: z.string() }).strict();

/**
 * One device's entry in the answer of `GET /v1/users/:userId/devices/bundles`.
 *
 * @example
 * ```ts
 * import { decodePreKeyBundle } from '@cloister/protocol';
 * const { devices } = (await response.json()) as DeviceBundlesResponse;
 * for (const entry of devices as DeviceBundleEntry[]) {
 *   const bundle = decodePreKeyBundle(Buffer.from(entry.bundle, 'base64url'));
 * }
 * ```
 */
export interface DeviceBundleEntry {
  /** The device's id within its user (an unsigned 32-bit integer). */
  readonly deviceId: number;
  /** The device's registration id, as it enrolled with. */
  readonly registrationId: number;
  /** The device's opaque mailbox: the recipient address of a sealed delivery. */
  readonly mailbox: string;
  /**
   * base64url of the delivery token for `mailbox` (57 bytes, version 2: expiring, bound to the
   * caller's sender class and to the epochs of what allowed the access; `delivery-token.ts`).
   */
  readonly deliveryToken: string;
  /** base64url of the protobuf `PreKeyBundle` (`encodePreKeyBundle`). */
  readonly bundle: string;
}

/**
 * The answer of `GET /v1/users/:userId/devices/bundles`.
 *
 * @example
 * ```ts
 * const answer = await fetch(`${url}/v1/users/bob/devices/bundles`, {
 *   headers: { authorization: authorizationHeader(credential) },
 * });
 * const body = (await answer.json()) as DeviceBundlesResponse;
 * const mailboxes = body.devices.map((d) => d.mailbox);
 * ```
 */
export interface DeviceBundlesResponse {
  /**
   * One entry per device of the user that is not blocked, is not the caller's own and has
   * published a bundle; the one-time prekeys in each are taken (handed out once).
   */
  readonly devices: readonly DeviceBundleEntry[];
}

/**
 * The answer of `GET /v1/keys/count` and part of the answer of `POST /v1/keys/one-time`.
 *
 * @example
 * ```ts
 * const left = (await response.json()) as PreKeyCounts; // GET /v1/keys/count
 * const refill = left.preKeys < left.max / 10 || left.kemPreKeys < left.max / 10;
 * ```
 */
export interface PreKeyCounts {
  /** One-time X25519 prekeys left. */
  readonly preKeys: number;
  /** One-time ML-KEM prekeys left. */
  readonly kemPreKeys: number;
  /** Most one-time prekeys of each kind the server keeps per device. */
  readonly max: number;
}

/** The registered device of the caller (gone between authentication and now: unauthenticated). */
async function ownDevice(ctx: ServerContext, me: DeviceAuth): Promise<Device> {
  const device = await ctx.stores.devices.get(me.tenant, me.user, me.device);
  if (device === undefined) throw new UnauthenticatedError();
  return device;
}

function protobufBody(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array)) {
    throw new ValidationError('body', 'an application/x-protobuf PreKeyBundle');
  }
  return body;
}

async function counts(ctx: ServerContext, me: DeviceAuth) {
  const left = await ctx.stores.bundles.countOneTime(me.tenant, me.user, me.device);
  return { preKeys: left.preKeys, kemPreKeys: left.kemPreKeys, max: MAX_ONE_TIME_PREKEYS };
}

/**
 * The user `target` (an id from the request) of the caller's tenant, when the caller may fetch
 * their devices' bundles: the caller themselves, or a user who is not blocked and whom the pool
 * rules let the caller reach. `NotFoundError('user')` for an unknown user (a user of another
 * tenant is exactly an unknown user), `ForbiddenError` for a blocked user or a pool refusal.
 *
 * @example
 * ```ts
 * const caller = await authenticate(ctx, request);
 * const target = await contactableUser(ctx, caller, 'bob'); // NotFoundError / ForbiddenError otherwise
 * ```
 */
export async function contactableUser(ctx: ServerContext, me: DeviceAuth, target: string): Promise<User> {
  // Looked up in the caller's tenant only: a user of another tenant is exactly an unknown user.
  const user = await ctx.stores.users.get(me.tenant, userId(target));
  if (user === undefined) throw new NotFoundError('user');
  if (user.id !== me.user) {
    if (user.blocked) throw new ForbiddenError('this user cannot be messaged');
    const caller = await ctx.stores.users.get(me.tenant, me.user);
    if (caller === undefined) throw new UnauthenticatedError();
    const pools = await Promise.all(caller.pools.map((p) => ctx.stores.pools.get(me.tenant, p)));
    const rules = poolRulesFrom(pools.filter((p): p is Pool => p !== undefined));
    if (!mayContact(caller.pools, user.pools, rules)) {
      throw new ForbiddenError('the pool rules do not allow contact with this user');
    }
  }
  return user;
}

/**
 * Registers the prekey upload and bundle fetch routes: `PUT /v1/keys/signed`,
 * `POST /v1/keys/one-time`, `GET /v1/keys/count` and `GET /v1/users/:userId/devices/bundles`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, keyRoutes, deliveryRoutes] });
 * ```
 */
export const keyRoutes: RouteModule = (app, ctx) => {
  app.put('/v1/keys/signed', async (request, reply) => {
    const me = await authenticate(ctx, request);
    const bundle = decodePreKeyBundle(protobufBody(request.body));
    const device = await ownDevice(ctx, me);
    if (bundle.deviceId !== me.device) throw new ValidationError('bundle.deviceId', 'the caller device');
    if (bundle.registrationId !== device.registrationId) {
      throw new ValidationError('bundle.registrationId', 'the registered registration id');
    }
    if (bundle.oneTimePreKey !== undefined) {
      throw new ValidationError('bundle.oneTimePreKey', 'absent (one-time prekeys go to /v1/keys/one-time)');
    }
    if (!bundle.kemPreKey.lastResort) throw new ValidationError('bundle.kemPreKey.lastResort', 'true');
    // Identity (against the registered one), signed prekey, KEM prekey and suite list signatures
    // (the list bound to this signed prekey and suitesIssuedAt). The store refuses a list older
    // than the one it has (409 `conflict: suitesIssuedAt`).
    await verifyBundleSuites(ctx.provider, bundle, { expectedIdentity: device.identity });
    await ctx.stores.bundles.setSigned(me.tenant, me.user, me.device, {
      signedPreKey: bundle.signedPreKey,
      lastResortKemPreKey: bundle.kemPreKey,
      suites: bundle.suites,
      ...(bundle.unknownSuiteCodes === undefined ? {} : { unknownSuiteCodes: bundle.unknownSuiteCodes }),
      suitesIssuedAt: bundle.suitesIssuedAt,
      suitesSignature: bundle.suitesSignature,
    });
    return reply.code(204).send();
  });

  app.post('/v1/keys/one-time', async (request) => {
    const me = await authenticate(ctx, request);
    const body = oneTimeBody.parse(request.body);
    const device = await ownDevice(ctx, me);
    const kem = body.kemPreKeys ?? [];
    for (const [i, k] of kem.entries()) {
      await verifyKemPreKeyPublic(
        ctx.provider,
        device.identity.signingKey,
        { id: kemPreKeyId(k.id), publicKey: k.publicKey, lastResort: false, signature: k.signature },
        `kemPreKeys[${i}]`,
      );
    }
    const added = await ctx.stores.bundles.addOneTime(me.tenant, me.user, me.device, {
      preKeys: (body.preKeys ?? []).map((k) => ({ id: oneTimePreKeyId(k.id), publicKey: k.publicKey })),
      kemPreKeys: kem.map((k) => ({
        id: kemPreKeyId(k.id),
        publicKey: k.publicKey,
        lastResort: false,
        signature: k.signature,
      })),
    });
    return { added, remaining: await counts(ctx, me) };
  });

  app.get('/v1/keys/count', async (request) => {
    const me = await authenticate(ctx, request);
    return counts(ctx, me);
  });

  app.get('/v1/users/:userId/devices/bundles', async (request): Promise<DeviceBundlesResponse> => {
    const me = await authenticate(ctx, request);
    const access = await deliveryAccess(ctx, me, bundleParams.parse(request.params).userId);
    const user = access.user;
    const devices = (await ctx.stores.devices.list(me.tenant, user.id)).filter(
      (d) => !d.blocked && !(d.user === me.user && d.id === me.device),
    );
    const out: DeviceBundleEntry[] = [];
    for (const d of devices) {
      const bundle: PreKeyBundle | undefined = await ctx.stores.bundles.takeBundle(me.tenant, user.id, d.id);
      if (bundle === undefined) continue;
      out.push({
        deviceId: d.id,
        registrationId: d.registrationId,
        mailbox: d.mailbox,
        deliveryToken: b64(await issueDeliveryToken(ctx, access, d.mailbox)),
        bundle: b64(encodePreKeyBundle(bundle)),
      });
    }
    return { devices: out };
  });
};
