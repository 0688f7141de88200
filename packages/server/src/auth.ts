/**
 * Device authentication. At registration a device receives a random 32-byte credential; the
 * server keeps only its SHA-256 (labelled) and finds the device by that hash. Every later request
 * carries `Authorization: Cloister-Device <base64url credential>`; WebSocket upgrades carry the
 * same header. A credential has exactly one spelling, the canonical unpadded base64url of its 32
 * bytes (43 characters): a padded, wrong-length or differently spelled text (the last character's
 * two spare bits set) is refused like an unknown credential, so no limiter keyed on a credential
 * can be multiplied by re-spelling it. A missing, malformed, non-canonical or unknown credential
 * is one `ERR_UNAUTHENTICATED`; a blocked device or user is `ERR_FORBIDDEN`, everywhere at once
 * (checked on every request, not cached).
 *
 * @module
 */

import type { DeviceId } from '@cloister/crypto';
import { concatBytes, ForbiddenError, UnauthenticatedError, utf8 } from '@cloister/crypto';
import type { MailboxId, TenantId, UserId } from '@cloister/protocol';
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from './context.js';
import type { Device } from './store/index.js';

/** The label hashed in front of a device credential. */
export const CREDENTIAL_HASH_LABEL = 'cloister/server/v1/device-credential';
/**
 * Bytes of a device credential (32); its text form is 43 base64url characters.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * const fresh = new Uint8Array(randomBytes(CREDENTIAL_BYTES));
 * authorizationHeader(fresh).length; // → 59 ('Cloister-Device ' + 43 characters)
 * ```
 */
export const CREDENTIAL_BYTES = 32;
const SCHEME = 'Cloister-Device';
const B64URL = /^[A-Za-z0-9_-]{43}$/;

/**
 * Who is calling: the authenticated device of a request, as {@link authenticate} returns it.
 *
 * @example
 * ```ts
 * const me: DeviceAuth = await authenticate(ctx, request);
 * const pending = await ctx.stores.mailboxes.count(me.mailbox);
 * ```
 */
export interface DeviceAuth {
  /** The tenant the device belongs to. */
  readonly tenant: TenantId;
  /** The user who owns the device. */
  readonly user: UserId;
  /** The device's id within its user. */
  readonly device: DeviceId;
  /** The device's own mailbox, where envelopes sent to it wait. */
  readonly mailbox: MailboxId;
}

/**
 * The stored hash of a credential.
 *
 * @example
 * ```ts
 * const hash = await credentialHash(ctx, credential);
 * ```
 */
export async function credentialHash(
  ctx: Pick<ServerContext, 'provider'>,
  credential: Uint8Array,
): Promise<Uint8Array> {
  return ctx.provider.sha256(concatBytes(utf8(CREDENTIAL_HASH_LABEL), credential));
}

/**
 * Formats the `Authorization` header value for a credential.
 *
 * @example
 * ```ts
 * const headers = { authorization: authorizationHeader(credential) };
 * // → { authorization: 'Cloister-Device <43 base64url characters>' }
 * ```
 */
export function authorizationHeader(credential: Uint8Array): string {
  return `${SCHEME} ${Buffer.from(credential).toString('base64url')}`;
}

/**
 * The credential bytes of an `Authorization` value, or `UnauthenticatedError` unless it is
 * exactly `Cloister-Device ` followed by the canonical unpadded base64url of 32 bytes: the
 * decoded bytes re-encoded must give back the text, so padding, the standard alphabet, a wrong
 * length and a last character with spare bits set are all refused. The caller owns (and should
 * zero) the bytes returned.
 *
 * @example
 * ```ts
 * const credential = parseCredential(request.headers.authorization);
 * try {
 *   const found = await ctx.stores.devices.byCredentialHash(await credentialHash(ctx, credential));
 * } finally {
 *   credential.fill(0);
 * }
 * ```
 */
export function parseCredential(authorization: unknown): Uint8Array {
  if (typeof authorization !== 'string') throw new UnauthenticatedError();
  const [scheme, token, extra] = authorization.split(' ');
  if (scheme !== SCHEME || token === undefined || extra !== undefined || !B64URL.test(token)) {
    throw new UnauthenticatedError();
  }
  const decoded = Buffer.from(token, 'base64url');
  const canonical = decoded.length === CREDENTIAL_BYTES && decoded.toString('base64url') === token;
  const credential = new Uint8Array(decoded);
  decoded.fill(0);
  if (!canonical) {
    credential.fill(0);
    throw new UnauthenticatedError();
  }
  return credential;
}

/**
 * The device whose credential the request carries, blocked or not; `UnauthenticatedError` for a
 * missing, malformed, non-canonical ({@link parseCredential}) or unknown credential. Routes use {@link authenticate}; only those a blocked
 * device must still reach (its remote wipe) use this directly.
 *
 * @example
 * ```ts
 * const device = await credentialDevice(ctx, request); // a wiped, blocked device still gets here
 * ```
 */
export async function credentialDevice(
  ctx: ServerContext,
  request: Pick<FastifyRequest, 'headers'>,
): Promise<Device> {
  const credential = parseCredential(request.headers.authorization);
  let device: Device | undefined;
  try {
    device = await ctx.stores.devices.byCredentialHash(await credentialHash(ctx, credential));
  } finally {
    credential.fill(0);
  }
  if (device === undefined) throw new UnauthenticatedError();
  return device;
}

/**
 * Authenticates a request's device, or throws `UnauthenticatedError` / `ForbiddenError`.
 *
 * @example
 * ```ts
 * app.get('/v1/me', async (request) => {
 *   const me = await authenticate(ctx, request);
 *   return { user: me.user, device: me.device };
 * });
 * ```
 */
export async function authenticate(
  ctx: ServerContext,
  request: Pick<FastifyRequest, 'headers'>,
): Promise<DeviceAuth> {
  const device = await credentialDevice(ctx, request);
  if (device.blocked) throw new ForbiddenError('this device is blocked');
  const user = await ctx.stores.users.get(device.tenant, device.user);
  if (user === undefined) throw new UnauthenticatedError();
  if (user.blocked) throw new ForbiddenError('this user is blocked');
  return { tenant: device.tenant, user: device.user, device: device.id, mailbox: device.mailbox };
}
