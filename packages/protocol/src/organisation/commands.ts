/**
 * The payloads of `wipe` and `broadcast` objects (`spec/organisation.md` §6.2, §6.3). The tenant
 * and the time of a command are the envelope's (`tenant`, `issuedAtMs`).
 *
 * ```
 * wipe
 * u8   len(user) ‖ user             (an identifier)
 * u32  deviceId
 * 16   commandId                    (random; the device's signed report repeats it)
 *
 * broadcast
 * 16   broadcastId                  (random)
 * u8   audience                     (1 the whole tenant, 2 pools, 3 users)
 * u8   count ‖ count × (u8 len ‖ id)  (0 for the tenant; 1..64 ids, strictly ascending, otherwise)
 * u16  len(text) ‖ text             (UTF-8, 1..4096 bytes)
 * ```
 *
 * @module
 */
import {
  concatBytes,
  DecodeError,
  type DeviceId,
  deviceId,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type PoolId, poolId, type UserId, userId } from '../ids.js';
import { asDecode, checkFixed, checkUint, idBytes, type Reader } from './_codec.js';

/**
 * Bytes of a wipe command id and of a broadcast id.
 *
 * @example
 * ```ts
 * const commandId = provider.randomBytes(ORGANISATION_ID_LENGTH); // 16 random bytes
 * ```
 */
export const ORGANISATION_ID_LENGTH = 16;

/**
 * Longest broadcast text in UTF-8 bytes.
 *
 * @example
 * ```ts
 * const text = 'Maintenance tonight 22:00';
 * console.log(new TextEncoder().encode(text).length <= MAX_BROADCAST_TEXT_BYTES); // true
 * ```
 */
export const MAX_BROADCAST_TEXT_BYTES = 4096;

/**
 * Most pools or users a broadcast names.
 *
 * @example
 * ```ts
 * console.log(MAX_BROADCAST_AUDIENCE); // 64
 * ```
 */
export const MAX_BROADCAST_AUDIENCE = 64;

/**
 * The payload of a `wipe` object: wipe this device of this user.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const payload: WipePayload = { user, deviceId: deviceId(2), commandId: provider.randomBytes(16) };
 * ```
 */
export interface WipePayload {
  /** The user whose device is wiped. */
  readonly user: UserId;
  /** The device to wipe. */
  readonly deviceId: DeviceId;
  /** A random id ({@link ORGANISATION_ID_LENGTH} bytes) that the device's signed report repeats. */
  readonly commandId: Uint8Array;
}

/**
 * Who a broadcast is for: the whole tenant, or 1 .. 64 pools or users in strictly ascending order.
 *
 * @example
 * ```ts
 * const audience: BroadcastAudience = { kind: 'pools', pools: [poolId('icu'), poolId('ward-3')] };
 * ```
 */
export type BroadcastAudience =
  | { readonly kind: 'tenant' }
  | { readonly kind: 'pools'; readonly pools: readonly PoolId[] }
  | { readonly kind: 'users'; readonly users: readonly UserId[] };

/**
 * The payload of a `broadcast` object.
 *
 * @example
 * ```ts
 * const payload: BroadcastPayload = {
 *   broadcastId: provider.randomBytes(16), audience: { kind: 'tenant' }, text: 'Maintenance tonight 22:00',
 * };
 * ```
 */
export interface BroadcastPayload {
  /** A random id ({@link ORGANISATION_ID_LENGTH} bytes). */
  readonly broadcastId: Uint8Array;
  /** Who the broadcast is for. */
  readonly audience: BroadcastAudience;
  /** The message, 1 .. {@link MAX_BROADCAST_TEXT_BYTES} UTF-8 bytes. */
  readonly text: string;
}

/** Encodes a wipe payload. */
export function encodeWipe(p: WipePayload): Uint8Array {
  if (typeof p !== 'object' || p === null) throw new ValidationError('payload', 'an object');
  const user = idBytes(p.user, 'payload.user');
  checkUint(p.deviceId, 'payload.deviceId', 0, 0xffff_ffff);
  const commandId = checkFixed(p.commandId, 'payload.commandId', ORGANISATION_ID_LENGTH);
  return concatBytes(Uint8Array.of(user.length), user, uintBE(p.deviceId, 4), commandId);
}

/** Decodes a wipe payload. */
export function decodeWipe(r: Reader): WipePayload {
  return {
    user: r.id('payload.user', userId),
    deviceId: deviceId(r.uint(4, 'payload.deviceId')),
    commandId: r.take(ORGANISATION_ID_LENGTH, 'payload.commandId'),
  };
}

function ascending(ids: readonly string[], field: string): void {
  for (let i = 1; i < ids.length; i++) {
    if ((ids[i - 1] as string) >= (ids[i] as string))
      throw new ValidationError(field, 'ids strictly ascending');
  }
}

function audienceIds(a: BroadcastAudience): readonly string[] {
  return a.kind === 'tenant' ? [] : a.kind === 'pools' ? a.pools : a.users;
}

function checkBroadcast(p: BroadcastPayload): Uint8Array {
  if (typeof p !== 'object' || p === null) throw new ValidationError('payload', 'an object');
  checkFixed(p.broadcastId, 'payload.broadcastId', ORGANISATION_ID_LENGTH);
  const kind = p.audience?.kind;
  if (kind !== 'tenant' && kind !== 'pools' && kind !== 'users') {
    throw new ValidationError('payload.audience.kind', 'tenant, pools or users');
  }
  const ids = audienceIds(p.audience);
  if (!Array.isArray(ids)) throw new ValidationError('payload.audience', 'a list of ids');
  if (kind !== 'tenant' && (ids.length < 1 || ids.length > MAX_BROADCAST_AUDIENCE)) {
    throw new ValidationError('payload.audience', `1..${MAX_BROADCAST_AUDIENCE} ids`);
  }
  ids.forEach((id, i) => {
    idBytes(id, `payload.audience[${i}]`);
  });
  ascending(ids, 'payload.audience');
  if (typeof p.text !== 'string') throw new ValidationError('payload.text', 'a string');
  const text = utf8(p.text);
  const wellFormed = new TextDecoder('utf-8', { ignoreBOM: true }).decode(text) === p.text;
  if (!wellFormed || text.length < 1 || text.length > MAX_BROADCAST_TEXT_BYTES) {
    throw new ValidationError(
      'payload.text',
      `well-formed text of 1..${MAX_BROADCAST_TEXT_BYTES} UTF-8 bytes`,
    );
  }
  return text;
}

/** Encodes a broadcast payload. */
export function encodeBroadcast(p: BroadcastPayload): Uint8Array {
  const text = checkBroadcast(p);
  const ids = audienceIds(p.audience).map((id) => utf8(id));
  return concatBytes(
    p.broadcastId,
    Uint8Array.of(['tenant', 'pools', 'users'].indexOf(p.audience.kind) + 1, ids.length),
    ...ids.flatMap((b) => [Uint8Array.of(b.length), b]),
    uintBE(text.length, 2),
    text,
  );
}

/** Decodes a broadcast payload. */
export function decodeBroadcast(r: Reader): BroadcastPayload {
  const broadcastId = r.take(ORGANISATION_ID_LENGTH, 'payload.broadcastId');
  const code = r.uint(1, 'payload.audience.kind');
  if (code < 1 || code > 3) throw new DecodeError('payload.audience.kind', '1 tenant, 2 pools or 3 users');
  const count = r.uint(1, 'payload.audience.count');
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(r.id<string>(`payload.audience[${i}]`, code === 2 ? poolId : userId));
  const text = r.text(r.uint(2, 'payload.text.length'), 'payload.text');
  const audience: BroadcastAudience =
    code === 1
      ? { kind: 'tenant' }
      : code === 2
        ? { kind: 'pools', pools: ids as PoolId[] }
        : { kind: 'users', users: ids as UserId[] };
  if (code === 1 && count !== 0) throw new DecodeError('payload.audience', 'no ids for the whole tenant');
  const payload = { broadcastId, audience, text };
  asDecode(() => checkBroadcast(payload));
  return payload;
}
