/**
 * Remote wipe, the device side (R28, spec/remote-wipe.md §5):
 *
 * - `GET /v1/wipe`: `{ "command": "<base64url>" }`, the signed organisation object of kind `wipe`
 *   an administrator published for the calling device (pending or confirmed; the device verifies
 *   it against the organisation root it pinned), else `{ "command": null }`.
 * - `POST /v1/wipe/report` `{ "report": "<base64url signed WipeReport>" }`: verified with the
 *   device's registered identity signing key and matched against its wipe's `commandId` (the
 *   signed wipe payload's); marks it confirmed.
 *   204, also when repeated (nothing changes then).
 *
 * Both authenticate with the device credential like every route but, unlike every other route,
 * also answer a blocked device (or a device of a blocked user): a wiped device is blocked, and it
 * must still learn that it was wiped and say that it did.
 *
 * @module
 */
import { equalBytes, ForbiddenError, verifyWipeReport, WipeCommandError } from '@cloister/crypto';
import { z } from 'zod';
import { credentialDevice } from '../auth.js';
import type { RouteModule } from '../context.js';
import { confirmWipe, getWipe } from '../wipe.js';

/** Longest accepted base64url report (the report is 113 bytes). */
const MAX_REPORT_CHARS = 256;

const reportBody = z
  .object({
    report: z
      .string()
      .min(1)
      .max(MAX_REPORT_CHARS)
      .regex(/^[A-Za-z0-9_-]+$/),
  })
  .strict();

/**
 * The answer of `GET /v1/wipe`.
 *
 * @example
 * ```ts
 * import { verifyOrganisationObject } from '@cloister/protocol';
 * const { command } = (await response.json()) as WipeCommandResponse;
 * if (command !== null) {
 *   const wipe = await verifyOrganisationObject(provider, Buffer.from(command, 'base64url'), { rootPublicKey, tenant, now: Date.now() });
 * }
 * ```
 */
export interface WipeCommandResponse {
  /**
   * The signed organisation object of kind `wipe` for the calling device, base64url; `null` when
   * no wipe was published for it.
   */
  readonly command: string | null;
}

/**
 * Registers `GET /v1/wipe` and `POST /v1/wipe/report`.
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, wipeRoutes] });
 * ```
 */
export const wipeRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/wipe', async (request): Promise<WipeCommandResponse> => {
    const device = await credentialDevice(ctx, request);
    const wipe = await getWipe(ctx, { tenant: device.tenant, user: device.user, device: device.id });
    return { command: wipe === undefined ? null : Buffer.from(wipe.command).toString('base64url') };
  });

  app.post('/v1/wipe/report', async (request, reply) => {
    const device = await credentialDevice(ctx, request);
    const body = reportBody.parse(request.body);
    const target = { tenant: device.tenant, user: device.user, device: device.id };
    const wipe = await getWipe(ctx, target);
    if (wipe === undefined) throw new ForbiddenError('no wipe was issued for this device');
    const bytes = new Uint8Array(Buffer.from(body.report, 'base64url'));
    let report: Awaited<ReturnType<typeof verifyWipeReport>>;
    try {
      report = await verifyWipeReport(ctx.provider, bytes, device.identity.signingKey);
    } catch (e) {
      if (e instanceof WipeCommandError) throw new ForbiddenError('the report signature does not verify');
      throw e;
    }
    if (!equalBytes(report.commandId, new Uint8Array(Buffer.from(wipe.commandId, 'base64url')))) {
      throw new ForbiddenError('the report answers another command');
    }
    await confirmWipe(ctx, target, ctx.now());
    return reply.code(204).send();
  });
};
