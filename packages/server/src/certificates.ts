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
 * Default lifetime of a sender certificate: 4 hours, in ms. A blocked or moved user keeps the
 * certificates it holds until they expire, so they are short.
 *
 * @example
 * ```ts
 * checkCertificateTtl(undefined) === DEFAULT_CERTIFICATE_TTL_MS; // → true (14,400,000 ms)
 * ```
 */
export const DEFAULT_CERTIFICATE_TTL_MS = 4 * 3_600_000;
/**
 * Shortest configurable lifetime of a sender certificate: 1 minute, in ms.
 *
 * @example
 * ```ts
 * checkCertificateTtl(MIN_CERTIFICATE_TTL_MS); // → 60000
 * checkCertificateTtl(MIN_CERTIFICATE_TTL_MS - 1); // throws ValidationError
 * ```
 */
export const MIN_CERTIFICATE_TTL_MS = 60_000;
/**
 * Longest configurable lifetime of a sender certificate: 24 hours, in ms.
 *
 * @example
 * ```ts
 * const routes = createCertificateRoutes({ ttlMs: MAX_CERTIFICATE_TTL_MS });
 * ```
 */
export const MAX_CERTIFICATE_TTL_MS = 86_400_000;

/**
 * The part of the server context {@link issueCertificateFor} uses: the stores, the adapter (for
 * the tenant's signing key), the crypto provider and the clock.
 *
 * @example
 * ```ts
 * const certificates: CertificateContext = ctx; // a full ServerContext is one
 * const { encoded } = await issueCertificateFor(certificates, me);
 * ```
 */
export type CertificateContext = Pick<ServerContext, 'adapter' | 'provider' | 'stores' | 'now'>;

/**
 * Options of {@link issueCertificateFor}.
 *
 * @example
 * ```ts
 * const options: CertificateOptions = { ttlMs: 30 * 60_000 }; // 30 minutes
 * const { certificate } = await issueCertificateFor(ctx, me, options);
 * ```
 */
export interface CertificateOptions {
  /** Lifetime in ms (default 4 hours, `DEFAULT_CERTIFICATE_TTL_MS`; 1 minute to 24 hours). */
  readonly ttlMs?: number;
}

/**
 * Checks a certificate lifetime in ms and returns it (`undefined` gives the 4-hour default);
 * `ValidationError` for a non-integer or a value outside 1 minute .. 24 hours.
 *
 * @example
 * ```ts
 * const ttl = checkCertificateTtl(3_600_000); // → 3600000
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
 * in more pools than a certificate can list is `LimitError`; a lifetime outside 1 minute .. 24
 * hours is `ValidationError` (default 4 hours).
 *
 * @example
 * ```ts
 * const caller = await authenticate(ctx, request);
 * const { certificate, encoded } = await issueCertificateFor(ctx, caller, { ttlMs: 3_600_000 });
 * // certificate.expiresAt → ctx.now() + 1 hour; encoded → the bytes sent to the device
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
