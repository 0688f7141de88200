/**
 * Sender certificates on request (issue 6 §3; `spec/envelope.md` §2 for the format): a
 * short-lived statement, signed with the tenant's key, that the calling device's registered
 * identity belongs to its user, tenant and pools. Only ever issued for the caller's own device.
 *
 * @module
 */
import {
  CERTIFICATE_MAX_POOLS,
  encodeSenderCertificate,
  ForbiddenError,
  issueSenderCertificate,
  LimitError,
  type SenderCertificate,
  UnauthenticatedError,
  ValidationError,
} from '@cloister/crypto';
import type { DeviceAuth } from './auth.js';
import type { ServerContext } from './context.js';
import { getTenantSigningKey } from './tenants.js';

/**
 * Default lifetime of a sender certificate: 4 hours. A blocked or moved user keeps the
 * certificates it holds until they expire, so they are short.
 */
export const DEFAULT_CERTIFICATE_TTL_MS = 4 * 3_600_000;
/** Shortest configurable lifetime of a sender certificate: 1 minute. */
export const MIN_CERTIFICATE_TTL_MS = 60_000;
/** Longest configurable lifetime of a sender certificate: 24 hours. */
export const MAX_CERTIFICATE_TTL_MS = 86_400_000;

/** The part of the server context {@link issueCertificateFor} uses. */
export type CertificateContext = Pick<ServerContext, 'adapter' | 'provider' | 'stores' | 'now'>;

/** Options of {@link issueCertificateFor}. */
export interface CertificateOptions {
  /** Lifetime in ms (default 24 hours; 1 minute to 7 days). */
  readonly ttlMs?: number;
}

/**
 * Checks a certificate lifetime (`ValidationError` outside 1 minute .. 7 days).
 *
 * @example
 * ```ts
 * const ttl = checkCertificateTtl(3_600_000);
 * ```
 */
export function checkCertificateTtl(ttlMs: number | undefined): number {
  const ttl = ttlMs ?? DEFAULT_CERTIFICATE_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl < MIN_CERTIFICATE_TTL_MS || ttl > MAX_CERTIFICATE_TTL_MS) {
    throw new ValidationError(
      'ttlMs',
      `an integer in [${MIN_CERTIFICATE_TTL_MS}, ${MAX_CERTIFICATE_TTL_MS}]`,
    );
  }
  return ttl;
}

/**
 * Issues a sender certificate for an authenticated device: its user, device id, registered
 * identity keys, tenant and the user's pools, valid until `now + ttlMs`. The device and user are
 * read afresh (a blocked one is `ForbiddenError`, a removed one `UnauthenticatedError`); a user
 * in more pools than a certificate can list is `LimitError`.
 *
 * @example
 * ```ts
 * const me = await authenticate(ctx, request);
 * const { certificate, encoded } = await issueCertificateFor(ctx, me, { ttlMs: 3_600_000 });
 * ```
 */
export async function issueCertificateFor(
  ctx: CertificateContext,
  auth: DeviceAuth,
  options: CertificateOptions = {},
): Promise<{ certificate: SenderCertificate; encoded: Uint8Array }> {
  const ttl = checkCertificateTtl(options.ttlMs);
  const device = await ctx.stores.devices.get(auth.tenant, auth.user, auth.device);
  const user = await ctx.stores.users.get(auth.tenant, auth.user);
  if (device === undefined || user === undefined) throw new UnauthenticatedError();
  if (device.blocked) throw new ForbiddenError('this device is blocked');
  if (user.blocked) throw new ForbiddenError('this user is blocked');
  if (user.pools.length > CERTIFICATE_MAX_POOLS) {
    throw new LimitError(`a sender certificate lists at most ${CERTIFICATE_MAX_POOLS} pools`);
  }
  const privateKey = await getTenantSigningKey(ctx, auth.tenant);
  try {
    const certificate = await issueSenderCertificate(ctx.provider, privateKey, {
      userId: auth.user,
      deviceId: auth.device,
      identitySigningKey: device.identity.signingKey,
      identityDhKey: device.identity.dhKey,
      tenantId: auth.tenant,
      pools: [...user.pools],
      expiresAt: ctx.now() + ttl,
    });
    return { certificate, encoded: encodeSenderCertificate(certificate) };
  } finally {
    privateKey.fill(0);
  }
}
