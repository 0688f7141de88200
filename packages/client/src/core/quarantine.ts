/**
 * Deliveries held back because their sender's device is not admitted by the pinned device list
 * of the user its certificate names (`device-lists.ts`): a user seen for the first time, a device
 * linked since the list was pinned, a verified user whose identity changed, or a device the user
 * never linked. They are kept as they arrived (the sealed envelope, never decrypted, so no session
 * is started with an unadmitted identity) until the user's lists are fetched; then they are
 * processed in arrival order, kept while the user's new identity is held, or dropped and reported.
 *
 * @module
 */
import { type DeviceId, deviceId as toDeviceId, utf8 } from '@cloister/crypto';
import type { UserId } from '@cloister/protocol';
import { decodeRecord, encodeRecord } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, isBytes, isNumber, isString } from '../local.js';
import type { CoreTx } from './types.js';

/** Most deliveries held per user; more are dropped (and reported). */
export const MAX_QUARANTINED_PER_USER = 256;
const PATH = 'c_quarantine';

/** One held delivery. */
export interface QuarantinedDelivery {
  readonly serverId: string;
  readonly envelope: Uint8Array;
  readonly deviceId: DeviceId;
  readonly signingKey: Uint8Array;
  readonly dhKey: Uint8Array;
  readonly receivedAt: number;
  readonly seq: number;
}

/** Every delivery held for `user`, in arrival order. */
export async function listQuarantined(t: CoreTx, user: UserId): Promise<QuarantinedDelivery[]> {
  const rows = await t.tx.list(CLIENT_LOCAL_TABLES.quarantine, utf8(user), {
    limit: MAX_QUARANTINED_PER_USER + 1,
  });
  const out = rows.map((row) => {
    const d = decodeRecord(row.value, PATH).d as Record<string, unknown>;
    return {
      serverId: field(d, 'serverId', PATH, isString),
      envelope: field(d, 'envelope', PATH, isBytes),
      deviceId: toDeviceId(field(d, 'deviceId', PATH, isNumber)),
      signingKey: field(d, 'signingKey', PATH, isBytes),
      dhKey: field(d, 'dhKey', PATH, isBytes),
      receivedAt: field(d, 'receivedAt', PATH, isNumber),
      seq: field(d, 'seq', PATH, isNumber),
    };
  });
  return out.sort((a, b) => a.receivedAt - b.receivedAt || a.seq - b.seq);
}

/**
 * Holds a delivery for `user`; resolves false (holding nothing) when {@link
 * MAX_QUARANTINED_PER_USER} are held already.
 */
export async function quarantine(
  t: CoreTx,
  user: UserId,
  d: Omit<QuarantinedDelivery, 'seq'>,
  expiresAt: number,
): Promise<boolean> {
  const held = await listQuarantined(t, user);
  if (held.length >= MAX_QUARANTINED_PER_USER) return false;
  const seq = held.reduce((m, h) => Math.max(m, h.seq), 0) + 1;
  await t.tx.put(CLIENT_LOCAL_TABLES.quarantine, {
    partition: utf8(user),
    sort: utf8(d.serverId),
    value: encodeRecord(1, { ...d, deviceId: d.deviceId as number, seq }),
    expiresAt,
  });
  return true;
}

/** Removes one held delivery. */
export async function unquarantine(t: CoreTx, user: UserId, serverId: string): Promise<void> {
  await t.tx.delete(CLIENT_LOCAL_TABLES.quarantine, utf8(user), utf8(serverId));
}
