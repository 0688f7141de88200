/**
 * The payloads of `pool-rules` and `device-admission` objects (`spec/organisation.md` §6.4,
 * §6.5). The tenant is the envelope's.
 *
 * ```
 * pool-rules (the whole rule set of the tenant; a pool not listed may reach only its own members)
 * u16  count                        (0..1024 rules, pools strictly ascending)
 * count × rule:
 *   u8  len(pool) ‖ pool
 *   u16 n ‖ n × (u8 len ‖ pool)     mayContact: 0..1024 pools, strictly ascending, not the pool itself
 *
 * device-admission (zero-touch roll-out: the organisation admits a device to a user's list)
 * u8   len(user) ‖ user
 * u32  deviceId
 * 32   signingKey                   (the device's Ed25519 identity signing key)
 * 32   dhKey                        (its X25519 identity key)
 * 64   dhKeySignature               (Ed25519 by signingKey over dhKey, as in v2-sessions.md §2)
 * ```
 *
 * @module
 */
import {
  concatBytes,
  type DeviceId,
  deviceId,
  type PublicIdentity,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type PoolId, poolId, type UserId, userId } from '../ids.js';
import { asDecode, checkFixed, checkUint, idBytes, type Reader } from './_codec.js';

/**
 * Most rules in a pool-rules object, and most pools one rule lets reach.
 *
 * @example
 * ```ts
 * console.log(MAX_POOL_RULES); // 1024
 * ```
 */
export const MAX_POOL_RULES = 1024;

/**
 * One pool's rule: its members may reach the members of `mayContact` (one-way).
 *
 * @example
 * ```ts
 * const rule: PoolRule = { pool: poolId('ward-3'), mayContact: [poolId('pharmacy')] };
 * ```
 */
export interface PoolRule {
  /** The pool whose members the rule lets reach further. */
  readonly pool: PoolId;
  /** The pools they may reach: strictly ascending, not `pool` itself, at most {@link MAX_POOL_RULES}. */
  readonly mayContact: readonly PoolId[];
}

/**
 * The payload of a `pool-rules` object: the tenant's whole rule set.
 *
 * @example
 * ```ts
 * const payload: PoolRulesPayload = {
 *   rules: [
 *     { pool: poolId('pharmacy'), mayContact: [poolId('ward-3')] },
 *     { pool: poolId('ward-3'), mayContact: [poolId('pharmacy')] },
 *   ],
 * };
 * ```
 */
export interface PoolRulesPayload {
  /** The rules, pools strictly ascending, at most {@link MAX_POOL_RULES}; a pool not listed reaches only itself. */
  readonly rules: readonly PoolRule[];
}

/**
 * The payload of a `device-admission` object.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const payload: DeviceAdmissionPayload = { user, deviceId: deviceId(3), identity: peerIdentity };
 * ```
 */
export interface DeviceAdmissionPayload {
  /** The user whose device list the device joins. */
  readonly user: UserId;
  /** The admitted device's id. */
  readonly deviceId: DeviceId;
  /** The admitted device's public identity keys. */
  readonly identity: PublicIdentity;
}

function checkPoolRules(p: PoolRulesPayload): void {
  if (typeof p !== 'object' || p === null || !Array.isArray(p.rules)) {
    throw new ValidationError('payload.rules', 'a list of rules');
  }
  if (p.rules.length > MAX_POOL_RULES)
    throw new ValidationError('payload.rules', `at most ${MAX_POOL_RULES} rules`);
  p.rules.forEach((rule, i) => {
    const f = `payload.rules[${i}]`;
    idBytes(rule?.pool, `${f}.pool`);
    const before = p.rules[i - 1];
    if (before !== undefined && before.pool >= rule.pool)
      throw new ValidationError(`${f}.pool`, 'pools strictly ascending');
    if (!Array.isArray(rule.mayContact) || rule.mayContact.length > MAX_POOL_RULES) {
      throw new ValidationError(`${f}.mayContact`, `at most ${MAX_POOL_RULES} pools`);
    }
    rule.mayContact.forEach((c: PoolId, j: number) => {
      idBytes(c, `${f}.mayContact[${j}]`);
      if (c === rule.pool)
        throw new ValidationError(`${f}.mayContact[${j}]`, 'another pool than the rule’s own');
      const prev = rule.mayContact[j - 1];
      if (prev !== undefined && prev >= c)
        throw new ValidationError(`${f}.mayContact[${j}]`, 'pools strictly ascending');
    });
  });
}

const lp = (id: string) => {
  const b = utf8(id);
  return concatBytes(Uint8Array.of(b.length), b);
};

/** Encodes a pool-rules payload. */
export function encodePoolRules(p: PoolRulesPayload): Uint8Array {
  checkPoolRules(p);
  return concatBytes(
    uintBE(p.rules.length, 2),
    ...p.rules.flatMap((r) => [lp(r.pool), uintBE(r.mayContact.length, 2), ...r.mayContact.map(lp)]),
  );
}

/** Decodes a pool-rules payload. */
export function decodePoolRules(r: Reader): PoolRulesPayload {
  const count = r.uint(2, 'payload.rules.count');
  const rules: PoolRule[] = [];
  for (let i = 0; i < count && i <= MAX_POOL_RULES; i++) {
    const pool = r.id(`payload.rules[${i}].pool`, poolId);
    const n = r.uint(2, `payload.rules[${i}].mayContact.count`);
    const mayContact: PoolId[] = [];
    for (let j = 0; j < n && j <= MAX_POOL_RULES; j++)
      mayContact.push(r.id(`payload.rules[${i}].mayContact[${j}]`, poolId));
    rules.push({ pool, mayContact });
  }
  const payload = { rules };
  asDecode(() => checkPoolRules(payload));
  return payload;
}

/** Encodes a device-admission payload. */
export function encodeDeviceAdmission(p: DeviceAdmissionPayload): Uint8Array {
  if (typeof p !== 'object' || p === null) throw new ValidationError('payload', 'an object');
  const user = idBytes(p.user, 'payload.user');
  checkUint(p.deviceId, 'payload.deviceId', 0, 0xffff_ffff);
  return concatBytes(
    Uint8Array.of(user.length),
    user,
    uintBE(p.deviceId, 4),
    checkFixed(p.identity?.signingKey, 'payload.identity.signingKey', 32),
    checkFixed(p.identity?.dhKey, 'payload.identity.dhKey', 32),
    checkFixed(p.identity?.dhKeySignature, 'payload.identity.dhKeySignature', 64),
  );
}

/** Decodes a device-admission payload. */
export function decodeDeviceAdmission(r: Reader): DeviceAdmissionPayload {
  return {
    user: r.id('payload.user', userId),
    deviceId: deviceId(r.uint(4, 'payload.deviceId')),
    identity: {
      signingKey: r.take(32, 'payload.identity.signingKey'),
      dhKey: r.take(32, 'payload.identity.dhKey'),
      dhKeySignature: r.take(64, 'payload.identity.dhKeySignature'),
    },
  };
}
