/**
 * Enrolment tokens and device registration (R24, R36, R39; `spec/server-enrolment.md`).
 *
 * A token is 32 random bytes shown once as base64url; the server keeps only
 * `SHA-256("cloister/server/v1/enrol-token" ‖ token)` as the key of a row in `srv_enrol_tokens`
 * that expires with the token. Uses are counted under a row lock in the same transaction that
 * registers the device, so concurrent redemptions never exceed the token's uses. A device
 * proves possession of its identity signing key with
 * `Ed25519(IK_sig, "cloister/server/v1/enrol-proof" ‖ SHA-256(token) ‖ IK_sig_pub ‖ IK_dh_pub)`.
 *
 * Brute-force protection counts first and decides in the same transaction. Redemption attempts
 * are counted per client address (IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 per /64:
 * `addressKey`) and per bucket of the token hash, in `srv_enrol_failures` rows that expire at the
 * end of their fixed window. Each row holds `failures` (refused tokens) and `pending` (attempts
 * being evaluated). Before a token is looked up, one transaction locks (or creates) both rows and
 * refuses with `ERR_RATE_LIMITED` when `failures + pending` of either has reached the limit; else
 * it adds 1 to `pending` of both. So concurrent attempts can never evaluate more tokens than the
 * limit: each holds its place before it is evaluated. The place is then settled: a successful
 * redemption gives it back in its own transaction; a refused token (malformed, unknown, expired
 * or used up: one indistinguishable `ERR_UNAUTHENTICATED`) turns it into a failure; any other
 * outcome gives it back in a following transaction. A settlement that never runs (a crash) leaves
 * the place taken until the window ends. `Retry-After` is the rest of the window when the
 * failures alone reach the limit, else 1 second (places held by attempts in progress).
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  type DeviceId,
  deviceId,
  ForbiddenError,
  InvalidKeyError,
  type PublicIdentity,
  RateLimitedError,
  registrationId,
  StorageError,
  UnauthenticatedError,
  utf8,
  ValidationError,
  verifyPublicIdentity,
} from '@cloister/crypto';
import {
  enrolmentProofMessage,
  type MailboxId,
  type PoolId,
  poolId,
  type TenantId,
  tenantId,
  type UserId,
  userId,
} from '@cloister/protocol';
import {
  decodeRecord,
  encodeRecord,
  type StorageAdapter,
  type StorageTx,
  txExecutor,
} from '@cloister/storage';
import { CREDENTIAL_BYTES, credentialHash } from './auth.js';
import { addressKey } from './connection-limits.js';
import type { ServerContext } from './context.js';
import { newMailboxId } from './delivery-token.js';
import {
  allowlistAllows,
  ConflictError,
  createDeviceStore,
  createPoolStore,
  createServerStores,
  createTenantStore,
  createUserStore,
  NotAllowlistedError,
  NotFoundError,
  type User,
} from './store/index.js';

/** The allowlist refused the enrolment: the transaction is rolled back, then the refusal is audited. */
class AllowlistRefusal extends Error {
  constructor(
    readonly tenant: TenantId,
    readonly user: UserId,
  ) {
    super('allowlist');
  }
}

/**
 * SHA-256 prefix of the stored hash of an enrolment token (then the 32 token bytes); the hash is
 * the token's key in {@link ENROL_TOKENS_TABLE}.
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const hash = await provider.sha256(concatBytes(utf8(ENROL_TOKEN_HASH_LABEL), Buffer.from(enrolmentToken, 'base64url')));
 * ```
 */
export const ENROL_TOKEN_HASH_LABEL = 'cloister/server/v1/enrol-token';
export { ENROL_PROOF_LABEL } from '@cloister/protocol';
/**
 * SHA-256 prefix of the key under which attempts from one client address are counted (then the
 * address's `addressKey`: IPv4, or the /64 of IPv6).
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const addressHash = await provider.sha256(concatBytes(utf8(ENROL_ADDRESS_LABEL), utf8('203.0.113.7')));
 * ```
 */
export const ENROL_ADDRESS_LABEL = 'cloister/server/v1/enrol-address';
/**
 * Bytes of an enrolment token (32); its text form is 43 base64url characters.
 *
 * @example
 * ```ts
 * const { token } = await createEnrolmentToken(ctx, { tenant });
 * Buffer.from(token, 'base64url').length === ENROL_TOKEN_BYTES; // → true
 * ```
 */
export const ENROL_TOKEN_BYTES = 32;
/**
 * Default lifetime of an enrolment token: 7 days, in ms.
 *
 * @example
 * ```ts
 * const { expiresAt } = await createEnrolmentToken(ctx, { tenant }); // no ttlMs
 * // expiresAt → the creating transaction's time + DEFAULT_ENROL_TOKEN_TTL_MS
 * ```
 */
export const DEFAULT_ENROL_TOKEN_TTL_MS = 7 * 86_400_000;
/**
 * Longest lifetime of an enrolment token: 366 days, in ms (the shortest is 1 second).
 *
 * @example
 * ```ts
 * const { token } = await createEnrolmentToken(ctx, { tenant, ttlMs: MAX_ENROL_TOKEN_TTL_MS });
 * ```
 */
export const MAX_ENROL_TOKEN_TTL_MS = 366 * 86_400_000;
/**
 * Default lifetime of a managed enrolment token (one put into an MDM configuration,
 * `spec/managed-config.md` §4): 8 hours, in ms. Managed configuration is not encrypted on iOS,
 * so such a token lives for hours, not days.
 *
 * @example
 * ```ts
 * const { expiresAt } = await createEnrolmentToken(ctx, { tenant, user, managed: true }); // no ttlMs
 * // expiresAt → the creating transaction's time + DEFAULT_MANAGED_TOKEN_TTL_MS
 * ```
 */
export const DEFAULT_MANAGED_TOKEN_TTL_MS = 8 * 3_600_000;
/**
 * Longest lifetime of a managed enrolment token: 72 hours, in ms.
 *
 * @example
 * ```ts
 * await createEnrolmentToken(ctx, { tenant, user, managed: true, ttlMs: MAX_MANAGED_TOKEN_TTL_MS });
 * ```
 */
export const MAX_MANAGED_TOKEN_TTL_MS = 72 * 3_600_000;
/**
 * Most uses one enrolment token may allow (1,000,000).
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 * const { token } = await createEnrolmentToken(ctx, { tenant, pool: poolId('ward-3'), maxUses: MAX_ENROL_TOKEN_USES });
 * ```
 */
export const MAX_ENROL_TOKEN_USES = 1_000_000;
/**
 * The server table of enrolment tokens (keyed by token hash, expiring with the token).
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const hash = await provider.sha256(concatBytes(utf8(ENROL_TOKEN_HASH_LABEL), Buffer.from(enrolmentToken, 'base64url')));
 * const row = await ctx.adapter.transaction((tx) => tx.get(ENROL_TOKENS_TABLE, hash, new Uint8Array(0)));
 * // row → undefined once the token has expired
 * ```
 */
export const ENROL_TOKENS_TABLE = 'srv_enrol_tokens';
/**
 * The server table of redemption-attempt counters (expiring with their window): one row per
 * token-hash bucket (`t` ‖ bucket bytes) and per client address (`a` ‖ SHA-256 of
 * {@link ENROL_ADDRESS_LABEL} ‖ address key).
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const key = concatBytes(utf8('a'), await provider.sha256(concatBytes(utf8(ENROL_ADDRESS_LABEL), utf8('203.0.113.7'))));
 * const counter = await ctx.adapter.transaction((tx) => tx.get(ENROL_FAILURES_TABLE, key, new Uint8Array(0)));
 * ```
 */
export const ENROL_FAILURES_TABLE = 'srv_enrol_failures';
/**
 * The server table of each user's next device id (device ids are never reused), keyed by
 * `tenant ‖ 0x00 ‖ user` in UTF-8.
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const key = concatBytes(utf8(tenant), new Uint8Array([0]), utf8(user));
 * const row = await ctx.adapter.transaction((tx) => tx.get(DEVICE_SEQ_TABLE, key, new Uint8Array(0)));
 * ```
 */
export const DEVICE_SEQ_TABLE = 'srv_device_seq';

const NO_SORT = new Uint8Array(0);
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Brute-force protection of enrolment tokens ({@link enrolDevice}'s `limits`; checked by
 * {@link resolveEnrolmentLimits}).
 *
 * @example
 * ```ts
 * const limits: EnrolmentLimits = { maxFailures: 5, windowMs: 30 * 60_000, tokenBucketBytes: 2 };
 * const enrolment = await enrolDevice(ctx, enrolmentInput, { clientAddress: request.ip, limits });
 * ```
 */
export interface EnrolmentLimits {
  /**
   * Failed redemptions per client address (IPv6: per /64), and per token-hash bucket, per window
   * (default 10). Attempts being evaluated count too, so at most this many tokens are evaluated
   * at once from one address or bucket.
   */
  readonly maxFailures: number;
  /** The window, in ms (default 15 minutes). */
  readonly windowMs: number;
  /**
   * Bytes of the token hash that name its bucket (default 2: 65,536 buckets). More bytes make a
   * lock-out of honest tokens by a distributed guesser harder; fewer bound guessing more tightly.
   */
  readonly tokenBucketBytes: number;
}

/**
 * The default {@link EnrolmentLimits}: 10 failures per 15 minutes, 2-byte buckets.
 *
 * @example
 * ```ts
 * import { DEFAULT_ENROLMENT_LIMITS } from '@cloister/server';
 * const limits = { ...DEFAULT_ENROLMENT_LIMITS, maxFailures: 5 }; // 5 failures per 15 minutes
 * ```
 */
export const DEFAULT_ENROLMENT_LIMITS: EnrolmentLimits = Object.freeze({
  maxFailures: 10,
  windowMs: 15 * 60_000,
  tokenBucketBytes: 2,
});

/**
 * The part of the server context the enrolment functions use: the storage adapter and the crypto
 * provider.
 *
 * @example
 * ```ts
 * const enrolment: EnrolmentContext = server.context; // or { adapter, provider } of a tool
 * const { token } = await createEnrolmentToken(enrolment, { tenant });
 * ```
 */
export type EnrolmentContext = Pick<ServerContext, 'adapter' | 'provider'>;

/**
 * What {@link createEnrolmentToken} needs.
 *
 * @example
 * ```ts
 * import { poolId, userId } from '@cloister/protocol';
 * const forAlice: EnrolmentTokenInput = { tenant, user: userId('alice'), ttlMs: 86_400_000 };
 * const forWard: EnrolmentTokenInput = { tenant, pool: poolId('ward-3'), maxUses: 50 };
 * const { token } = await createEnrolmentToken(ctx, forWard);
 * ```
 */
export interface EnrolmentTokenInput {
  /** The tenant the token enrols devices into (must exist). */
  readonly tenant: TenantId;
  /** Binds the token to this user: it enrols devices of this user only (created on first use). */
  readonly user?: UserId;
  /** Users enrolled with this token are in this pool (new users are put in it). */
  readonly pool?: PoolId;
  /** How many devices the token may enrol (default 1). */
  readonly maxUses?: number;
  /** Lifetime in ms (default 7 days; 1 second to 366 days). */
  readonly ttlMs?: number;
  /**
   * For a token not bound to a user: whether it may also add devices to users that already
   * exist (default `false`: it only creates new users). Anyone holding such a token can add a
   * device to any user of the tenant (in its pool): issue it only where that is intended, such as
   * an MDM roll-out to a directory that was imported beforehand.
   */
  readonly existingUsers?: boolean;
  /**
   * A managed token, for an MDM configuration (`spec/managed-config.md` §4): single-use
   * (`maxUses` must be 1 or absent), `ttlMs` default {@link DEFAULT_MANAGED_TOKEN_TTL_MS} and at
   * most {@link MAX_MANAGED_TOKEN_TTL_MS}; the device it enrols is recorded with `enrolledVia:
   * 'managed'` and its enrolment is audited `enrolment.managed`.
   */
  readonly managed?: boolean;
}

/**
 * What a device sends to enrol (decoded).
 *
 * @example
 * ```ts
 * import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
 * import { userId } from '@cloister/protocol';
 * const identity = await generateDeviceIdentity(provider);
 * const publicIdentity = toPublicIdentity(identity);
 * const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, enrolmentToken, publicIdentity);
 * const input: EnrolmentInput = { token: enrolmentToken, user: { id: userId('alice') }, identity: publicIdentity, registrationId: 4711, proof };
 * const enrolment = await enrolDevice(ctx, input);
 * ```
 */
export interface EnrolmentInput {
  /** The enrolment token as shown (base64url). */
  readonly token: string;
  /** The user to enrol as; required when the token names no user, else optional and must match. */
  readonly user?: { readonly id: UserId; readonly displayName?: string };
  /** The device's public identity keys; the DH key's signature must verify. */
  readonly identity: PublicIdentity;
  /** The device's registration id, an unsigned 32-bit integer. */
  readonly registrationId: number;
  /** Ed25519 signature by the identity signing key over {@link enrolmentProofBytes}. */
  readonly proof: Uint8Array;
}

/**
 * Options of {@link enrolDevice}.
 *
 * @example
 * ```ts
 * const options: EnrolDeviceOptions = { clientAddress: request.ip, limits: { maxFailures: 5 } };
 * const enrolment = await enrolDevice(ctx, enrolmentInput, options);
 * ```
 */
export interface EnrolDeviceOptions {
  /**
   * The client's network address, for brute-force counting: IPv4 as is, IPv4-mapped IPv6 as its
   * IPv4, other IPv6 per /64 (absent: not counted by address).
   */
  readonly clientAddress?: string;
  /** Brute-force limits over {@link DEFAULT_ENROLMENT_LIMITS} (`ValidationError` naming a bad field). */
  readonly limits?: Partial<EnrolmentLimits>;
}

/**
 * A registered device; `credential` is shown once and stored only as its hash.
 *
 * @example
 * ```ts
 * const enrolment: Enrolment = await enrolDevice(ctx, enrolmentInput, { clientAddress: request.ip });
 * const authorization = authorizationHeader(enrolment.credential); // the device keeps it secret
 * ```
 */
export interface Enrolment {
  /** The tenant the device was enrolled into (the token's). */
  readonly tenant: TenantId;
  /** The user the device belongs to (created by this enrolment when new). */
  readonly user: UserId;
  /** The device's id within its user (never reused). */
  readonly deviceId: DeviceId;
  /** The device's new mailbox. */
  readonly mailbox: MailboxId;
  /** The device credential (32 bytes), returned once; the server keeps only its hash. */
  readonly credential: Uint8Array;
  /** The tenant's public Ed25519 signing key, which verifies its sender certificates. */
  readonly tenantSigningKey: Uint8Array;
}

interface TokenRecord {
  readonly tenant: TenantId;
  readonly user: UserId | null;
  readonly pool: PoolId | null;
  readonly maxUses: number;
  readonly uses: number;
  readonly existingUsers: boolean;
  readonly createdAt: number;
  /** A managed token (`EnrolmentTokenInput.managed`). */
  readonly managed: boolean;
}

/** Thrown inside the enrol transaction for an unknown, expired or used-up token. */
class TokenRefused extends UnauthenticatedError {}

function checkLimits(given: Partial<EnrolmentLimits> | undefined): EnrolmentLimits {
  const l = { ...DEFAULT_ENROLMENT_LIMITS, ...given };
  const int = (v: number, field: string, min: number, max: number) => {
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new ValidationError(field, `an integer in [${min}, ${max}]`);
  };
  int(l.maxFailures, 'limits.maxFailures', 1, 1_000_000);
  int(l.windowMs, 'limits.windowMs', 1000, 86_400_000);
  int(l.tokenBucketBytes, 'limits.tokenBucketBytes', 1, 32);
  return l;
}

/**
 * Checks enrolment limits and fills in the defaults (`ValidationError` naming the field).
 *
 * @example
 * ```ts
 * const limits = resolveEnrolmentLimits({ maxFailures: 5 }); // 5 per 15 minutes
 * ```
 */
export function resolveEnrolmentLimits(given?: Partial<EnrolmentLimits>): EnrolmentLimits {
  return checkLimits(given);
}

/** The token's bytes, or `undefined` when it is not a canonical 43-character base64url string. */
function tokenBytes(token: unknown): Uint8Array | undefined {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return undefined;
  const bytes = new Uint8Array(Buffer.from(token, 'base64url'));
  if (bytes.length !== ENROL_TOKEN_BYTES || Buffer.from(bytes).toString('base64url') !== token)
    return undefined;
  return bytes;
}

function tokenHash(provider: CryptoProvider, bytes: Uint8Array): Promise<Uint8Array> {
  return provider.sha256(concatBytes(utf8(ENROL_TOKEN_HASH_LABEL), bytes));
}

function encodeToken(t: TokenRecord): Uint8Array {
  return encodeRecord(1, {
    tenant: t.tenant,
    user: t.user,
    pool: t.pool,
    maxUses: t.maxUses,
    uses: t.uses,
    existingUsers: t.existingUsers,
    createdAt: t.createdAt,
    // Written only when set: tokens created before the field existed read as not managed.
    ...(t.managed ? { managed: true } : {}),
  });
}

function decodeToken(bytes: Uint8Array): TokenRecord {
  const { v, d } = decodeRecord(bytes, ENROL_TOKENS_TABLE);
  const r = d as Record<string, unknown> | null;
  const bad = () => new DecodeError(ENROL_TOKENS_TABLE, 'malformed token record');
  if (v !== 1 || typeof r !== 'object' || r === null) throw bad();
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!count(r.maxUses) || !count(r.uses) || !count(r.createdAt) || typeof r.existingUsers !== 'boolean') {
    throw bad();
  }
  if (r.managed !== undefined && r.managed !== true) throw bad();
  try {
    return {
      tenant: tenantId(r.tenant),
      user: r.user === null ? null : userId(r.user),
      pool: r.pool === null ? null : poolId(r.pool),
      maxUses: r.maxUses as number,
      uses: r.uses as number,
      existingUsers: r.existingUsers,
      createdAt: r.createdAt as number,
      managed: r.managed === true,
    };
  } catch {
    throw bad();
  }
}

/**
 * Creates an enrolment token for a tenant (optionally bound to a user and a pool). The token is
 * returned once; the server keeps only its hash. `NotFoundError('tenant' | 'pool')`,
 * `ValidationError` for bad options.
 *
 * @example
 * ```ts
 * import { poolId, tenantId } from '@cloister/protocol';
 * const { token, expiresAt } = await createEnrolmentToken(server.context, {
 *   tenant: tenantId('acme'),
 *   pool: poolId('ward-3'),
 *   maxUses: 50,
 *   ttlMs: 3 * 86_400_000,
 * });
 * // put `token` into the MDM app configuration; devices enrol with no user action
 * ```
 */
export async function createEnrolmentToken(
  ctx: EnrolmentContext,
  input: EnrolmentTokenInput,
): Promise<{ token: string; expiresAt: number }> {
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
  const tenant = tenantId(input.tenant);
  const user = input.user === undefined ? null : userId(input.user);
  const pool = input.pool === undefined ? null : poolId(input.pool);
  const managed = input.managed ?? false;
  if (typeof managed !== 'boolean') throw new ValidationError('managed', 'a boolean');
  const maxUses = input.maxUses ?? 1;
  const usesCap = managed ? 1 : MAX_ENROL_TOKEN_USES;
  if (!Number.isSafeInteger(maxUses) || maxUses < 1 || maxUses > usesCap) {
    throw new ValidationError('maxUses', `an integer in [1, ${usesCap}]`);
  }
  const ttlMs = input.ttlMs ?? (managed ? DEFAULT_MANAGED_TOKEN_TTL_MS : DEFAULT_ENROL_TOKEN_TTL_MS);
  const ttlCap = managed ? MAX_MANAGED_TOKEN_TTL_MS : MAX_ENROL_TOKEN_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > ttlCap) {
    throw new ValidationError('ttlMs', `an integer in [1000, ${ttlCap}]`);
  }
  const existingUsers = input.existingUsers ?? false;
  if (typeof existingUsers !== 'boolean') throw new ValidationError('existingUsers', 'a boolean');
  const bytes = await ctx.provider.randomBytes(ENROL_TOKEN_BYTES);
  try {
    const hash = await tokenHash(ctx.provider, bytes);
    const expiresAt = await ctx.adapter.transaction(async (tx) => {
      const run = txExecutor(tx);
      if ((await createTenantStore(run).get(tenant)) === undefined) throw new NotFoundError('tenant');
      if (pool !== null && (await createPoolStore(run).get(tenant, pool)) === undefined) {
        throw new NotFoundError('pool');
      }
      const at = tx.now + ttlMs;
      const record: TokenRecord = {
        tenant,
        user,
        pool,
        maxUses,
        uses: 0,
        existingUsers,
        createdAt: tx.now,
        managed,
      };
      const written = await tx.put(
        ENROL_TOKENS_TABLE,
        { partition: hash, sort: NO_SORT, value: encodeToken(record), expiresAt: at },
        { ifAbsent: true },
      );
      // 256 random bits do not collide; a clash means a broken random source.
      if (!written) throw new ConflictError('enrolment-token', 'the token is taken');
      return at;
    });
    return { token: Buffer.from(bytes).toString('base64url'), expiresAt };
  } finally {
    bytes.fill(0);
  }
}

/**
 * The bytes an enrolment proof signs:
 * `"cloister/server/v1/enrol-proof" ‖ SHA-256(token bytes) ‖ identity signing key ‖ identity DH key`.
 * `ValidationError` when the token is not a 43-character base64url string.
 *
 * @example
 * ```ts
 * import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
 * const identity = await generateDeviceIdentity(provider);
 * const message = await enrolmentProofBytes(provider, enrolmentToken, toPublicIdentity(identity));
 * const proof = await provider.ed25519.sign(identity.signingKeyPair.privateKey, message);
 * ```
 */
export async function enrolmentProofBytes(
  provider: CryptoProvider,
  token: string,
  identity: Pick<PublicIdentity, 'signingKey' | 'dhKey'>,
): Promise<Uint8Array> {
  const bytes = tokenBytes(token);
  if (bytes === undefined) throw new ValidationError('token', 'a 43-character base64url token');
  try {
    return await enrolmentProofMessage(provider, bytes, identity);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Signs an enrolment proof with the device's identity signing private key (client side).
 *
 * @example
 * ```ts
 * import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
 * const identity = await generateDeviceIdentity(provider);
 * const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, enrolmentToken, toPublicIdentity(identity));
 * ```
 */
export async function signEnrolmentProof(
  provider: CryptoProvider,
  signingPrivateKey: Uint8Array,
  token: string,
  identity: Pick<PublicIdentity, 'signingKey' | 'dhKey'>,
): Promise<Uint8Array> {
  return provider.ed25519.sign(signingPrivateKey, await enrolmentProofBytes(provider, token, identity));
}

function failureKeys(ctx: EnrolmentContext, hash: Uint8Array, limits: EnrolmentLimits, address?: string) {
  const keys: Promise<Uint8Array>[] = [
    Promise.resolve(concatBytes(utf8('t'), hash.subarray(0, limits.tokenBucketBytes))),
  ];
  if (address !== undefined) {
    // One counter per IPv4 address and per IPv6 /64 (anything else, as given).
    const key = addressKey(address) ?? address;
    keys.push(
      ctx.provider
        .sha256(concatBytes(utf8(ENROL_ADDRESS_LABEL), utf8(key)))
        .then((h) => concatBytes(utf8('a'), h)),
    );
  }
  return Promise.all(keys);
}

/** One counter row of {@link ENROL_FAILURES_TABLE}. */
interface Counter {
  /** Refused tokens in this window. */
  readonly failures: number;
  /** Attempts counted and not yet settled. */
  readonly pending: number;
}

function decodeCounter(bytes: Uint8Array): Counter {
  const { v, d } = decodeRecord(bytes, ENROL_FAILURES_TABLE);
  const r = d as { n?: unknown; p?: unknown } | null;
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  // Rows written before `p` existed hold failures only.
  const pending = r?.p ?? 0;
  if (v !== 1 || !count(r?.n) || !count(pending)) {
    throw new DecodeError(ENROL_FAILURES_TABLE, 'malformed counter');
  }
  return { failures: r?.n as number, pending: pending as number };
}

function encodeCounter(c: Counter): Uint8Array {
  return encodeRecord(1, { n: c.failures, p: c.pending });
}

/** The places one attempt holds: each counter key with the expiry of the window it counted in. */
type Reservation = readonly { readonly key: Uint8Array; readonly expiresAt: number | null }[];

/**
 * Counts the attempt first and decides in the same transaction: locks (or creates) every counter
 * row, refuses with `RateLimitedError` when one has reached the limit (nothing is written), else
 * adds 1 to `pending` of each. Keys are always locked in the same order (bucket, then address).
 */
async function reserve(
  ctx: EnrolmentContext,
  keys: Uint8Array[],
  limits: EnrolmentLimits,
): Promise<Reservation> {
  return ctx.adapter.transaction(async (tx) => {
    const rows: { key: Uint8Array; expiresAt: number | null; counter: Counter; created: boolean }[] = [];
    for (const key of keys) {
      let row = await tx.get(ENROL_FAILURES_TABLE, key, NO_SORT, { forUpdate: true });
      if (row === undefined) {
        const expiresAt = tx.now + limits.windowMs;
        const first = { partition: key, sort: NO_SORT, value: encodeCounter({ failures: 0, pending: 1 }) };
        if (await tx.put(ENROL_FAILURES_TABLE, { ...first, expiresAt }, { ifAbsent: true })) {
          rows.push({ key, expiresAt, counter: { failures: 0, pending: 0 }, created: true });
          continue;
        }
        // A concurrent attempt created it first (it committed; this read waits for and sees it).
        row = await tx.get(ENROL_FAILURES_TABLE, key, NO_SORT, { forUpdate: true });
        if (row === undefined) throw new StorageError('an enrolment counter vanished');
      }
      rows.push({ key, expiresAt: row.expiresAt, counter: decodeCounter(row.value), created: false });
    }
    let wait = 0;
    for (const { counter, expiresAt } of rows) {
      if (counter.failures + counter.pending < limits.maxFailures) continue;
      const left =
        counter.failures >= limits.maxFailures
          ? Math.ceil(((expiresAt ?? tx.now + limits.windowMs) - tx.now) / 1000)
          : 1;
      wait = Math.max(wait, left, 1);
    }
    // Thrown inside: the transaction rolls back, rows it created included.
    if (wait > 0) throw new RateLimitedError(wait);
    for (const { key, expiresAt, counter, created } of rows) {
      if (created) continue;
      await tx.put(ENROL_FAILURES_TABLE, {
        partition: key,
        sort: NO_SORT,
        value: encodeCounter({ ...counter, pending: counter.pending + 1 }),
        expiresAt,
      });
    }
    return rows.map(({ key, expiresAt }) => ({ key, expiresAt }));
  });
}

/**
 * Settles a reservation in `tx`: takes the attempt out of `pending` and, for a refused token,
 * adds it to `failures`. A counter whose window has ended (absent, or a new window) is left alone.
 */
async function settle(tx: StorageTx, reservation: Reservation, failed: boolean): Promise<void> {
  for (const { key, expiresAt } of reservation) {
    const row = await tx.get(ENROL_FAILURES_TABLE, key, NO_SORT, { forUpdate: true });
    if (row === undefined || row.expiresAt !== expiresAt) continue;
    const c = decodeCounter(row.value);
    await tx.put(ENROL_FAILURES_TABLE, {
      partition: key,
      sort: NO_SORT,
      value: encodeCounter({
        failures: c.failures + (failed ? 1 : 0),
        pending: Math.max(0, c.pending - 1),
      }),
      expiresAt: row.expiresAt,
    });
  }
}

/**
 * Settles a reservation in a transaction of its own. Best effort: when it fails, the place stays
 * taken until the window ends (counted, never lost), and the caller's answer stands.
 */
async function settleApart(ctx: EnrolmentContext, reservation: Reservation, failed: boolean): Promise<void> {
  try {
    await ctx.adapter.transaction((tx) => settle(tx, reservation, failed));
  } catch {
    // Fail closed: see above.
  }
}

/** The server's adapter bound to an open transaction (stores created over it write in `tx`). */
function txAdapter(ctx: EnrolmentContext, tx: StorageTx): StorageAdapter {
  return {
    kind: ctx.adapter.kind,
    now: () => tx.now,
    transaction: (fn) => fn(tx),
    purgeExpired: () => Promise.reject(new StorageError('inside an enrolment transaction')),
    close: () => Promise.reject(new StorageError('inside an enrolment transaction')),
  };
}

function checkInput(input: EnrolmentInput): {
  user: { id: UserId; displayName: string | undefined } | undefined;
  registration: number;
} {
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
  let user: { id: UserId; displayName: string | undefined } | undefined;
  if (input.user !== undefined) {
    if (typeof input.user !== 'object' || input.user === null) throw new ValidationError('user', 'an object');
    const id = (() => {
      try {
        return userId(input.user.id);
      } catch {
        throw new ValidationError(
          'user.id',
          'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +',
        );
      }
    })();
    user = { id, displayName: input.user.displayName };
  }
  if (!(input.proof instanceof Uint8Array) || input.proof.length !== 64) {
    throw new ValidationError('proof', 'a Uint8Array of 64 bytes');
  }
  return { user, registration: registrationId(input.registrationId, 'registrationId') };
}

async function nextDeviceId(tx: StorageTx, tenant: TenantId, user: UserId): Promise<DeviceId> {
  const k = concatBytes(utf8(tenant), new Uint8Array([0]), utf8(user));
  let row = await tx.get(DEVICE_SEQ_TABLE, k, NO_SORT, { forUpdate: true });
  if (row === undefined) {
    // Claim the counter row (and its lock); a concurrent first enrolment of the same user waits
    // here, then reads what this one committed.
    const claim = { partition: k, sort: NO_SORT, value: encodeRecord(1, { next: 1 }) };
    if (!(await tx.put(DEVICE_SEQ_TABLE, claim, { ifAbsent: true }))) {
      row = await tx.get(DEVICE_SEQ_TABLE, k, NO_SORT, { forUpdate: true });
    }
  }
  let next = 1;
  if (row !== undefined) {
    const { v, d } = decodeRecord(row.value, DEVICE_SEQ_TABLE);
    const n = (d as { next?: unknown } | null)?.next;
    if (v !== 1 || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 0xffff_ffff) {
      throw new DecodeError(DEVICE_SEQ_TABLE, 'malformed sequence');
    }
    next = n;
  }
  for (const d of await createDeviceStore(txExecutor(tx)).list(tenant, user)) {
    if (d.id >= next) next = d.id + 1;
  }
  if (next > 0xffff_ffff) throw new ConflictError('device.count', 'device ids are used up');
  await tx.put(DEVICE_SEQ_TABLE, { partition: k, sort: NO_SORT, value: encodeRecord(1, { next: next + 1 }) });
  return deviceId(next);
}

/**
 * Registers a device with an enrolment token, after checking the identity (its DH key signature),
 * the proof of possession and the brute-force limits. The attempt is counted before the token is
 * looked up (`RateLimitedError` when the limit is reached, and the token is not evaluated). In
 * one transaction: consumes one use of the token, creates the user when needed
 * (`ForbiddenError` for a blocked user or one the token does not cover; `NotAllowlistedError`, audited
 * `enrolment.refused` with reason `allowlist`, for a user the tenant's allowlist does not admit), adds the device with the
 * next device id, a new mailbox and a fresh credential (stored as its hash), and gives the
 * attempt's count back. An unknown, expired or used-up token is one `UnauthenticatedError` and
 * its count stays as a failure; any other refusal gives the count back. Nothing else is written
 * when it throws.
 *
 * @example
 * ```ts
 * import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
 * import { userId } from '@cloister/protocol';
 * const identity = await generateDeviceIdentity(provider); // on the device
 * const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, enrolmentToken, toPublicIdentity(identity));
 * const enrolment = await enrolDevice(ctx, {
 *   token: enrolmentToken,
 *   user: { id: userId('alice'), displayName: 'Alice' },
 *   identity: toPublicIdentity(identity),
 *   registrationId: 4711,
 *   proof,
 * }, { clientAddress: request.ip });
 * ```
 */
export async function enrolDevice(
  ctx: EnrolmentContext,
  input: EnrolmentInput,
  options: EnrolDeviceOptions = {},
): Promise<Enrolment> {
  const limits = checkLimits(options.limits);
  const { user: asked, registration } = checkInput(input);
  if (asked?.displayName !== undefined && typeof asked.displayName !== 'string') {
    throw new ValidationError('user.displayName', 'a string');
  }
  const bytes = tokenBytes(input.token);
  const hash = await tokenHash(ctx.provider, bytes ?? new Uint8Array(0));
  bytes?.fill(0);
  if (bytes !== undefined) {
    // Both depend only on what the caller sent (a guesser signs its own guesses), so they tell
    // nothing about the token: checked before anything is counted or written.
    await verifyPublicIdentity(ctx.provider, input.identity, 'device.identity');
    const signed = await enrolmentProofBytes(ctx.provider, input.token, input.identity);
    if (!(await ctx.provider.ed25519.verify(input.identity.signingKey, signed, input.proof))) {
      throw new InvalidKeyError('device.proof', 'signature does not verify');
    }
  }
  const keys = await failureKeys(ctx, hash, limits, options.clientAddress);
  // Count first: from here on, the attempt holds a place under the limit until it is settled.
  const reservation = await reserve(ctx, keys, limits);
  if (bytes === undefined) {
    await settleApart(ctx, reservation, true);
    throw new UnauthenticatedError('enrolment refused');
  }

  let settled = false;
  let refused = false;
  let credential: Uint8Array | undefined;
  try {
    credential = await ctx.provider.randomBytes(CREDENTIAL_BYTES);
    const credHash = await credentialHash(ctx, credential);
    const mailbox = await newMailboxId(ctx.provider);
    const done = await ctx.adapter.transaction(async (tx) => {
      const run = txExecutor(tx);
      const row = await tx.get(ENROL_TOKENS_TABLE, hash, NO_SORT, { forUpdate: true });
      if (row === undefined) throw new TokenRefused();
      const token = decodeToken(row.value);
      if (token.uses >= token.maxUses) throw new TokenRefused();
      const tenant = await createTenantStore(run).get(token.tenant);
      if (tenant === undefined) throw new TokenRefused();

      if (token.user !== null && asked !== undefined && asked.id !== token.user) {
        throw new ForbiddenError('the token is for another user');
      }
      const uid = token.user ?? asked?.id;
      if (uid === undefined) throw new ValidationError('user.id', 'a user id (the token names no user)');
      const users = createUserStore(run);
      const admit = (existing: User, created: boolean) => {
        if (existing.blocked) throw new ForbiddenError('this user is blocked');
        if (token.user === null && !token.existingUsers && !created) {
          throw new ConflictError('user', 'the token only creates new users');
        }
        if (token.pool !== null && !existing.pools.includes(token.pool)) {
          throw new ForbiddenError('the user is not in the pool of the token');
        }
      };
      const existing = await users.get(token.tenant, uid);
      if (existing !== undefined) {
        admit(existing, false);
      } else {
        try {
          admit(
            await users.create(token.tenant, uid, {
              displayName: asked?.displayName ?? uid,
              ...(token.pool === null ? {} : { pools: [token.pool] }),
            }),
            true,
          );
        } catch (error) {
          // A concurrent enrolment created the user first (it committed; this read sees it).
          if (!(error instanceof ConflictError && error.constraint === 'user')) throw error;
          const raced = await users.get(token.tenant, uid);
          if (raced === undefined) throw error;
          admit(raced, false);
        }
      }
      // The tenant's allowlist (spec/allowlist.md), checked at redemption: an invite made before
      // the list tightened is refused now, and nothing of this transaction is written.
      const enrolling = await users.get(token.tenant, uid);
      if (enrolling === undefined || !(await allowlistAllows(tx, token.tenant, enrolling))) {
        throw new AllowlistRefusal(token.tenant, uid);
      }
      const id = await nextDeviceId(tx, token.tenant, uid);
      await createDeviceStore(run).add(token.tenant, uid, id, {
        identity: input.identity,
        registrationId: registrationId(registration),
        mailbox,
        credentialHash: credHash,
        enrolledVia: token.managed ? 'managed' : 'token',
      });
      if (token.managed) {
        // In this transaction: the device and its audit record commit together.
        await createServerStores(txAdapter(ctx, tx), { provider: ctx.provider }).audit.append(token.tenant, {
          actor: 'enrolment',
          action: 'enrolment.managed',
          target: uid,
          outcome: 'success',
          details: { device: id },
        });
      }
      if (token.uses + 1 >= token.maxUses) {
        await tx.delete(ENROL_TOKENS_TABLE, hash, NO_SORT);
      } else {
        await tx.put(ENROL_TOKENS_TABLE, {
          partition: hash,
          sort: NO_SORT,
          value: encodeToken({ ...token, uses: token.uses + 1 }),
          expiresAt: row.expiresAt,
        });
      }
      // A valid enrolment gives its place back, so it never locks out its address or bucket.
      await settle(tx, reservation, false);
      return { tenant: token.tenant, user: uid, deviceId: id, tenantSigningKey: tenant.signingKey };
    });
    settled = true;
    return { ...done, mailbox, credential: credential.slice() };
  } catch (error) {
    if (error instanceof TokenRefused) {
      refused = true;
      throw new UnauthenticatedError('enrolment refused');
    }
    if (error instanceof AllowlistRefusal) {
      await createServerStores(ctx.adapter, { provider: ctx.provider }).audit.append(error.tenant, {
        actor: 'enrolment',
        action: 'enrolment.refused',
        target: error.user,
        outcome: 'failure',
        details: { reason: 'allowlist' },
      });
      throw new NotAllowlistedError();
    }
    throw error;
  } finally {
    credential?.fill(0);
    // A refused token keeps its place as a failure; any other refusal gives it back.
    if (!settled) await settleApart(ctx, reservation, refused);
  }
}
