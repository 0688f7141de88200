/**
 * Devices in the admin API: list a user's devices (`devices.read`), block and unblock one
 * (`devices.block`). A block writes the flag, bumps the delivery-token epoch of the owner's class
 * and appends the audit record in one transaction; the device's socket is then woken so that it
 * re-reads the flag and closes. A user or device of another tenant is 404.
 *
 * @module
 */
import { type DeviceId, deviceId } from '@cloister/crypto';
import { type TenantId, type UserId, userId } from '@cloister/protocol';
import { z } from 'zod';
import { NotFoundError, type ServerStoreSet } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { deviceParams, deviceView, userParams } from './schemas.js';
import { deviceViewOf } from './views.js';

async function requireDevice(s: ServerStoreSet, tenant: TenantId, user: UserId, device: DeviceId) {
  const d = await s.devices.get(tenant, user, device);
  if (d === undefined) throw new NotFoundError('device');
  return d;
}

/**
 * `GET /admin/v1/users/:user/devices` (`devices.read`): every device of the user, blocked ones
 * included.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/users/alice/devices`, { headers })).json();
 * ```
 */
export const listDevicesOperation = defineAdminOperation({
  id: 'listDevices',
  method: 'GET',
  path: '/admin/v1/users/:user/devices',
  tag: 'devices',
  summary: "List a user's devices",
  access: { permission: 'devices.read' },
  params: userParams,
  status: 200,
  response: z.object({ items: z.array(deviceView) }).strict(),
  handle: async (ctx, { me, params }) => {
    const user = userId(params.user);
    if ((await ctx.stores.users.get(me.tenant, user)) === undefined) throw new NotFoundError('user');
    return { items: (await ctx.stores.devices.list(me.tenant, user)).map(deviceViewOf) };
  },
});

function setBlocked(blocked: boolean) {
  const action = blocked ? 'device.block' : 'device.unblock';
  return defineAdminOperation({
    id: blocked ? 'blockDevice' : 'unblockDevice',
    method: 'POST',
    path: `/admin/v1/users/:user/devices/:device/${blocked ? 'block' : 'unblock'}`,
    tag: 'devices',
    summary: blocked ? 'Block a device' : 'Unblock a device',
    access: { permission: 'devices.block' },
    params: deviceParams,
    status: 200,
    response: deviceView,
    handle: async (ctx, { me, params }) => {
      const user = userId(params.user);
      const device = deviceId(params.device);
      const after = await ctx.stores.transaction(async (s) => {
        await requireDevice(s, me.tenant, user, device);
        const updated = await s.devices.update(me.tenant, user, device, { blocked });
        await s.audit.append(me.tenant, {
          actor: me.admin.id,
          action,
          target: `${user}/${device}`,
          outcome: 'success',
        });
        return updated;
      });
      if (blocked) await ctx.bus.notify(after.mailbox, 'recheck').catch(() => undefined);
      return deviceViewOf(after);
    },
  });
}

/**
 * `POST /admin/v1/users/:user/devices/:device/block` (`devices.block`): audited `device.block`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice/devices/2/block`, { method: 'POST', headers });
 * ```
 */
export const blockDeviceOperation = setBlocked(true);

/**
 * `POST /admin/v1/users/:user/devices/:device/unblock` (`devices.block`): audited
 * `device.unblock`. A device blocked by a wipe stays wiped: its data key is gone.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice/devices/2/unblock`, { method: 'POST', headers });
 * ```
 */
export const unblockDeviceOperation = setBlocked(false);

/**
 * The device operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, DEVICE_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const DEVICE_OPERATIONS = [
  listDevicesOperation,
  blockDeviceOperation,
  unblockDeviceOperation,
] as const;
