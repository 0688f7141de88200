/**
 * Delivery tokens (version 2): a sealed envelope names its recipient mailbox and carries a token
 * for it, so the server can accept it without learning the sender. Whoever may message a device
 * receives the device's token with its directory entry or key bundle (where pools, blocks and
 * tenancy are checked). A token names the sender's **class** (the set of pools it belongs to),
 * never the sender, expires, and is bound to the epochs of everything that decided the sender
 * could reach the recipient (`store/delivery-epochs.ts`): a change of the recipient's pools or
 * blocked flag, of the tenant's pool rules, or of the membership of the sender's class makes every
 * token issued before it fail.
 *
 *   token  = u8(2) ‖ u64be(expiresAtMs) ‖ class (16) ‖ tag (32)                     57 bytes
 *   tag    = HMAC-SHA256(K, "cloister/server/v2/delivery-token"
 *              ‖ lp(tenant) ‖ lp(recipient user) ‖ lp(mailbox) ‖ lp(u8(2) ‖ u64be(expiresAtMs) ‖ class)
 *              ‖ lp(u64be(tenant epoch)) ‖ lp(u64be(user epoch)) ‖ lp(u64be(class epoch)))
 *   lp(x)  = u16be(len(x)) ‖ x        (strings in UTF-8)
 *   K      = HKDF-SHA256(ikm = organisation key, salt = none, info = "cloister/server/v2/delivery-token-key", 32)
 *
 * The epochs are not in the token: the server recomputes the tag with the epochs current at
 * submission, so a stale token and a forged one fail alike. `expiresAtMs` is a multiple of
 * {@link DELIVERY_TOKEN_EXPIRY_STEP_MS}, so that it does not tell the server which directory fetch
 * issued the token. Rotating the organisation key (or the mailbox, on re-enrolment) revokes
 * every token at once.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  equalBytes,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import type { MailboxId, TenantId, UserId } from '@cloister/protocol';
import { type DeliveryEpochs, SENDER_CLASS_BYTES } from './store/delivery-epochs.js';

/**
 * HKDF info of the delivery-token key (`cloister/server/v2/delivery-token-key`): the tag key is
 * HKDF-SHA256 of the organisation key with no salt and this info, 32 bytes.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const key = await provider.hkdfSha256(ctx.organisationKey, new Uint8Array(0), utf8(DELIVERY_TOKEN_KEY_LABEL), 32);
 * ```
 */
export const DELIVERY_TOKEN_KEY_LABEL = 'cloister/server/v2/delivery-token-key';
/**
 * HMAC input prefix of a delivery token's tag (`cloister/server/v2/delivery-token`), before the
 * length-prefixed claims.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const prefix = utf8(DELIVERY_TOKEN_LABEL); // the first bytes the tag's HMAC reads
 * ```
 */
export const DELIVERY_TOKEN_LABEL = 'cloister/server/v2/delivery-token';
/**
 * First byte of a delivery token: the format version, 2.
 *
 * @example
 * ```ts
 * const token = await deliveryTokenFor(ctx, mailbox);
 * token[0] === DELIVERY_TOKEN_VERSION; // → true
 * ```
 */
export const DELIVERY_TOKEN_VERSION = 2;
/**
 * Bytes of a delivery token: version (1), expiry (8), sender class (16), tag (32) — 57.
 *
 * @example
 * ```ts
 * const token = await deliveryTokenFor(ctx, mailbox);
 * token.length === DELIVERY_TOKEN_BYTES; // → true (57)
 * ```
 */
export const DELIVERY_TOKEN_BYTES = 1 + 8 + SENDER_CLASS_BYTES + 32;
/**
 * Default lifetime of a delivery token: 1 hour, in ms.
 *
 * @example
 * ```ts
 * const tokens = await createDeliveryTokens(provider, ctx.organisationKey);
 * tokens.lifetimeMs === DEFAULT_DELIVERY_TOKEN_LIFETIME_MS; // → true (3600000)
 * ```
 */
export const DEFAULT_DELIVERY_TOKEN_LIFETIME_MS = 3_600_000;
/**
 * Shortest configurable lifetime of a delivery token: 20 minutes (two expiry steps), in ms.
 *
 * @example
 * ```ts
 * checkDeliveryTokenLifetime(MIN_DELIVERY_TOKEN_LIFETIME_MS); // → 1200000
 * checkDeliveryTokenLifetime(MIN_DELIVERY_TOKEN_LIFETIME_MS - 1); // throws ValidationError
 * ```
 */
export const MIN_DELIVERY_TOKEN_LIFETIME_MS = 20 * 60_000;
/**
 * Longest configurable lifetime of a delivery token: 24 hours, in ms. A token whose expiry lies
 * further out than this from now is not read as one of this server's.
 *
 * @example
 * ```ts
 * const server = await createServer({ deliveryTokenLifetimeMs: MAX_DELIVERY_TOKEN_LIFETIME_MS });
 * ```
 */
export const MAX_DELIVERY_TOKEN_LIFETIME_MS = 24 * 3_600_000;
/**
 * Expiry times are rounded down to a multiple of this (10 minutes, in ms): every token issued
 * within one step carries the same expiry, so the expiry does not single out the fetch that
 * issued it. A token therefore lasts between `lifetime − step` and `lifetime`.
 *
 * @example
 * ```ts
 * const header = ctx.deliveryTokens.read(await deliveryTokenFor(ctx, mailbox));
 * header !== undefined && header.expiresAt % DELIVERY_TOKEN_EXPIRY_STEP_MS === 0; // → true
 * ```
 */
export const DELIVERY_TOKEN_EXPIRY_STEP_MS = 10 * 60_000;

const HEADER_BYTES = 1 + 8 + SENDER_CLASS_BYTES;

/**
 * What a delivery token is bound to.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 * const senderClass = senderClassOf(tenant, [poolId('ward-3')]);
 * const epochs = await ctx.stores.deliveryEpochs.get(tenant, user, senderClass);
 * const claims: DeliveryTokenClaims = { tenant, user, mailbox, senderClass, epochs };
 * const token = await ctx.deliveryTokens.issue(claims);
 * ```
 */
export interface DeliveryTokenClaims {
  /** The tenant of the recipient. */
  readonly tenant: TenantId;
  /** The recipient user (the owner of `mailbox`). */
  readonly user: UserId;
  /** The recipient device's mailbox the token admits deliveries to. */
  readonly mailbox: MailboxId;
  /** The sender's class (`senderClassOf(tenant, sender.pools)`), 16 bytes. */
  readonly senderClass: Uint8Array;
  /** The epochs current when the access was decided (issue) or now (verify). */
  readonly epochs: DeliveryEpochs;
}

/**
 * The readable part of a delivery token.
 *
 * @example
 * ```ts
 * const header: DeliveryTokenHeader | undefined = ctx.deliveryTokens.read(await deliveryTokenFor(ctx, mailbox));
 * header?.version; // → 2
 * header?.expiresAt; // → ms since the epoch, a multiple of 10 minutes
 * ```
 */
export interface DeliveryTokenHeader {
  /** The format version: always {@link DELIVERY_TOKEN_VERSION} (2). */
  readonly version: typeof DELIVERY_TOKEN_VERSION;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The sender class, 16 bytes. */
  readonly senderClass: Uint8Array;
}

/**
 * Issues and checks delivery tokens under one key ({@link createDeliveryTokens}); a server's are
 * `ctx.deliveryTokens`.
 *
 * @example
 * ```ts
 * const tokens: DeliveryTokens = ctx.deliveryTokens;
 * const senderClass = senderClassOf(tenant, []);
 * const claims = { tenant, user, mailbox, senderClass, epochs: await ctx.stores.deliveryEpochs.get(tenant, user, senderClass) };
 * const token = await tokens.issue(claims);
 * await tokens.verify(claims, token); // → true until it expires or an epoch moves
 * ```
 */
export interface DeliveryTokens {
  /** The configured lifetime, in ms. */
  readonly lifetimeMs: number;
  /**
   * A token for `claims`, expiring `lifetimeMs` from now (rounded down to the expiry step);
   * `ValidationError` unless `claims.senderClass` is 16 bytes.
   *
   * @example
   * ```ts
   * const senderClass = senderClassOf(tenant, []);
   * const epochs = await ctx.stores.deliveryEpochs.get(tenant, user, senderClass);
   * const token = await ctx.deliveryTokens.issue({ tenant, user, mailbox, senderClass, epochs }); // 57 bytes
   * ```
   */
  issue(claims: DeliveryTokenClaims): Promise<Uint8Array>;
  /**
   * The header of `token` when it has the form of a version-2 token and has not expired (no MAC
   * check, no database: the cheap first filter of a submission); `undefined` otherwise.
   *
   * @example
   * ```ts
   * ctx.deliveryTokens.read(new Uint8Array(57)); // → undefined: not a version-2 token
   * ```
   */
  read(token: Uint8Array): DeliveryTokenHeader | undefined;
  /**
   * Whether `token` is a current token for `claims`: form, expiry, class and tag (constant-time).
   *
   * @example
   * ```ts
   * const senderClass = senderClassOf(tenant, []);
   * const claims = { tenant, user, mailbox, senderClass, epochs: await ctx.stores.deliveryEpochs.get(tenant, user, senderClass) };
   * await ctx.deliveryTokens.verify(claims, await ctx.deliveryTokens.issue(claims)); // → true
   * ```
   */
  verify(claims: DeliveryTokenClaims, token: Uint8Array): Promise<boolean>;
}

/**
 * Options of {@link createDeliveryTokens}.
 *
 * @example
 * ```ts
 * const options: DeliveryTokenOptions = { lifetimeMs: 2 * 3_600_000, now: () => Date.now() };
 * const tokens = await createDeliveryTokens(provider, ctx.organisationKey, options);
 * ```
 */
export interface DeliveryTokenOptions {
  /** Token lifetime in ms (default {@link DEFAULT_DELIVERY_TOKEN_LIFETIME_MS}; see {@link checkDeliveryTokenLifetime}). */
  readonly lifetimeMs?: number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Checks a configured token lifetime: an integer number of ms within
 * [{@link MIN_DELIVERY_TOKEN_LIFETIME_MS}, {@link MAX_DELIVERY_TOKEN_LIFETIME_MS}]; `ValidationError` otherwise.
 *
 * @example
 * ```ts
 * checkDeliveryTokenLifetime(2 * 3_600_000); // 7200000
 * ```
 */
export function checkDeliveryTokenLifetime(ms: unknown): number {
  if (
    typeof ms !== 'number' ||
    !Number.isSafeInteger(ms) ||
    ms < MIN_DELIVERY_TOKEN_LIFETIME_MS ||
    ms > MAX_DELIVERY_TOKEN_LIFETIME_MS
  ) {
    throw new ValidationError(
      'deliveryTokenLifetimeMs',
      `an integer in [${MIN_DELIVERY_TOKEN_LIFETIME_MS}, ${MAX_DELIVERY_TOKEN_LIFETIME_MS}]`,
    );
  }
  return ms;
}

const lp = (bytes: Uint8Array): Uint8Array => concatBytes(uintBE(bytes.length, 2), bytes);

function readU64(bytes: Uint8Array, offset: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) v = v * 256 + (bytes[offset + i] as number);
  return v;
}

/**
 * Delivery tokens keyed by the organisation key (instances sharing the key accept each other's
 * tokens). A lifetime outside 20 minutes .. 24 hours is `ValidationError`.
 *
 * @example
 * ```ts
 * const tokens = await createDeliveryTokens(provider, ctx.organisationKey, { lifetimeMs: 3_600_000 });
 * const senderClass = senderClassOf(tenant, []);
 * const epochs = await ctx.stores.deliveryEpochs.get(tenant, user, senderClass);
 * const token = await tokens.issue({ tenant, user, mailbox, senderClass, epochs });
 * await tokens.verify({ tenant, user, mailbox, senderClass, epochs }, token); // → true
 * ```
 */
export async function createDeliveryTokens(
  provider: CryptoProvider,
  organisationKey: Uint8Array,
  options: DeliveryTokenOptions = {},
): Promise<DeliveryTokens> {
  const lifetimeMs =
    options.lifetimeMs === undefined
      ? DEFAULT_DELIVERY_TOKEN_LIFETIME_MS
      : checkDeliveryTokenLifetime(options.lifetimeMs);
  const now = options.now ?? Date.now;
  const key = await provider.hkdfSha256(
    organisationKey,
    new Uint8Array(0),
    utf8(DELIVERY_TOKEN_KEY_LABEL),
    32,
  );
  const tag = (claims: DeliveryTokenClaims, header: Uint8Array) =>
    provider.hmacSha256(
      key,
      concatBytes(
        utf8(DELIVERY_TOKEN_LABEL),
        lp(utf8(claims.tenant)),
        lp(utf8(claims.user)),
        lp(utf8(claims.mailbox)),
        lp(header),
        lp(uintBE(claims.epochs.tenant, 8)),
        lp(uintBE(claims.epochs.user, 8)),
        lp(uintBE(claims.epochs.senderClass, 8)),
      ),
    );
  const read = (token: Uint8Array): DeliveryTokenHeader | undefined => {
    if (!(token instanceof Uint8Array) || token.length !== DELIVERY_TOKEN_BYTES) return undefined;
    if (token[0] !== DELIVERY_TOKEN_VERSION) return undefined;
    const expiresAt = readU64(token, 1);
    const t = now();
    // Expired, or further out than any token this server issues (longest lifetime): not ours.
    if (expiresAt <= t || expiresAt > t + MAX_DELIVERY_TOKEN_LIFETIME_MS) return undefined;
    return {
      version: DELIVERY_TOKEN_VERSION,
      expiresAt,
      senderClass: token.slice(1 + 8, HEADER_BYTES),
    };
  };
  return {
    lifetimeMs,
    async issue(claims) {
      if (!(claims.senderClass instanceof Uint8Array) || claims.senderClass.length !== SENDER_CLASS_BYTES) {
        throw new ValidationError('senderClass', `${SENDER_CLASS_BYTES} bytes`);
      }
      const expiresAt =
        Math.floor((now() + lifetimeMs) / DELIVERY_TOKEN_EXPIRY_STEP_MS) * DELIVERY_TOKEN_EXPIRY_STEP_MS;
      const header = concatBytes(uintBE(DELIVERY_TOKEN_VERSION, 1), uintBE(expiresAt, 8), claims.senderClass);
      return concatBytes(header, await tag(claims, header));
    },
    read,
    async verify(claims, token) {
      const header = read(token);
      if (header === undefined) return false;
      const expected = await tag(claims, token.subarray(0, HEADER_BYTES));
      // Both comparisons always run: the time taken does not say which part differed.
      const sameClass = equalBytes(header.senderClass, claims.senderClass);
      const sameTag = equalBytes(expected, token.subarray(HEADER_BYTES));
      return sameClass && sameTag;
    },
  };
}

/**
 * A new random mailbox id: `mbx_` and 22 base64url characters (128 bits).
 *
 * @example
 * ```ts
 * const mailbox = await newMailboxId(provider);
 * ```
 */
export async function newMailboxId(provider: CryptoProvider): Promise<MailboxId> {
  const bytes = await provider.randomBytes(16);
  return `mbx_${Buffer.from(bytes).toString('base64url')}` as MailboxId;
}
