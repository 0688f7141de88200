/**
 * Remote wipe on the server (R28, spec/remote-wipe.md §5): an administrator signs a wipe on their
 * own machine (a signed organisation object of kind `wipe`, `spec/organisation.md`); the server
 * verifies it against the tenant's organisation root, stores it as pending and blocks the device
 * in one transaction with the audit record `device.wipe` (`./organisation/objects.ts`). The
 * server holds no key that can sign a wipe. The blocked device can still fetch its command
 * (`GET /v1/wipe`) and confirm it (`POST /v1/wipe/report`), nothing else.
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
  deviceId as toDeviceId,
  uintBE,
  utf8,
} from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import { decodeRecord, encodeRecord, type StorageTx } from '@cloister/storage';
import type { ServerContext } from './context.js';
import { createAuditLog, NotFoundError } from './store/index.js';
import { withWebhookOutbox } from './store/integrations.js';

/**
 * The server table holding one wipe per device: partition `u16 len ‖ tenant ‖ u16 len ‖ user`,
 * sort key `u32 device` (read it with {@link getWipe}).
 *
 * @example
 * ```ts
 * import { concatBytes, uintBE, utf8 } from '@cloister/crypto';
 * const lp = (text: string) => concatBytes(uintBE(utf8(text).length, 2), utf8(text));
 * const row = await ctx.adapter.transaction((tx) => tx.get(WIPES_TABLE, concatBytes(lp(tenant), lp(user)), uintBE(device, 4)));
 * ```
 */
export const WIPES_TABLE = 'srv_wipes';

/**
 * The device a wipe is for.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * import { tenantId, userId } from '@cloister/protocol';
 * const target: WipeTarget = { tenant: tenantId('acme'), user: userId('alice'), device: deviceId(2) };
 * const status = await wipeStatus(ctx, target);
 * ```
 */
export interface WipeTarget {
  /** The device's tenant. */
  readonly tenant: TenantId;
  /** The user who owns the device. */
  readonly user: UserId;
  /** The device's id within its user. */
  readonly device: DeviceId;
}

/**
 * A stored wipe.
 *
 * @example
 * ```ts
 * const wipe: StoredWipe | undefined = await getWipe(ctx, { tenant, user, device });
 * if (wipe?.confirmedAt === null) console.log('still pending');
 * ```
 */
export interface StoredWipe {
  /** base64url of the 16-byte command id (the signed wipe payload's `commandId`). */
  readonly commandId: string;
  /** The signed organisation object (kind `wipe`) handed to the device. */
  readonly command: Uint8Array;
  /** When the administrator issued the wipe (the signed object's `issuedAtMs`), ms since the epoch. */
  readonly issuedAt: number;
  /** When the device's signed report was accepted, or `null` while pending. */
  readonly confirmedAt: number | null;
}

/**
 * What {@link wipeStatus} answers.
 *
 * @example
 * ```ts
 * const status: WipeStatus = await wipeStatus(ctx, { tenant, user, device });
 * status.state; // → 'none' | 'pending' | 'confirmed'
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
 * const command = wipe?.command; // the signed object handed to the device by GET /v1/wipe
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
 * Stores `wipe` as the wipe of a device inside the caller's transaction `tx`, replacing an earlier
 * one (a newer signed wipe for the same device starts pending again). Used by
 * `publishOrganisationObject`, which verifies the signed object, blocks the device and audits
 * `device.wipe` in the same transaction; nothing on the server signs a wipe.
 *
 * @example
 * ```ts
 * const target = { tenant, user, device };
 * const commandId = Buffer.from(await provider.randomBytes(16)).toString('base64url'); // from the signed payload
 * await ctx.adapter.transaction((tx) => recordWipe(tx, target, { commandId, command: bytes, issuedAt: Date.now(), confirmedAt: null }));
 * ```
 */
export async function recordWipe(tx: StorageTx, target: WipeTarget, wipe: StoredWipe): Promise<void> {
  const t = checkTarget(target);
  const { partition, sort } = address(t);
  await tx.put(WIPES_TABLE, { partition, sort, value: record(wipe) });
}

/**
 * Where the wipe of a device stands.
 *
 * @example
 * ```ts
 * const status = await wipeStatus(ctx, { tenant, user, device });
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
 * const first = await confirmWipe(ctx, { tenant, user, device }, ctx.now()); // → true
 * const again = await confirmWipe(ctx, { tenant, user, device }, ctx.now()); // → false: already confirmed
 * ```
 */
export async function confirmWipe(
  ctx: Pick<ServerContext, 'adapter' | 'provider'>,
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
    // Audited in the same transaction (and announced to webhook subscribers of `device.wipe.confirmed`).
    const audit = withWebhookOutbox(
      (fn) => fn(tx),
      (run) => createAuditLog(run, ctx.provider),
    );
    await audit.append(t.tenant, {
      actor: t.user,
      action: 'device.wipe.confirmed',
      target: `${t.user}/${t.device}`,
      outcome: 'success',
      at,
    });
    return true;
  });
}
