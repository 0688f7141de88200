/**
 * Remote wipe on the server (R28, spec/remote-wipe.md §5): an administrator issues a wipe for one
 * device; the server signs a `WipeCommand` with the tenant's key, stores it as pending and blocks
 * the device in one transaction (with an audit record `device.wipe`). The blocked device can still
 * fetch its command (`GET /v1/wipe`) and confirm it (`POST /v1/wipe/report`), nothing else.
 *
 * Wipes live in the server table `srv_wipes`: partition `u16 len ‖ tenant ‖ u16 len ‖ user`
 * (UTF-8), sort key `u32 device`, value a version-1 record `{ commandId, command, issuedAt,
 * confirmedAt? }`. The shell's encryption at rest seals it like every other table.
 *
 * @module
 */
import {
  concatBytes,
  type DeviceId,
  StorageError,
  signWipeCommand,
  deviceId as toDeviceId,
  uintBE,
  utf8,
  WIPE_COMMAND_ID_LENGTH,
} from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import { decodeRecord, encodeRecord, type StorageTx, txExecutor } from '@cloister/storage';
import type { ServerContext } from './context.js';
import { createAuditLog, createDeviceStore, NotFoundError } from './store/index.js';
import { getTenantSigningKey } from './tenants.js';

/**
 * The server table holding one wipe per device.
 *
 * @example
 * ```ts
 * const row = await tx.get(WIPES_TABLE, partition, sort);
 * ```
 */
export const WIPES_TABLE = 'srv_wipes';

/**
 * The device a wipe is for.
 *
 * @example
 * ```ts
 * const target: WipeTarget = { tenant: tenantId('acme'), user: userId('alice'), device: deviceId(2) };
 * ```
 */
export interface WipeTarget {
  readonly tenant: TenantId;
  readonly user: UserId;
  readonly device: DeviceId;
}

/**
 * A stored wipe.
 *
 * @example
 * ```ts
 * const wipe: StoredWipe | undefined = await getWipe(ctx, target);
 * if (wipe?.confirmedAt === null) console.log('still pending');
 * ```
 */
export interface StoredWipe {
  /** base64url of the 16-byte command id. */
  readonly commandId: string;
  /** The signed command bytes handed to the device. */
  readonly command: Uint8Array;
  readonly issuedAt: number;
  /** When the device's signed report was accepted, or `null` while pending. */
  readonly confirmedAt: number | null;
}

/**
 * What {@link wipeStatus} answers.
 *
 * @example
 * ```ts
 * const status: WipeStatus = await wipeStatus(ctx, target);
 * ```
 */
export type WipeStatus =
  | { readonly state: 'none' }
  | { readonly state: 'pending'; readonly commandId: string; readonly issuedAt: number }
  | {
      readonly state: 'confirmed';
      readonly commandId: string;
      readonly issuedAt: number;
      readonly confirmedAt: number;
    };

/**
 * Options of {@link issueWipe}.
 *
 * @example
 * ```ts
 * await issueWipe(ctx, target, { actor: 'admin-1' } satisfies IssueWipeOptions);
 * ```
 */
export interface IssueWipeOptions {
  /** Who asked, for the audit record (default `system`). */
  readonly actor?: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function lengthPrefixed(text: string): Uint8Array {
  const bytes = utf8(text);
  return concatBytes(uintBE(bytes.length, 2), bytes);
}

function address(t: WipeTarget): { partition: Uint8Array; sort: Uint8Array } {
  return {
    partition: concatBytes(lengthPrefixed(t.tenant), lengthPrefixed(t.user)),
    sort: uintBE(t.device, 4),
  };
}

function checkTarget(target: WipeTarget): WipeTarget {
  if (typeof target !== 'object' || target === null) throw new StorageError('wipe target missing');
  return {
    tenant: tenantId(target.tenant),
    user: userId(target.user),
    device: toDeviceId(target.device, 'device'),
  };
}

function record(w: StoredWipe): Uint8Array {
  return encodeRecord(1, {
    commandId: w.commandId,
    command: w.command,
    issuedAt: w.issuedAt,
    ...(w.confirmedAt === null ? {} : { confirmedAt: w.confirmedAt }),
  });
}

function fromRecord(value: Uint8Array): StoredWipe {
  const { v, d } = decodeRecord(value, WIPES_TABLE);
  const o = d as Record<string, unknown> | null;
  if (
    v !== 1 ||
    typeof o !== 'object' ||
    o === null ||
    typeof o.commandId !== 'string' ||
    !(o.command instanceof Uint8Array) ||
    typeof o.issuedAt !== 'number' ||
    (o.confirmedAt !== undefined && typeof o.confirmedAt !== 'number')
  ) {
    throw new StorageError('wipe record damaged');
  }
  return {
    commandId: o.commandId,
    command: o.command,
    issuedAt: o.issuedAt,
    confirmedAt: typeof o.confirmedAt === 'number' ? o.confirmedAt : null,
  };
}

async function load(tx: StorageTx, target: WipeTarget, forUpdate = false): Promise<StoredWipe | undefined> {
  const { partition, sort } = address(target);
  const row = await tx.get(WIPES_TABLE, partition, sort, forUpdate ? { forUpdate: true } : undefined);
  return row === undefined ? undefined : fromRecord(row.value);
}

/**
 * The stored wipe of a device, or `undefined`.
 *
 * @example
 * ```ts
 * const wipe = await getWipe(ctx, { tenant: me.tenant, user: me.user, device: me.device });
 * ```
 */
export async function getWipe(
  ctx: Pick<ServerContext, 'adapter'>,
  target: WipeTarget,
): Promise<StoredWipe | undefined> {
  const t = checkTarget(target);
  return ctx.adapter.transaction((tx) => load(tx, t), { readOnly: true });
}

/**
 * Issues a remote wipe for one device: signs a `WipeCommand` (16 random bytes of id, issuedAt =
 * `ctx.now()`) with the tenant's key (wiped after use), then in one transaction stores it as
 * pending, blocks the device and appends the audit record `device.wipe`. A device that already
 * has a wipe gets the same command back (nothing new is signed or written). `NotFoundError('device')`
 * for an unknown device. Open delivery sockets of the device are woken so that they notice the
 * block and close with 1008.
 *
 * @example
 * ```ts
 * const { commandId } = await issueWipe(ctx, { tenant: tenantId('acme'), user: userId('alice'), device: deviceId(2) });
 * ```
 */
export async function issueWipe(
  ctx: ServerContext,
  target: WipeTarget,
  options: IssueWipeOptions = {},
): Promise<{ commandId: string; command: Uint8Array }> {
  const t = checkTarget(target);
  const existing = await getWipe(ctx, t);
  if (existing !== undefined) return { commandId: existing.commandId, command: existing.command.slice() };
  const device = await ctx.stores.devices.get(t.tenant, t.user, t.device);
  if (device === undefined) throw new NotFoundError('device');
  const id = ctx.provider.randomBytes(WIPE_COMMAND_ID_LENGTH);
  const issuedAt = ctx.now();
  const privateKey = await getTenantSigningKey(ctx, t.tenant);
  let command: Uint8Array;
  try {
    command = await signWipeCommand(ctx.provider, privateKey, {
      commandId: id,
      tenant: t.tenant,
      userId: t.user,
      deviceId: t.device,
      issuedAt,
    });
  } finally {
    privateKey.fill(0);
  }
  const fresh: StoredWipe = { commandId: b64(id), command, issuedAt, confirmedAt: null };
  const stored = await ctx.adapter.transaction(async (tx) => {
    const devices = createDeviceStore(txExecutor(tx));
    const current = await load(tx, t, true);
    if (current !== undefined) return current; // another request won the race
    if ((await devices.get(t.tenant, t.user, t.device)) === undefined) throw new NotFoundError('device');
    const { partition, sort } = address(t);
    await tx.put(WIPES_TABLE, { partition, sort, value: record(fresh) });
    await devices.update(t.tenant, t.user, t.device, { blocked: true });
    await createAuditLog(txExecutor(tx), ctx.provider).append(t.tenant, {
      actor: options.actor ?? 'system',
      action: 'device.wipe',
      target: `${t.user}/${t.device}`,
      outcome: 'success',
      at: issuedAt,
      details: { commandId: fresh.commandId },
    });
    return fresh;
  });
  await ctx.bus.notify(device.mailbox).catch(() => undefined);
  return { commandId: stored.commandId, command: stored.command.slice() };
}

/**
 * Where the wipe of a device stands.
 *
 * @example
 * ```ts
 * const status = await wipeStatus(ctx, target);
 * if (status.state === 'confirmed') console.log('wiped at', status.confirmedAt);
 * ```
 */
export async function wipeStatus(
  ctx: Pick<ServerContext, 'adapter'>,
  target: WipeTarget,
): Promise<WipeStatus> {
  const w = await getWipe(ctx, target);
  if (w === undefined) return { state: 'none' };
  if (w.confirmedAt === null) return { state: 'pending', commandId: w.commandId, issuedAt: w.issuedAt };
  return { state: 'confirmed', commandId: w.commandId, issuedAt: w.issuedAt, confirmedAt: w.confirmedAt };
}

/**
 * Marks the wipe of a device confirmed at `at`, once: `false` when it was already confirmed
 * (nothing changes), `NotFoundError('wipe')` when the device has none.
 *
 * @example
 * ```ts
 * await confirmWipe(ctx, target, ctx.now());
 * ```
 */
export async function confirmWipe(
  ctx: Pick<ServerContext, 'adapter'>,
  target: WipeTarget,
  at: number,
): Promise<boolean> {
  const t = checkTarget(target);
  return ctx.adapter.transaction(async (tx) => {
    const current = await load(tx, t, true);
    if (current === undefined) throw new NotFoundError('wipe');
    if (current.confirmedAt !== null) return false;
    const { partition, sort } = address(t);
    await tx.put(WIPES_TABLE, { partition, sort, value: record({ ...current, confirmedAt: at }) });
    return true;
  });
}
