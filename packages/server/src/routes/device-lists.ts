/**
 * Signed device lists, the server's half (spec/device-lists.md): the server keeps each user's
 * chain of lists and serves it; it cannot add a device to a list, because clients accept only
 * lists signed by a device of the list they pinned. Its checks on upload are a courtesy (they keep
 * obviously wrong lists out of the chain); clients check everything again.
 *
 * - `GET /v1/users/:userId/device-lists?after=<base64url SHA-256>`: `{ "lists": [<base64url>, …] }`
 *   in ascending epochs: from the list `after` names (inclusive) when it is one of the current
 *   chain, else the whole chain from epoch 1; `[]` when the user has none. Authorization as
 *   `GET /v1/users/:userId/devices` (`contactableUser`; the caller's own user is allowed).
 * - `PUT /v1/device-list` `{ "list": "<base64url>" }`: the calling device publishes the next list
 *   of its user (or the first, or a restart after the user lost every listed device);
 *   `{ "epoch": n }`.
 *
 * Both count against the per-device request limit every authenticated request counts against
 * (`server.ts`).
 *
 * @module
 */
import { CloisterError, DecodeError, equalBytes, ForbiddenError, ValidationError } from '@cloister/crypto';
import {
  checkDeviceListSuccessor,
  decodeDeviceList,
  deviceListHash,
  type SignedDeviceList,
  verifyDeviceList,
} from '@cloister/protocol';
import { z } from 'zod';
import { authenticate, type DeviceAuth } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { ConflictError, MAX_DEVICE_LIST_BYTES, type ServerStoreSet } from '../store/index.js';
import { contactableUser } from './keys.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** Longest base64url form of a list (no padding). */
const MAX_LIST_CHARS = Math.ceil((MAX_DEVICE_LIST_BYTES * 4) / 3);

const listParams = z.object({ userId: z.string() }).strict();
const listQuery = z
  .object({ after: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the base64url SHA-256 of a list') })
  .partial()
  .strict();
const putBody = z
  .object({
    list: z
      .string()
      .min(1)
      .max(MAX_LIST_CHARS)
      .regex(/^[A-Za-z0-9_-]+$/, 'base64url'),
  })
  .strict();

/**
 * The answer of `GET /v1/users/:userId/device-lists`.
 *
 * @example
 * ```ts
 * const { lists }: DeviceListsResponse = res.json;
 * const update = await followDeviceLists(provider, pinned, lists.map((l) => Buffer.from(l, 'base64url')), { tenant, user });
 * ```
 */
export interface DeviceListsResponse {
  readonly lists: readonly string[];
}

/**
 * The answer of `PUT /v1/device-list`.
 *
 * @example
 * ```ts
 * const { epoch }: DeviceListPutResponse = res.json;
 * ```
 */
export interface DeviceListPutResponse {
  readonly epoch: number;
}

/** A 409 whose message tells the client what to do instead. */
class DeviceListConflict extends CloisterError {
  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}

/** The bytes of a base64url string, refusing a non-canonical encoding. */
function listBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (b64(bytes) !== text) throw new ValidationError('list', 'canonical base64url');
  return bytes;
}

/** Decodes and verifies an uploaded list for the caller's tenant and user: 400 otherwise. */
async function checkedList(ctx: ServerContext, me: DeviceAuth, bytes: Uint8Array): Promise<SignedDeviceList> {
  let list: SignedDeviceList;
  try {
    list = decodeDeviceList(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new ValidationError('list', `a device list (${e.message})`);
    throw e;
  }
  try {
    await verifyDeviceList(ctx.provider, list, { tenant: me.tenant, user: me.user });
  } catch (e) {
    // InvalidKeyError (wrong tenant or user, a signature), UnsupportedError (an organisation
    // signer: a device cannot upload one; the organisation's lists come through the admin API,
    // admin/api/device-admissions.ts).
    if (e instanceof CloisterError) {
      throw new ValidationError('list', `a list of the caller's user that verifies (${e.message})`);
    }
    throw e;
  }
  return list;
}

/**
 * Every entry whose device `base` lacks (all entries without one) must be an enrolled device of
 * the user with exactly its enrolled identity keys.
 */
async function checkNewEntries(
  s: ServerStoreSet,
  list: SignedDeviceList,
  base: SignedDeviceList | undefined,
): Promise<void> {
  for (const [i, entry] of list.devices.entries()) {
    if (base?.devices.some((d) => d.deviceId === entry.deviceId)) continue;
    const enrolled = await s.devices.get(list.tenant, list.user, entry.deviceId);
    if (
      enrolled === undefined ||
      !equalBytes(enrolled.identity.signingKey, entry.identity.signingKey) ||
      !equalBytes(enrolled.identity.dhKey, entry.identity.dhKey)
    ) {
      throw new ValidationError(
        `list.devices[${i}]`,
        'an enrolled device of this user with its enrolled identity',
      );
    }
  }
}

/** Whether a device of `newest` is still enrolled (same signing key) and unblocked. */
async function anyListedDeviceActive(s: ServerStoreSet, newest: SignedDeviceList): Promise<boolean> {
  for (const entry of newest.devices) {
    const d = await s.devices.get(newest.tenant, newest.user, entry.deviceId);
    if (d !== undefined && !d.blocked && equalBytes(d.identity.signingKey, entry.identity.signingKey)) {
      return true;
    }
  }
  return false;
}

/**
 * Registers `GET /v1/users/:userId/device-lists` and `PUT /v1/device-list`.
 *
 * @example
 * ```ts
 * import { deviceListRoutes } from './routes/device-lists.js';
 * await deviceListRoutes(app, ctx);
 * ```
 */
export const deviceListRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/users/:userId/device-lists', async (request): Promise<DeviceListsResponse> => {
    const me = await authenticate(ctx, request);
    const params = listParams.parse(request.params);
    const query = listQuery.parse(request.query ?? {});
    const user = await contactableUser(ctx, me, params.userId);
    const chain = await ctx.stores.deviceLists.chain(me.tenant, user.id);
    let from = 0;
    if (query.after !== undefined) {
      const after = new Uint8Array(Buffer.from(query.after, 'base64url'));
      for (const [i, stored] of chain.entries()) {
        if (equalBytes(await deviceListHash(ctx.provider, stored.bytes), after)) {
          from = i;
          break;
        }
      }
    }
    return { lists: chain.slice(from).map((l) => b64(l.bytes)) };
  });

  app.put('/v1/device-list', async (request): Promise<DeviceListPutResponse> => {
    const me = await authenticate(ctx, request);
    const body = putBody.parse(request.body);
    const list = await checkedList(ctx, me, listBytes(body.list));
    const signer = list.signer;
    if (signer.kind !== 'device' || signer.deviceId !== me.device) {
      throw new ForbiddenError('the list must be signed by the calling device');
    }
    return ctx.stores.transaction(async (s) => {
      const stored = await s.deviceLists.newest(me.tenant, me.user);
      const newest = stored === undefined ? undefined : decodeDeviceList(stored.bytes);
      // New entries are those the list it follows lacks: every entry of a first list or of a
      // restart (a new chain carries nothing over from the old one).
      await checkNewEntries(s, list, list.epoch === 1 ? undefined : newest);
      let action: 'device-list.update' | 'device-list.restart' = 'device-list.update';
      if (newest === undefined) {
        if (list.epoch !== 1) throw new ConflictError('device-list', 'the first list must have epoch 1');
        await s.deviceLists.append(me.tenant, me.user, list.bytes, 1);
      } else if (list.epoch === newest.epoch + 1) {
        try {
          await checkDeviceListSuccessor(ctx.provider, newest, list);
        } catch (e) {
          if (e instanceof CloisterError && e.code === 'ERR_INVALID_KEY') {
            throw new DeviceListConflict(`device-list: not a successor of the newest list (${e.message})`);
          }
          throw e;
        }
        await s.deviceLists.append(me.tenant, me.user, list.bytes, list.epoch, { previous: newest.bytes });
      } else if (list.epoch === 1) {
        if (await anyListedDeviceActive(s, newest)) {
          throw new DeviceListConflict(
            'device-list: a device of the current list is still enrolled; an existing device must link this one (sign a list that adds it)',
          );
        }
        await s.deviceLists.restart(me.tenant, me.user, list.bytes, { replacing: newest.bytes });
        action = 'device-list.restart';
      } else {
        throw new ConflictError('device-list', 'the list is not the next epoch');
      }
      await s.audit.append(me.tenant, {
        actor: `${me.user}/${me.device}`,
        action,
        target: me.user,
        outcome: 'success',
        details: { epoch: list.epoch, devices: list.devices.map((d) => d.deviceId) },
      });
      return { epoch: list.epoch };
    });
  });
};
