/**
 * Device authentication. At registration a device receives a random 32-byte credential; the
 * server keeps only its SHA-256 (labelled) and finds the device by that hash. Every later request
 * carries `Authorization: Cloister-Device <base64url credential>`; WebSocket upgrades carry the
 * same header. A missing, malformed or unknown credential is one `ERR_UNAUTHENTICATED`; a blocked
 * device or user is `ERR_FORBIDDEN`, everywhere at once (checked on every request, not cached).
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
/** Bytes of a device credential. */
export const CREDENTIAL_BYTES = 32;
const SCHEME = 'Cloister-Device';
const B64URL = /^[A-Za-z0-9_-]{43}$/;

/** Who is calling. */
export interface DeviceAuth {
  readonly tenant: TenantId;
  readonly user: UserId;
  readonly device: DeviceId;
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
 * headers.authorization = authorizationHeader(credential);
 * ```
 */
export function authorizationHeader(credential: Uint8Array): string {
  return `${SCHEME} ${Buffer.from(credential).toString('base64url')}`;
}

/**
 * The device whose credential the request carries, blocked or not; `UnauthenticatedError` for a
 * missing, malformed or unknown credential. Routes use {@link authenticate}; only those a blocked
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
  const header = request.headers.authorization;
  if (typeof header !== 'string') throw new UnauthenticatedError();
  const [scheme, token, extra] = header.split(' ');
  if (scheme !== SCHEME || token === undefined || extra !== undefined || !B64URL.test(token)) {
    throw new UnauthenticatedError();
  }
  const credential = new Uint8Array(Buffer.from(token, 'base64url'));
  const device = await ctx.stores.devices.byCredentialHash(await credentialHash(ctx, credential));
  credential.fill(0);
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
