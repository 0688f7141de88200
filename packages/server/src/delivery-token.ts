/**
 * Delivery tokens: a sealed envelope names its recipient mailbox and carries a token for it, so
 * the server can accept it without learning the sender. Whoever may message a device receives the
 * device's token with its key bundle (where pools, blocks and tenancy are checked); the token is
 * HMAC-SHA256 under a key every instance derives from the organisation's storage key, so any
 * instance can verify it and none stores it.
 *
 *   token = HMAC-SHA256(K, "cloister/server/v1/delivery-token" ‖ u16be(len(mailbox)) ‖ mailbox)
 *   K     = HKDF-SHA256(ikm = organisation key, salt = none, info = "cloister/server/v1/delivery-token-key", 32)
 *
 * A token does not expire by itself; rotating the organisation key (or the mailbox, on
 * re-enrolment) revokes all of them.
 *
 * @module
 */
import { type CryptoProvider, concatBytes, equalBytes, uintBE, utf8 } from '@cloister/crypto';
import type { MailboxId } from '@cloister/protocol';

/** HKDF info of the delivery-token key. */
export const DELIVERY_TOKEN_KEY_LABEL = 'cloister/server/v1/delivery-token-key';
/** HMAC input prefix of a delivery token. */
export const DELIVERY_TOKEN_LABEL = 'cloister/server/v1/delivery-token';
/** Bytes of a delivery token. */
export const DELIVERY_TOKEN_BYTES = 32;

/** Issues and checks delivery tokens. */
export interface DeliveryTokens {
  /** The token for `mailbox`. */
  issue(mailbox: MailboxId): Promise<Uint8Array>;
  /** Whether `token` is the token for `mailbox` (constant-time). */
  verify(mailbox: MailboxId, token: Uint8Array): Promise<boolean>;
}

/**
 * Delivery tokens keyed by the organisation key.
 *
 * @example
 * ```ts
 * const tokens = await createDeliveryTokens(provider, organisationKey);
 * const token = await tokens.issue(mailbox);
 * await tokens.verify(mailbox, token); // true
 * ```
 */
export async function createDeliveryTokens(
  provider: CryptoProvider,
  organisationKey: Uint8Array,
): Promise<DeliveryTokens> {
  const key = await provider.hkdfSha256(
    organisationKey,
    new Uint8Array(0),
    utf8(DELIVERY_TOKEN_KEY_LABEL),
    32,
  );
  const mac = (mailbox: MailboxId) => {
    const m = utf8(mailbox);
    return provider.hmacSha256(key, concatBytes(utf8(DELIVERY_TOKEN_LABEL), uintBE(m.length, 2), m));
  };
  return {
    issue: mac,
    async verify(mailbox, token) {
      if (!(token instanceof Uint8Array) || token.length !== DELIVERY_TOKEN_BYTES) return false;
      return equalBytes(await mac(mailbox), token);
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
