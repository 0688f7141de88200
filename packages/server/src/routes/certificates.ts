/**
 * `POST /v1/certificate` (authenticated): a short-lived sender certificate for the calling
 * device. The request has no body (or an empty JSON object); the answer is JSON
 * `{ "certificate": "<base64url of the encoded certificate>", "expiresAt": <ms since the epoch> }`.
 * See `spec/server-enrolment.md`.
 *
 * @module
 */
import { z } from 'zod';
import { authenticate } from '../auth.js';
import { checkCertificateTtl, issueCertificateFor } from '../certificates.js';
import type { RouteModule } from '../context.js';

const bodySchema = z.object({}).strict().optional();

/**
 * Options of {@link createCertificateRoutes}.
 *
 * @example
 * ```ts
 * const options: CertificateRoutesOptions = { ttlMs: 60 * 60_000 }; // 1-hour certificates
 * const routes = createCertificateRoutes(options);
 * ```
 */
export interface CertificateRoutesOptions {
  /** Lifetime of issued certificates in ms (default 4 hours; 1 minute to 24 hours). */
  readonly ttlMs?: number;
}

/**
 * The certificate route (`POST /v1/certificate`) with the given lifetime; `ValidationError` at
 * once for a lifetime outside 1 minute .. 24 hours.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   routes: [enrolmentRoutes, createCertificateRoutes({ ttlMs: 6 * 3_600_000 })],
 * });
 * ```
 */
export function createCertificateRoutes(options: CertificateRoutesOptions = {}): RouteModule {
  const ttlMs = checkCertificateTtl(options.ttlMs);
  return (app, ctx) => {
    app.post('/v1/certificate', async (request) => {
      const me = await authenticate(ctx, request);
      bodySchema.parse(request.body ?? undefined);
      const { certificate, encoded } = await issueCertificateFor(ctx, me, { ttlMs });
      return { certificate: Buffer.from(encoded).toString('base64url'), expiresAt: certificate.expiresAt };
    });
  };
}

/**
 * The certificate route with the default 4-hour lifetime: `POST /v1/certificate`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, certificateRoutes] });
 * ```
 */
export const certificateRoutes: RouteModule = createCertificateRoutes();
