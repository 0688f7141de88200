/**
 * The compliance report of a device (R27, `spec/restrictions.md` §5): `POST /v1/compliance`,
 * authenticated as the device, stores its latest report (which policy revision it applied, what
 * its SDK enforces, what its app declared it enforces, its SDK version) and records the app
 * version and platform it reports on the device. Answer 204. The report is the device's word: the
 * server cannot check what a client really does; it keeps the claim so that administrators see
 * devices that run an old policy, stop reporting or do not claim a restriction in force
 * (`GET /admin/v1/compliance`).
 *
 * @module
 */
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { RouteModule } from '../context.js';
import { COMPLIANCE_LIMITS, MAX_CLIENT_VERSION } from '../store/index.js';

const name = z.string().min(1).max(COMPLIANCE_LIMITS.name);
const text = z.string().min(1).max(MAX_CLIENT_VERSION);

/**
 * The body of `POST /v1/compliance`.
 *
 * @example
 * ```ts
 * complianceReportBody.parse({ revision: 'r1', sdk: '@cloister/client/0.1.0', enforced: ['files.send'], appEnforced: ['screenshots'] });
 * ```
 */
export const complianceReportBody = z
  .object({
    revision: z.string().min(1).max(COMPLIANCE_LIMITS.revision),
    sdk: z.string().min(1).max(COMPLIANCE_LIMITS.sdk),
    enforced: z.array(name).max(COMPLIANCE_LIMITS.names),
    appEnforced: z.array(name).max(COMPLIANCE_LIMITS.names),
    appVersion: text.optional(),
    platform: text.optional(),
  })
  .strict();

/**
 * Registers `POST /v1/compliance`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, complianceRoutes] });
 * ```
 */
export const complianceRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/compliance', async (request, reply) => {
    const me = await authenticate(ctx, request);
    const body = complianceReportBody.parse(request.body);
    await ctx.stores.transaction(async (s) => {
      await s.compliance.put(me.tenant, me.user, me.device, {
        revision: body.revision,
        sdk: body.sdk,
        enforced: body.enforced,
        appEnforced: body.appEnforced,
      });
      if (body.appVersion !== undefined || body.platform !== undefined) {
        await s.devices.report(me.tenant, me.user, me.device, {
          ...(body.appVersion === undefined ? {} : { appVersion: body.appVersion }),
          ...(body.platform === undefined ? {} : { platform: body.platform }),
        });
      }
    });
    return reply.code(204).send();
  });
};
