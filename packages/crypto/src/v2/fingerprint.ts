/**
 * Safety numbers: a fingerprint of two identities that both users compare, read aloud (60
 * digits) or scanned (bytes in a QR code). It is the same on both devices (order-independent)
 * and changes when either identity changes.
 *
 * ```
 * half(party)   = H_5200 where
 *   H_1       = SHA-512("cloister/v2/fingerprint" | u16 0 (version) | signingKey | dhKey
 *                       | u16 len(stableId) | stableId)
 *   H_(i+1)   = SHA-512(H_i | signingKey | dhKey)
 * digits(half)  = for j in 0..5: (u40 big-endian of H[5j..5j+5)) mod 100000, as 5 digits
 * safetyNumber  = the two 30-digit strings in ascending order, concatenated (60 digits)
 * bytes         = u8 0 (version) | the two H[0..32) in ascending byte order (65 bytes)
 * ```
 *
 * @module
 */
import { checkBytes, checkInt, concatBytes, uintBE, utf8 } from '../bytes.js';
import { ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { checkObject, checkPublicIdentity } from './_validate.js';
import { V2_FINGERPRINT_ITERATIONS, V2_LABELS } from './constants.js';
import type { PublicIdentity } from './types.js';

const LABEL = utf8(V2_LABELS.fingerprint);
const FINGERPRINT_VERSION = 0;
const MAX_STABLE_ID = 1024;

/**
 * One side of a safety number.
 *
 * @example
 * ```ts
 * const theirs: FingerprintParty = { identity: bundle.identity, stableId: utf8('bob') };
 * ```
 */
export interface FingerprintParty {
  /** The party's public device identity (its signing and DH keys enter the number). */
  readonly identity: PublicIdentity;
  /**
   * The user's stable identifier as bytes (for example the UTF-8 of the user id), so that the
   * number also proves whose key it is. May be empty; at most 1024 bytes.
   */
  readonly stableId: Uint8Array;
}

/**
 * A safety number in both renderings.
 *
 * @example
 * ```ts
 * const n: SafetyNumber = await computeSafetyNumber(provider,
 *   { identity: toPublicIdentity(identity), stableId: utf8('alice') },
 *   { identity: pinned, stableId: utf8('bob') });
 * const scannedMatches = (scanned: Uint8Array) => equalBytes(n.bytes, scanned);
 * ```
 */
export interface SafetyNumber {
  /** 60 decimal digits; display in 12 groups of 5. */
  readonly digits: string;
  /** 65 bytes for a QR code: version byte then both 32-byte halves in ascending order. */
  readonly bytes: Uint8Array;
}

async function half(p: CryptoProvider, party: FingerprintParty): Promise<Uint8Array> {
  const { signingKey, dhKey } = party.identity;
  const id = party.stableId;
  const first = new Uint8Array(LABEL.length + 2 + 64 + 2 + id.length);
  const v = new DataView(first.buffer);
  first.set(LABEL, 0);
  v.setUint16(LABEL.length, FINGERPRINT_VERSION);
  first.set(signingKey, LABEL.length + 2);
  first.set(dhKey, LABEL.length + 34);
  v.setUint16(LABEL.length + 66, id.length);
  first.set(id, LABEL.length + 68);
  let h = await p.sha512(first);
  const buf = new Uint8Array(64 + 64);
  buf.set(signingKey, 64);
  buf.set(dhKey, 96);
  for (let i = 1; i < V2_FINGERPRINT_ITERATIONS; i++) {
    buf.set(h, 0);
    h = await p.sha512(buf);
  }
  return h;
}

function digits(h: Uint8Array): string {
  let out = '';
  for (let j = 0; j < 6; j++) {
    let n = 0;
    for (let k = 0; k < 5; k++) n = n * 256 + h[5 * j + k]!;
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function checkParty(value: unknown, field: string): FingerprintParty {
  const o = checkObject(value, field);
  checkPublicIdentity(o.identity, `${field}.identity`);
  const id = checkBytes(o.stableId, `${field}.stableId`);
  if (id.length > MAX_STABLE_ID)
    throw new ValidationError(`${field}.stableId`, `at most ${MAX_STABLE_ID} bytes`);
  return value as FingerprintParty;
}

/**
 * Computes the safety number of two parties. `computeSafetyNumber(p, a, b)` and
 * `computeSafetyNumber(p, b, a)` give the same result. Compare scanned bytes with `equalBytes`.
 *
 * @example
 * ```ts
 * const n = await computeSafetyNumber(provider,
 *   { identity: toPublicIdentity(identity), stableId: utf8('alice') },
 *   { identity: pinned, stableId: utf8('bob') });
 * console.log(n.digits.match(/.{5}/g)?.join(' '));
 * ```
 */
export async function computeSafetyNumber(
  provider: CryptoProvider,
  local: FingerprintParty,
  remote: FingerprintParty,
): Promise<SafetyNumber> {
  checkParty(local, 'local');
  checkParty(remote, 'remote');
  const [a, b] = await Promise.all([half(provider, local), half(provider, remote)]);
  const [first, second] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  const da = digits(a);
  const db = digits(b);
  const bytes = new Uint8Array(65);
  bytes[0] = FINGERPRINT_VERSION;
  bytes.set(first.subarray(0, 32), 1);
  bytes.set(second.subarray(0, 32), 33);
  return { digits: da <= db ? da + db : db + da, bytes };
}

/** Most devices one side of a device-set safety number may have. */
const MAX_FINGERPRINT_DEVICES = 64;
const DEVICE_SET_VERSION = 1;

/**
 * One side of a device-set safety number: every admitted device of a user.
 *
 * @example
 * ```ts
 * const theirs: DeviceSetParty = {
 *   devices: [{ deviceId: 1, identity: pinned }, { deviceId: 2, identity: bundle.identity }],
 *   stableId: utf8('bob'),
 * };
 * ```
 */
export interface DeviceSetParty {
  /** The devices, each with its id; order does not matter (they are sorted by id). */
  readonly devices: readonly { readonly deviceId: number; readonly identity: PublicIdentity }[];
  /** As {@link FingerprintParty.stableId}. */
  readonly stableId: Uint8Array;
}

async function deviceSetHalf(p: CryptoProvider, party: DeviceSetParty): Promise<Uint8Array> {
  const devices = [...party.devices].sort((a, b) => a.deviceId - b.deviceId);
  const id = party.stableId;
  const parts: Uint8Array[] = [LABEL, uintBE(DEVICE_SET_VERSION, 2), uintBE(devices.length, 2)];
  for (const d of devices) parts.push(uintBE(d.deviceId, 4), d.identity.signingKey, d.identity.dhKey);
  parts.push(uintBE(id.length, 2), id);
  const digest = await p.sha512(concatBytes(...parts));
  let h = digest;
  const buf = new Uint8Array(128);
  buf.set(digest, 64);
  for (let i = 1; i < V2_FINGERPRINT_ITERATIONS; i++) {
    buf.set(h, 0);
    h = await p.sha512(buf);
  }
  return h;
}

function checkDeviceSet(value: unknown, field: string): DeviceSetParty {
  const o = checkObject(value, field);
  if (!Array.isArray(o.devices) || o.devices.length < 1 || o.devices.length > MAX_FINGERPRINT_DEVICES) {
    throw new ValidationError(`${field}.devices`, `1..${MAX_FINGERPRINT_DEVICES} devices`);
  }
  const seen = new Set<number>();
  o.devices.forEach((d: unknown, i: number) => {
    const e = checkObject(d, `${field}.devices[${i}]`);
    const id = checkInt(e.deviceId, `${field}.devices[${i}].deviceId`, 0, 0xffff_ffff);
    if (seen.has(id)) throw new ValidationError(`${field}.devices[${i}].deviceId`, 'distinct device ids');
    seen.add(id);
    checkPublicIdentity(e.identity, `${field}.devices[${i}].identity`);
  });
  const id = checkBytes(o.stableId, `${field}.stableId`);
  if (id.length > MAX_STABLE_ID)
    throw new ValidationError(`${field}.stableId`, `at most ${MAX_STABLE_ID} bytes`);
  return value as DeviceSetParty;
}

/**
 * The safety number of two users over every admitted device of each (version 1 of the format;
 * {@link computeSafetyNumber} is version 0 over one identity each). It changes when either user
 * adds, removes or replaces a device, so a device the other person did not see cannot hide behind
 * a number they compared.
 *
 * ```
 * D(party)     = SHA-512("cloister/v2/fingerprint" | u16 1 (version) | u16 count
 *                        | (u32 deviceId | signingKey | dhKey)* in ascending device id
 *                        | u16 len(stableId) | stableId)
 * half(party)  = H_5200 where H_1 = D, H_(i+1) = SHA-512(H_i | D)
 * digits, safetyNumber: as version 0
 * bytes        = u8 1 (version) | the two H[0..32) in ascending byte order (65 bytes)
 * ```
 *
 * @example
 * ```ts
 * const n = await computeDeviceSetSafetyNumber(provider,
 *   { devices: [{ deviceId: 1, identity: toPublicIdentity(identity) }], stableId: utf8('alice') },
 *   { devices: [{ deviceId: 1, identity: pinned }, { deviceId: 2, identity: bundle.identity }], stableId: utf8('bob') });
 * ```
 */
export async function computeDeviceSetSafetyNumber(
  provider: CryptoProvider,
  local: DeviceSetParty,
  remote: DeviceSetParty,
): Promise<SafetyNumber> {
  checkDeviceSet(local, 'local');
  checkDeviceSet(remote, 'remote');
  const [a, b] = await Promise.all([deviceSetHalf(provider, local), deviceSetHalf(provider, remote)]);
  const [first, second] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  const da = digits(a);
  const db = digits(b);
  const bytes = new Uint8Array(65);
  bytes[0] = DEVICE_SET_VERSION;
  bytes.set(first.subarray(0, 32), 1);
  bytes.set(second.subarray(0, 32), 33);
  return { digits: da <= db ? da + db : db + da, bytes };
}
