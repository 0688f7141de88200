/**
 * Signed revocation lists and reach statements (`spec/revocations.md`, issue 13 attack 4, the
 * recipient's half). Both are signed with the tenant's Ed25519 key, the key that signs sender
 * certificates, so a recipient that checks a certificate checks its revocation and its pools with
 * the same key.
 *
 * - A **revocation list** names, for one tenant, the users whose every device is revoked (blocked
 *   or deleted users) and single revoked devices (blocked devices). Recipients refuse content whose
 *   sender certificate names an entry of the newest list they hold. One list per tenant; its
 *   `version` only grows.
 * - A **reach statement** names, for one user, the user's pools and the pools whose members may
 *   reach the user under the tenant's pool rules (`reachedBy`). Recipients refuse content whose
 *   certificate lists no pool of `reachedBy` (or, for a user in the open area, any pool at all).
 *
 * The wire form is the canonical form: the bytes signed are the label followed by the object up to
 * its signature, so there is exactly one encoding of every object. All integers are big-endian.
 *
 * ```
 * revocation list                                 label "cloister/v1/revocations"
 * u8   format = 1
 * u8   len(tenant) ‖ tenant          (an identifier, 1..128 bytes)
 * u64  version                       (1 .. 2^53 - 1; grows with every change of the entries)
 * u64  issuedAtMs                    (0 .. 2^53 - 1)
 * u16  count                         (0 .. 4096)
 * count × entry, strictly ascending by (user bytes, scope, deviceId):
 *   u8 len(user) ‖ user ‖ u8 scope (0 = every device of the user, 1 = one device)
 *   ‖ u32 deviceId (0 when scope is 0) ‖ u64 revokedAtMs
 *   (a user with a scope-0 entry has no scope-1 entry)
 * 64   signature                     (Ed25519, tenant key, over the label and every byte above)
 *
 * reach statement                                 label "cloister/v1/reach"
 * u8   format = 1
 * u8   len(tenant) ‖ tenant
 * u8   len(user)   ‖ user
 * u64  version                       (1 .. 2^53 - 1; grows with every change that may change it)
 * u64  issuedAtMs
 * u8   count ‖ count × (u8 len ‖ pool)   the user's pools, strictly ascending, 0..64
 * u16  count ‖ count × (u8 len ‖ pool)   reachedBy, strictly ascending, 0..4096; it contains every
 *                                        pool of the user, and is empty exactly when the user is in
 *                                        no pool (the open area)
 * 64   signature                     (Ed25519, tenant key, over the label and every byte above)
 * ```
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  type DeviceId,
  deviceId,
  InvalidKeyError,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, tenantId, type UserId, userId } from './ids.js';
import { BinaryReader } from './internal/binary-reader.js';

/**
 * Ed25519 signature input prefix of a revocation list.
 *
 * @example
 * ```ts
 * import { REVOCATION_LIST_LABEL } from '@cloister/protocol';
 * console.log(REVOCATION_LIST_LABEL); // "cloister/v1/revocations"
 * ```
 */
export const REVOCATION_LIST_LABEL = 'cloister/v1/revocations';

/**
 * Ed25519 signature input prefix of a reach statement.
 *
 * @example
 * ```ts
 * import { REACH_STATEMENT_LABEL } from '@cloister/protocol';
 * console.log(REACH_STATEMENT_LABEL); // "cloister/v1/reach"
 * ```
 */
export const REACH_STATEMENT_LABEL = 'cloister/v1/reach';

/**
 * The format byte of revocation lists and reach statements this version reads and writes.
 *
 * @example
 * ```ts
 * console.log(REVOCATIONS_FORMAT); // 1
 * ```
 */
export const REVOCATIONS_FORMAT = 1;

/**
 * Most entries of one revocation list.
 *
 * @example
 * ```ts
 * console.log(MAX_REVOCATION_ENTRIES); // 4096
 * ```
 */
export const MAX_REVOCATION_ENTRIES = 4096;

/**
 * Most pools of `reachedBy` in one reach statement.
 *
 * @example
 * ```ts
 * console.log(MAX_REACHING_POOLS); // 4096
 * ```
 */
export const MAX_REACHING_POOLS = 4096;

/**
 * Most pools of the user in one reach statement (as many as a user may be in).
 *
 * @example
 * ```ts
 * console.log(MAX_REACH_OWN_POOLS); // 64
 * ```
 */
export const MAX_REACH_OWN_POOLS = 64;

const ID_MAX = 128;
const ENTRY_MAX = 1 + ID_MAX + 1 + 4 + 8;
/** Bytes of the largest encoded revocation list. */
const MAX_LIST_BYTES = 1 + 1 + ID_MAX + 8 + 8 + 2 + MAX_REVOCATION_ENTRIES * ENTRY_MAX + 64;
/** Bytes of the largest encoded reach statement. */
const MAX_REACH_BYTES =
  1 +
  2 * (1 + ID_MAX) +
  8 +
  8 +
  1 +
  MAX_REACH_OWN_POOLS * (1 + ID_MAX) +
  2 +
  MAX_REACHING_POOLS * (1 + ID_MAX) +
  64;
const LIST_LABEL = utf8(REVOCATION_LIST_LABEL);
const REACH_LABEL = utf8(REACH_STATEMENT_LABEL);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * One revoked user (every device, `deviceId` omitted) or one revoked device of a user.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const device: RevocationEntry = { userId: userId('alice'), deviceId: deviceId(2), revokedAtMs: Date.now() };
 * const everyDevice: RevocationEntry = { userId: userId('mallory'), revokedAtMs: Date.now() };
 * ```
 */
export interface RevocationEntry {
  /** The revoked user. */
  readonly userId: UserId;
  /** The revoked device, or undefined for every device of the user. */
  readonly deviceId?: DeviceId;
  /** When the server first listed the revocation (ms since the epoch, the server's clock). */
  readonly revokedAtMs: number;
}

/**
 * The fields of a revocation list, before it is signed.
 *
 * @example
 * ```ts
 * const body: RevocationListBody = {
 *   tenant, version: 8, issuedAtMs: Date.now(), entries: [{ userId: userId('mallory'), revokedAtMs: Date.now() }],
 * };
 * ```
 */
export interface RevocationListBody {
  /** The tenant whose revocations the list holds. */
  readonly tenant: TenantId;
  /** Grows with every change of the entries; a reader refuses a version below the one it holds. */
  readonly version: number;
  /** When the server signed the list, ms since the epoch. */
  readonly issuedAtMs: number;
  /** Strictly ascending by (user, every-device first, device id); at most {@link MAX_REVOCATION_ENTRIES}. */
  readonly entries: readonly RevocationEntry[];
}

/**
 * A decoded revocation list: its fields, its signature and its exact bytes.
 *
 * @example
 * ```ts
 * const list: SignedRevocationList = decodeRevocationList(bytes);
 * await verifyRevocationList(provider, list, { tenant, tenantPublicKey });
 * ```
 */
export interface SignedRevocationList extends RevocationListBody {
  /** The tenant key's Ed25519 signature (64 bytes) over the label and the list up to it. */
  readonly signature: Uint8Array;
  /** The list's exact bytes, as served. */
  readonly bytes: Uint8Array;
}

/**
 * The fields of a reach statement, before it is signed.
 *
 * @example
 * ```ts
 * const body: ReachStatementBody = {
 *   tenant, user, version: 3, issuedAtMs: Date.now(),
 *   pools: [poolId('ward-3')], reachedBy: [poolId('pharmacy'), poolId('ward-3')],
 * };
 * ```
 */
export interface ReachStatementBody {
  /** The tenant of the user. */
  readonly tenant: TenantId;
  /** The user the statement is about (the recipient). */
  readonly user: UserId;
  /** Grows with every change that may change the statement; a reader refuses a lower one. */
  readonly version: number;
  /** When the server signed the statement, ms since the epoch. */
  readonly issuedAtMs: number;
  /** The user's pools, strictly ascending; empty for the open area. */
  readonly pools: readonly PoolId[];
  /**
   * The pools whose members may reach the user: the user's own pools and every pool whose
   * `mayContact` list names one of them. Strictly ascending; empty exactly when `pools` is.
   */
  readonly reachedBy: readonly PoolId[];
}

/**
 * A decoded reach statement: its fields, its signature and its exact bytes.
 *
 * @example
 * ```ts
 * const reach: SignedReachStatement = decodeReachStatement(bytes);
 * await verifyReachStatement(provider, reach, { tenant, user, tenantPublicKey });
 * ```
 */
export interface SignedReachStatement extends ReachStatementBody {
  /** The tenant key's Ed25519 signature (64 bytes) over the label and the statement up to it. */
  readonly signature: Uint8Array;
  /** The statement's exact bytes, as served. */
  readonly bytes: Uint8Array;
}

function ident<T>(brand: (v: unknown) => T, value: unknown, field: string): T {
  try {
    return brand(value);
  } catch {
    throw new ValidationError(field, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
  }
}

function checkSafe(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > MAX_SAFE) {
    throw new ValidationError(field, `an integer in [${min}, 2^53 - 1]`);
  }
  return value;
}

/** Compares two entries in list order: user (bytes), every-device before one device, device id. */
function compareEntries(a: RevocationEntry, b: RevocationEntry): number {
  if (a.userId !== b.userId) return a.userId < b.userId ? -1 : 1;
  const da = a.deviceId === undefined ? -1 : a.deviceId;
  const db = b.deviceId === undefined ? -1 : b.deviceId;
  return da - db;
}

function checkListBody(body: RevocationListBody): RevocationListBody {
  if (typeof body !== 'object' || body === null) throw new ValidationError('revocations', 'an object');
  const tenant = ident(tenantId, body.tenant, 'revocations.tenant');
  const version = checkSafe(body.version, 'revocations.version', 1);
  const issuedAtMs = checkSafe(body.issuedAtMs, 'revocations.issuedAtMs', 0);
  if (!Array.isArray(body.entries) || body.entries.length > MAX_REVOCATION_ENTRIES) {
    throw new ValidationError('revocations.entries', `at most ${MAX_REVOCATION_ENTRIES} entries`);
  }
  const entries: RevocationEntry[] = body.entries.map((e, i) => {
    const f = `revocations.entries[${i}]`;
    if (typeof e !== 'object' || e === null) throw new ValidationError(f, 'an object');
    const user = ident(userId, e.userId, `${f}.userId`);
    const device = e.deviceId === undefined ? undefined : deviceId(e.deviceId, `${f}.deviceId`);
    const revokedAtMs = checkSafe(e.revokedAtMs, `${f}.revokedAtMs`, 0);
    return { userId: user, ...(device === undefined ? {} : { deviceId: device }), revokedAtMs };
  });
  entries.forEach((e, i) => {
    const prev = entries[i - 1];
    if (prev === undefined) return;
    if (compareEntries(prev, e) >= 0) {
      throw new ValidationError(`revocations.entries[${i}]`, 'entries strictly ascending by user and device');
    }
    if (prev.userId === e.userId && prev.deviceId === undefined) {
      throw new ValidationError(
        `revocations.entries[${i}]`,
        'no device entry for a user whose every device is revoked',
      );
    }
  });
  return { tenant, version, issuedAtMs, entries };
}

function idBytes(value: string, field: string): Uint8Array {
  const b = utf8(value);
  if (b.length < 1 || b.length > ID_MAX)
    throw new ValidationError(field, `an identifier of 1..${ID_MAX} bytes`);
  return Uint8Array.of(b.length, ...b);
}

function encodeListUnsigned(body: RevocationListBody): Uint8Array {
  const b = checkListBody(body);
  return concatBytes(
    Uint8Array.of(REVOCATIONS_FORMAT),
    idBytes(b.tenant, 'revocations.tenant'),
    uintBE(b.version, 8),
    uintBE(b.issuedAtMs, 8),
    uintBE(b.entries.length, 2),
    ...b.entries.flatMap((e, i) => [
      idBytes(e.userId, `revocations.entries[${i}].userId`),
      Uint8Array.of(e.deviceId === undefined ? 0 : 1),
      uintBE(e.deviceId ?? 0, 4),
      uintBE(e.revokedAtMs, 8),
    ]),
  );
}

function checkPoolList(value: unknown, field: string, max: number): PoolId[] {
  if (!Array.isArray(value) || value.length > max) throw new ValidationError(field, `at most ${max} pools`);
  const out = value.map((p, i) => ident(poolId, p, `${field}[${i}]`));
  out.forEach((p, i) => {
    const prev = out[i - 1];
    if (prev !== undefined && prev >= p)
      throw new ValidationError(`${field}[${i}]`, 'pools strictly ascending');
  });
  return out;
}

function checkReachBody(body: ReachStatementBody): ReachStatementBody {
  if (typeof body !== 'object' || body === null) throw new ValidationError('reach', 'an object');
  const tenant = ident(tenantId, body.tenant, 'reach.tenant');
  const user = ident(userId, body.user, 'reach.user');
  const version = checkSafe(body.version, 'reach.version', 1);
  const issuedAtMs = checkSafe(body.issuedAtMs, 'reach.issuedAtMs', 0);
  const pools = checkPoolList(body.pools, 'reach.pools', MAX_REACH_OWN_POOLS);
  const reachedBy = checkPoolList(body.reachedBy, 'reach.reachedBy', MAX_REACHING_POOLS);
  const missing = pools.find((p) => !reachedBy.includes(p));
  if (missing !== undefined) throw new ValidationError('reach.reachedBy', `the user's own pool ${missing}`);
  if (pools.length === 0 && reachedBy.length > 0) {
    throw new ValidationError('reach.reachedBy', 'empty for a user in the open area');
  }
  return { tenant, user, version, issuedAtMs, pools, reachedBy };
}

function encodeReachUnsigned(body: ReachStatementBody): Uint8Array {
  const b = checkReachBody(body);
  return concatBytes(
    Uint8Array.of(REVOCATIONS_FORMAT),
    idBytes(b.tenant, 'reach.tenant'),
    idBytes(b.user, 'reach.user'),
    uintBE(b.version, 8),
    uintBE(b.issuedAtMs, 8),
    Uint8Array.of(b.pools.length),
    ...b.pools.map((p, i) => idBytes(p, `reach.pools[${i}]`)),
    uintBE(b.reachedBy.length, 2),
    ...b.reachedBy.map((p, i) => idBytes(p, `reach.reachedBy[${i}]`)),
  );
}

/**
 * The bytes a revocation list's signature covers: {@link REVOCATION_LIST_LABEL} and the list up
 * to its signature. `ValidationError` names a field that breaks the format's rules.
 *
 * @example
 * ```ts
 * import { revocationListSignedBytes } from '@cloister/protocol';
 * const list = decodeRevocationList(bytes);
 * const message = revocationListSignedBytes(list); // what list.signature signs
 * ```
 */
export function revocationListSignedBytes(body: RevocationListBody): Uint8Array {
  return concatBytes(LIST_LABEL, encodeListUnsigned(body));
}

/**
 * The bytes a reach statement's signature covers: {@link REACH_STATEMENT_LABEL} and the
 * statement up to its signature.
 *
 * @example
 * ```ts
 * import { reachStatementSignedBytes } from '@cloister/protocol';
 * const reach = decodeReachStatement(bytes);
 * const message = reachStatementSignedBytes(reach); // what reach.signature signs
 * ```
 */
export function reachStatementSignedBytes(body: ReachStatementBody): Uint8Array {
  return concatBytes(REACH_LABEL, encodeReachUnsigned(body));
}

/**
 * Signs a revocation list with the tenant's Ed25519 private key (32-byte seed) and returns its
 * bytes. `ValidationError` for a body that breaks the format.
 *
 * @example
 * ```ts
 * import { signRevocationList } from '@cloister/protocol';
 * const now = Date.now();
 * const body = { tenant, version: 8, issuedAtMs: now, entries: [{ userId: userId('mallory'), revokedAtMs: now }] };
 * const signed = await signRevocationList(provider, body, tenantPrivateKey);
 * ```
 */
export async function signRevocationList(
  provider: CryptoProvider,
  body: RevocationListBody,
  tenantPrivateKey: Uint8Array,
): Promise<Uint8Array> {
  const unsigned = encodeListUnsigned(body);
  const signature = await provider.ed25519.sign(tenantPrivateKey, concatBytes(LIST_LABEL, unsigned));
  return concatBytes(unsigned, signature);
}

/**
 * Signs a reach statement with the tenant's Ed25519 private key and returns its bytes.
 *
 * @example
 * ```ts
 * import { signReachStatement } from '@cloister/protocol';
 * const signed = await signReachStatement(provider, {
 *   tenant, user, version: 3, issuedAtMs: Date.now(),
 *   pools: [poolId('ward-3')], reachedBy: [poolId('pharmacy'), poolId('ward-3')],
 * }, tenantPrivateKey);
 * ```
 */
export async function signReachStatement(
  provider: CryptoProvider,
  body: ReachStatementBody,
  tenantPrivateKey: Uint8Array,
): Promise<Uint8Array> {
  const unsigned = encodeReachUnsigned(body);
  const signature = await provider.ed25519.sign(tenantPrivateKey, concatBytes(REACH_LABEL, unsigned));
  return concatBytes(unsigned, signature);
}

function asDecodeError(e: unknown): never {
  if (e instanceof ValidationError) throw new DecodeError(e.field, e.message.slice(e.field.length + 2));
  throw e;
}

/**
 * Decodes a revocation list and checks its form (not its signature:
 * {@link verifyRevocationList} does that). `DecodeError` with the path of the offending field: an
 * unknown format, a short or long input, a version of 0, more than {@link MAX_REVOCATION_ENTRIES}
 * entries, a scope other than 0 or 1, a scope-0 entry with a device id, entries out of order or
 * repeated, a device entry of a user revoked as a whole, or bytes after the signature.
 *
 * @example
 * ```ts
 * import { decodeRevocationList } from '@cloister/protocol';
 * const list = decodeRevocationList(bytes);
 * console.log(list.version, list.entries.length);
 * ```
 */
export function decodeRevocationList(bytes: Uint8Array): SignedRevocationList {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('revocations', 'bytes');
  if (bytes.length > MAX_LIST_BYTES) throw new DecodeError('revocations', `at most ${MAX_LIST_BYTES} bytes`);
  const r = new BinaryReader(bytes, 'revocation list');
  const format = r.uint(1, 'revocations.format');
  if (format !== REVOCATIONS_FORMAT)
    throw new DecodeError('revocations.format', `format ${REVOCATIONS_FORMAT}`);
  const tenant = r.id('revocations.tenant', tenantId);
  const version = r.uint(8, 'revocations.version');
  const issuedAtMs = r.uint(8, 'revocations.issuedAtMs');
  const count = r.uint(2, 'revocations.count');
  if (count > MAX_REVOCATION_ENTRIES) {
    throw new DecodeError('revocations.count', `at most ${MAX_REVOCATION_ENTRIES} entries`);
  }
  const entries: RevocationEntry[] = [];
  for (let i = 0; i < count; i++) {
    const f = `revocations.entries[${i}]`;
    const user = r.id(`${f}.userId`, userId);
    const scope = r.uint(1, `${f}.scope`);
    const device = r.uint(4, `${f}.deviceId`);
    const revokedAtMs = r.uint(8, `${f}.revokedAtMs`);
    if (scope === 0) {
      if (device !== 0) throw new DecodeError(`${f}.deviceId`, '0 for an entry of every device');
      entries.push({ userId: user, revokedAtMs });
    } else if (scope === 1) {
      entries.push({ userId: user, deviceId: deviceId(device), revokedAtMs });
    } else throw new DecodeError(`${f}.scope`, '0 (every device) or 1 (one device)');
  }
  const signature = r.take(64, 'revocations.signature');
  if (r.offset !== bytes.length) throw new DecodeError('revocations', 'no bytes after the signature');
  const body: RevocationListBody = { tenant, version, issuedAtMs, entries };
  try {
    checkListBody(body);
  } catch (e) {
    asDecodeError(e);
  }
  return { ...body, signature, bytes: bytes.slice() };
}

/**
 * Decodes a reach statement and checks its form (not its signature:
 * {@link verifyReachStatement} does that). `DecodeError` with the path of the offending field.
 *
 * @example
 * ```ts
 * import { decodeReachStatement } from '@cloister/protocol';
 * const reach = decodeReachStatement(bytes);
 * console.log(reach.pools, reach.reachedBy);
 * ```
 */
export function decodeReachStatement(bytes: Uint8Array): SignedReachStatement {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('reach', 'bytes');
  if (bytes.length > MAX_REACH_BYTES) throw new DecodeError('reach', `at most ${MAX_REACH_BYTES} bytes`);
  const r = new BinaryReader(bytes, 'reach statement');
  const format = r.uint(1, 'reach.format');
  if (format !== REVOCATIONS_FORMAT) throw new DecodeError('reach.format', `format ${REVOCATIONS_FORMAT}`);
  const tenant = r.id('reach.tenant', tenantId);
  const user = r.id('reach.user', userId);
  const version = r.uint(8, 'reach.version');
  const issuedAtMs = r.uint(8, 'reach.issuedAtMs');
  const poolCount = r.uint(1, 'reach.pools.count');
  if (poolCount > MAX_REACH_OWN_POOLS)
    throw new DecodeError('reach.pools', `at most ${MAX_REACH_OWN_POOLS} pools`);
  const pools: PoolId[] = [];
  for (let i = 0; i < poolCount; i++) pools.push(r.id(`reach.pools[${i}]`, poolId));
  const reachCount = r.uint(2, 'reach.reachedBy.count');
  if (reachCount > MAX_REACHING_POOLS) {
    throw new DecodeError('reach.reachedBy', `at most ${MAX_REACHING_POOLS} pools`);
  }
  const reachedBy: PoolId[] = [];
  for (let i = 0; i < reachCount; i++) reachedBy.push(r.id(`reach.reachedBy[${i}]`, poolId));
  const signature = r.take(64, 'reach.signature');
  if (r.offset !== bytes.length) throw new DecodeError('reach', 'no bytes after the signature');
  const body: ReachStatementBody = { tenant, user, version, issuedAtMs, pools, reachedBy };
  try {
    checkReachBody(body);
  } catch (e) {
    asDecodeError(e);
  }
  return { ...body, signature, bytes: bytes.slice() };
}

/**
 * Checks a decoded revocation list: it names `tenant` and its signature verifies under the
 * tenant's public key (strict Ed25519). `InvalidKeyError` naming the field that fails. Whether
 * it is newer than the list the caller holds is the caller's check (compare `version`).
 *
 * @example
 * ```ts
 * import { decodeRevocationList, verifyRevocationList } from '@cloister/protocol';
 * const list = decodeRevocationList(bytes);
 * await verifyRevocationList(provider, list, { tenant, tenantPublicKey });
 * ```
 */
export async function verifyRevocationList(
  provider: CryptoProvider,
  list: SignedRevocationList,
  options: { readonly tenant: TenantId | string; readonly tenantPublicKey: Uint8Array },
): Promise<void> {
  if (list.tenant !== options.tenant)
    throw new InvalidKeyError('revocations.tenant', 'not the expected tenant');
  const ok = await provider.ed25519.verify(
    options.tenantPublicKey,
    revocationListSignedBytes(list),
    list.signature,
  );
  if (!ok) throw new InvalidKeyError('revocations.signature', 'signature does not verify');
}

/**
 * Checks a decoded reach statement: it names `tenant` and `user`, and its signature verifies
 * under the tenant's public key. `InvalidKeyError` naming the field that fails.
 *
 * @example
 * ```ts
 * import { decodeReachStatement, verifyReachStatement } from '@cloister/protocol';
 * const reach = decodeReachStatement(bytes);
 * await verifyReachStatement(provider, reach, { tenant, user, tenantPublicKey });
 * ```
 */
export async function verifyReachStatement(
  provider: CryptoProvider,
  reach: SignedReachStatement,
  options: {
    readonly tenant: TenantId | string;
    readonly user: UserId | string;
    readonly tenantPublicKey: Uint8Array;
  },
): Promise<void> {
  if (reach.tenant !== options.tenant) throw new InvalidKeyError('reach.tenant', 'not the expected tenant');
  if (reach.user !== options.user) throw new InvalidKeyError('reach.user', 'not the expected user');
  const ok = await provider.ed25519.verify(
    options.tenantPublicKey,
    reachStatementSignedBytes(reach),
    reach.signature,
  );
  if (!ok) throw new InvalidKeyError('reach.signature', 'signature does not verify');
}

/**
 * Whether a revocation list revokes `device` of `user`: an entry for every device of the user, or
 * one for that device.
 *
 * @example
 * ```ts
 * import { isRevoked } from '@cloister/protocol';
 * const list = decodeRevocationList(bytes); // verified with verifyRevocationList
 * if (isRevoked(list, 'mallory', 2) !== undefined) throw new Error('the sender is revoked');
 * ```
 */
export function isRevoked(
  list: Pick<RevocationListBody, 'entries'>,
  user: string,
  device: number,
): RevocationEntry | undefined {
  return list.entries.find((e) => e.userId === user && (e.deviceId === undefined || e.deviceId === device));
}

/**
 * Whether a sender in `senderPools` (as its certificate lists them) may reach the user of a reach
 * statement: a sender in the open area reaches a user in the open area; otherwise some pool of the
 * sender must be in `reachedBy`. (A user's own other devices are always reached; the caller checks
 * that.)
 *
 * @example
 * ```ts
 * import { reaches } from '@cloister/protocol';
 * reaches({ pools: [], reachedBy: [] }, []); // true: both in the open area
 * ```
 */
export function reaches(
  reach: Pick<ReachStatementBody, 'pools' | 'reachedBy'>,
  senderPools: readonly string[],
): boolean {
  if (senderPools.length === 0 || reach.reachedBy.length === 0) {
    return senderPools.length === 0 && reach.pools.length === 0;
  }
  return senderPools.some((p) => reach.reachedBy.includes(p as PoolId));
}
