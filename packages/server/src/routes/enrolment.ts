/**
 * `POST /v1/enrol` (a device registers with an enrolment token and proves possession of its
 * identity key; no authentication) and `GET /v1/me` (who the calling device is). Bodies are
 * JSON, validated with strict zod schemas; byte fields are unpadded base64url.
 * See `spec/server-enrolment.md`.
 *
 * @module
 */
import { type UserId, userId } from '@cloister/protocol';
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { RouteModule } from '../context.js';
import { type EnrolmentLimits, enrolDevice, resolveEnrolmentLimits } from '../enrolment.js';
import { getOrganisationRoot } from '../organisation/root.js';
import { statisticsOf } from '../statistics.js';

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Unpadded base64url of exactly `bytes` bytes, decoded. */
function b64url(bytes: number) {
  const chars = Math.ceil((bytes * 4) / 3);
  return z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9_-]{${chars}}$`), `base64url of ${bytes} bytes`)
    .transform((text, zctx) => {
      const out = new Uint8Array(Buffer.from(text, 'base64url'));
      if (out.length !== bytes || Buffer.from(out).toString('base64url') !== text) {
        zctx.addIssue({ code: 'custom', message: `canonical base64url of ${bytes} bytes` });
        return z.NEVER;
      }
      return out;
    });
}

const userIdSchema = z
  .string()
  .regex(/^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/, 'an identifier')
  .transform((v): UserId => userId(v));

/**
 * The body of `POST /v1/enrol`.
 *
 * @example
 * ```ts
 * const body = enrolBodySchema.parse(request.body); // throws ZodError (400 ERR_VALIDATION) when malformed
 * ```
 */
export const enrolBodySchema = z
  .object({
    token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 43-character base64url token'),
    user: z
      .object({
        id: userIdSchema,
        displayName: z
          .string()
          .min(1)
          .max(256)
          .refine((v) => !hasControl(v), 'no control characters')
          .optional(),
      })
      .strict()
      .optional(),
    device: z
      .object({
        identity: z
          .object({ signingKey: b64url(32), dhKey: b64url(32), dhKeySignature: b64url(64) })
          .strict(),
        registrationId: z.number().int().min(0).max(0xffff_ffff),
        proof: b64url(64),
      })
      .strict(),
  })
  .strict();

/**
 * Options of {@link createEnrolmentRoutes}.
 *
 * @example
 * ```ts
 * const options: EnrolmentRoutesOptions = { limits: { maxFailures: 5 } };
 * const server = await createServer({ routes: [createEnrolmentRoutes(options)] });
 * ```
 */
export interface EnrolmentRoutesOptions {
  /** Brute-force protection of enrolment tokens (default 10 failures per 15 minutes). */
  readonly limits?: Partial<EnrolmentLimits>;
}

/**
 * The enrolment routes with the given limits (`ValidationError` at once for a bad limit).
 *
 * @example
 * ```ts
 * const routes = createEnrolmentRoutes({ limits: { maxFailures: 5, windowMs: 10 * 60_000 } });
 * const server = await createServer({ routes: [routes, certificateRoutes, keyRoutes] });
 * ```
 */
export function createEnrolmentRoutes(options: EnrolmentRoutesOptions = {}): RouteModule {
  const limits = resolveEnrolmentLimits(options.limits);
  return (app, ctx) => {
    app.post('/v1/enrol', async (request, reply) => {
      const body = enrolBodySchema.parse(request.body);
      let enrolment: Awaited<ReturnType<typeof enrolDevice>>;
      try {
        enrolment = await enrolDevice(
          ctx,
          {
            token: body.token,
            ...(body.user === undefined
              ? {}
              : {
                  user: {
                    id: body.user.id,
                    ...(body.user.displayName === undefined ? {} : { displayName: body.user.displayName }),
                  },
                }),
            identity: body.device.identity,
            registrationId: body.device.registrationId,
            proof: body.device.proof,
          },
          { clientAddress: request.ip, limits },
        );
      } catch (error) {
        request.log.info(
          { event: 'enrol.refused', code: (error as { code?: unknown }).code },
          'enrolment refused',
        );
        throw error;
      }
      request.log.info({ event: 'enrol.device' }, 'device enrolled');
      statisticsOf(ctx).enrolled(enrolment.tenant);
      const credential = Buffer.from(enrolment.credential).toString('base64url');
      enrolment.credential.fill(0);
      // The organisation root, which the device accepts only if it matches the fingerprint it got
      // from the enrolment code or its MDM configuration (spec/organisation.md §10.2).
      const root = await getOrganisationRoot(ctx, enrolment.tenant);
      return reply.code(201).send({
        tenant: enrolment.tenant,
        user: enrolment.user,
        deviceId: enrolment.deviceId,
        mailbox: enrolment.mailbox,
        credential,
        tenantSigningKey: Buffer.from(enrolment.tenantSigningKey).toString('base64url'),
        ...(root === undefined
          ? {}
          : { organisationRoot: Buffer.from(root.rootPublicKey).toString('base64url') }),
      });
    });

    app.get('/v1/me', async (request) => {
      const me = await authenticate(ctx, request);
      return { tenant: me.tenant, user: me.user, deviceId: me.device, mailbox: me.mailbox };
    });
  };
}

/**
 * The enrolment routes with the default limits: `POST /v1/enrol`, `GET /v1/me`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, certificateRoutes] });
 * ```
 */
export const enrolmentRoutes: RouteModule = createEnrolmentRoutes();
