/**
 * Zero-touch admission in the admin API (`spec/device-lists.md` §5): an administrator or an
 * integration signs, on its own machine, the next device list of a user that adds one enrolled
 * device (signer kind 2, its administrator certificate embedded); the server checks it and appends
 * it to the user's chain. The server never signs a list: clients accept the addition only when
 * the certificate chains to the organisation root they pinned.
 *
 * | op id | route | access |
 * |---|---|---|
 * | getDeviceAdmission | GET /admin/v1/users/:user/device-admission | devices.admit |
 * | admitDevice | PUT /admin/v1/users/:user/device-list | devices.admit |
 *
 * @module
 */
import { CloisterError, DecodeError, equalBytes, ForbiddenError, ValidationError } from '@cloister/crypto';
import {
  checkDeviceListSuccessor,
  decodeAdminCertificate,
  decodeDeviceList,
  organisationListVerifier,
  type SignedDeviceList,
  userId,
  verifyDeviceList,
} from '@cloister/protocol';
import { z } from 'zod';
import { requireOrganisationRoot } from '../../organisation/root.js';
import { ConflictError, MAX_DEVICE_LIST_BYTES, NotFoundError } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, b64url, userParams } from './schemas.js';

function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  ADMIN_SCHEMAS.add(schema, { id, description });
  return schema;
}

const candidateView = named(
  z
    .object({
      device: z.number().int(),
      signingKey: z.string(),
      dhKey: z.string(),
      dhKeySignature: z.string(),
      enrolledVia: z.enum(['token', 'managed']),
    })
    .strict(),
  'DeviceAdmissionCandidate',
  'An enrolled, unblocked device of the user that its newest device list lacks, with its identity keys (base64url).',
);

const admissionView = named(
  z
    .object({
      list: z.string().nullable(),
      candidates: z.array(candidateView),
    })
    .strict(),
  'DeviceAdmissionState',
  'The newest device list of the user (base64url, null when the user has none) and the devices it lacks.',
);

const listBody = named(
  z
    .object({
      list: z
        .string()
        .min(1)
        .max(Math.ceil((MAX_DEVICE_LIST_BYTES * 4) / 3))
        .regex(/^[A-Za-z0-9_-]+$/, 'base64url'),
    })
    .strict(),
  'OrganisationDeviceListBody',
  'A device list signed by an administrator of the organisation (signer kind 2), base64url, made on the administrator’s machine.',
);

/**
 * `GET /admin/v1/users/:user/device-admission` (`devices.admit`): what an administrator needs to
 * sign an admission: the user's newest list and every enrolled, unblocked device not on it (with
 * how each enrolled, `enrolledVia`: `token` or `managed`).
 *
 * @example
 * ```ts
 * const { list, candidates } = await (await fetch(`${url}/admin/v1/users/alice/device-admission`, { headers })).json();
 * ```
 */
export const getDeviceAdmissionOperation = defineAdminOperation({
  id: 'getDeviceAdmission',
  method: 'GET',
  path: '/admin/v1/users/:user/device-admission',
  tag: 'devices',
  summary: "A user's newest device list and the enrolled devices it lacks",
  access: { permission: 'devices.admit' },
  params: userParams,
  status: 200,
  response: admissionView,
  handle: async (ctx, { me, params }) => {
    const user = userId(params.user);
    if ((await ctx.stores.users.get(me.tenant, user)) === undefined) throw new NotFoundError('user');
    const stored = await ctx.stores.deviceLists.newest(me.tenant, user);
    const newest = stored === undefined ? undefined : decodeDeviceList(stored.bytes);
    const devices = await ctx.stores.devices.list(me.tenant, user);
    const candidates = devices
      .filter((d) => !d.blocked && !newest?.devices.some((e) => e.deviceId === d.id))
      .map((d) => ({
        device: d.id as number,
        signingKey: b64url(d.identity.signingKey),
        dhKey: b64url(d.identity.dhKey),
        dhKeySignature: b64url(d.identity.dhKeySignature),
        enrolledVia: d.enrolledVia,
      }));
    return { list: stored === undefined ? null : b64url(stored.bytes), candidates };
  },
});

/**
 * `PUT /admin/v1/users/:user/device-list` (`devices.admit`): appends a list the organisation
 * signed. In order: the tenant has a root (409); the list decodes and verifies for the user under
 * that root, with signer kind 2 (400 `list`); its certificate certifies the caller (403); the
 * device it admits is enrolled, unblocked and has exactly the listed keys (400 `list.signer`);
 * the list follows the stored newest one (409; a user without a list is 409 too: the user's first
 * device starts the chain). The append and the audit record (`device-list.admit`) share one
 * transaction.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice/device-list`, { method: 'PUT', headers, body: JSON.stringify({ list: Buffer.from(bytes).toString('base64url') }) });
 * ```
 */
export const admitDeviceOperation = defineAdminOperation({
  id: 'admitDevice',
  method: 'PUT',
  path: '/admin/v1/users/:user/device-list',
  tag: 'devices',
  summary: 'Append a device list the organisation signed (zero-touch admission of one device)',
  access: { permission: 'devices.admit' },
  params: userParams,
  body: listBody,
  status: 200,
  response: z.object({ epoch: z.number().int(), device: z.number().int() }).strict(),
  handle: async (ctx, { me, params, body }) => {
    const user = userId(params.user);
    if ((await ctx.stores.users.get(me.tenant, user)) === undefined) throw new NotFoundError('user');
    const { rootPublicKey } = await requireOrganisationRoot(ctx, me.tenant);
    const bytes = new Uint8Array(Buffer.from(body.list, 'base64url'));
    if (b64url(bytes) !== body.list) throw new ValidationError('list', 'canonical base64url');
    let list: SignedDeviceList;
    try {
      list = decodeDeviceList(bytes);
    } catch (e) {
      if (e instanceof DecodeError) throw new ValidationError('list', `a device list (${e.message})`);
      throw e;
    }
    const signer = list.signer;
    if (signer.kind !== 'organisation') throw new ValidationError('list.signer', 'the organisation');
    try {
      await verifyDeviceList(ctx.provider, list, {
        tenant: me.tenant,
        user,
        organisation: organisationListVerifier(ctx.provider, {
          rootPublicKey,
          tenant: me.tenant,
          now: () => ctx.now(),
        }),
      });
    } catch (e) {
      if (e instanceof CloisterError) {
        throw new ValidationError(
          'list',
          `a list of this user signed under the organisation root (${e.message})`,
        );
      }
      throw e;
    }
    if (decodeAdminCertificate(signer.certificate).admin !== me.admin.id) {
      throw new ForbiddenError('the list must be signed by the calling administrator');
    }
    return ctx.stores.transaction(async (s) => {
      const entry = list.devices.find((d) => d.deviceId === signer.deviceId);
      const enrolled = await s.devices.get(me.tenant, user, signer.deviceId);
      if (
        entry === undefined ||
        enrolled === undefined ||
        enrolled.blocked ||
        !equalBytes(enrolled.identity.signingKey, entry.identity.signingKey) ||
        !equalBytes(enrolled.identity.dhKey, entry.identity.dhKey)
      ) {
        throw new ValidationError(
          'list.signer',
          'an enrolled, unblocked device of this user with its enrolled identity',
        );
      }
      const stored = await s.deviceLists.newest(me.tenant, user);
      if (stored === undefined) {
        throw new ConflictError('device-list', 'the user has no device list yet: the first device starts it');
      }
      const newest = decodeDeviceList(stored.bytes);
      try {
        await checkDeviceListSuccessor(ctx.provider, newest, list);
      } catch (e) {
        if (e instanceof CloisterError && e.code === 'ERR_INVALID_KEY') {
          throw new ConflictError('device-list', `not a successor of the newest list (${e.message})`);
        }
        throw e;
      }
      await s.deviceLists.append(me.tenant, user, list.bytes, list.epoch, { previous: newest.bytes });
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'device-list.admit',
        target: `${user}/${signer.deviceId}`,
        outcome: 'success',
        details: { epoch: list.epoch, devices: list.devices.map((d) => d.deviceId) },
      });
      return { epoch: list.epoch, device: signer.deviceId as number };
    });
  },
});

/**
 * The zero-touch admission operations, for the admin API's route module and the OpenAPI document.
 *
 * @example
 * ```ts
 * const ids = DEVICE_ADMISSION_OPERATIONS.map((op) => op.id); // ['getDeviceAdmission', 'admitDevice']
 * ```
 */
export const DEVICE_ADMISSION_OPERATIONS = Object.freeze([getDeviceAdmissionOperation, admitDeviceOperation]);
