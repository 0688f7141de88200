/**
 * Suite `static-v1`: the product sheet's construction, byte-exact as `spec/static-v1.md` defines it.
 *
 * ```
 * shared   = X25519(sender.privateKey, recipient.publicKey)                  32 bytes
 * expanded = HKDF-SHA256(ikm = shared, salt, info, 64)                        64 bytes
 * encKey   = expanded[0..32)      AES-256-CBC key
 * macKey   = expanded[32..64)     HMAC-SHA256 key
 * message  = version(1) | iv(16) | AES-256-CBC(encKey, iv, plaintext)(16k) | mac(32)
 * mac      = HMAC-SHA256(macKey, version | iv | ciphertext)
 * ```
 *
 * **WARNING: static-v1 has NO forward secrecy and NO replay protection.** Both parties use
 * long-term static keys, so whoever obtains either private key can decrypt every message ever
 * exchanged between the pair, past and future; and a recorded message decrypts again every time
 * it is delivered. It is never the default: it exists only for compatibility with the product
 * sheet's construction. New sessions use suite `v2`.
 *
 * @module
 */
import { checkBytes, concatBytes, equalBytes, utf8, wipe } from '../bytes.js';
import { CloisterError, DecryptionFailed, UsageError, ValidationError } from '../errors.js';
import type { CryptoProvider, KeyPair } from '../provider.js';

/**
 * The version byte that starts every static-v1 message (`0x01`).
 *
 * @example
 * ```ts
 * const looksLikeStaticV1 = bytes.length >= STATIC_V1_MIN_MESSAGE && bytes[0] === STATIC_V1_VERSION;
 * ```
 */
export const STATIC_V1_VERSION = 0x01;
/**
 * Length of the random AES-CBC IV carried in each message: 16 bytes, after the version byte.
 *
 * @example
 * ```ts
 * const iv = bytes.subarray(1, 1 + STATIC_V1_IV_LENGTH);
 * ```
 */
export const STATIC_V1_IV_LENGTH = 16;
/**
 * Length of the HMAC-SHA256 tag at the end of each message: 32 bytes.
 *
 * @example
 * ```ts
 * const mac = bytes.subarray(bytes.length - STATIC_V1_MAC_LENGTH);
 * ```
 */
export const STATIC_V1_MAC_LENGTH = 32;
/**
 * Fixed bytes every message adds to its plaintext: version (1) + IV (16) + MAC (32). PKCS#7
 * padding adds 1 to 16 more; see {@link staticV1MessageLength}.
 *
 * @example
 * ```ts
 * const worstCase = bytes.length + STATIC_V1_OVERHEAD + 16; // = staticV1MessageLength(n) at most
 * ```
 */
export const STATIC_V1_OVERHEAD = 1 + STATIC_V1_IV_LENGTH + STATIC_V1_MAC_LENGTH;
/**
 * Largest plaintext one static-v1 message may carry: 64 MiB. Larger data goes as an attachment.
 *
 * @example
 * ```ts
 * const fitsInOneMessage = bytes.length <= STATIC_V1_MAX_PLAINTEXT; // else send it as an attachment
 * ```
 */
export const STATIC_V1_MAX_PLAINTEXT = 64 * 1024 * 1024;
/**
 * The versioned ASCII label that starts the HKDF info: `"cloister/static-v1/message-keys"`.
 *
 * @example
 * ```ts
 * const info = concatBytes(utf8(STATIC_V1_INFO_LABEL), alice.publicKey, bob.publicKey); // A -> B, keys bound
 * ```
 */
export const STATIC_V1_INFO_LABEL = 'cloister/static-v1/message-keys';
/**
 * Smallest valid message: version + IV + one ciphertext block + MAC (65 bytes).
 *
 * @example
 * ```ts
 * console.log(STATIC_V1_MIN_MESSAGE === staticV1MessageLength(0)); // true
 * ```
 */
export const STATIC_V1_MIN_MESSAGE = STATIC_V1_OVERHEAD + 16;

const KEY_LENGTH = 32;
const EXPANDED_LENGTH = 64;
/** Bound on caller-chosen salt and info label lengths. */
const MAX_PARAM_BYTES = 1024;

/**
 * The choices the product sheet leaves open. Defaults are {@link STATIC_V1_DEFAULTS}; pass a
 * partial object to change some of them (both sides must use the same values).
 *
 * @example
 * ```ts
 * const params: Partial<StaticV1Params> = { hkdfSalt: utf8('tenant-salt') };
 * const message = await staticV1Encrypt(provider, { sender: alice, recipientPublicKey: bob.publicKey, plaintext: utf8('hi'), params });
 * ```
 */
export interface StaticV1Params {
  /**
   * HKDF salt. Default: empty, which HKDF (RFC 5869) treats as 32 zero bytes. The shared secret
   * is already uniformly distributed over the curve's outputs; domain separation comes from the
   * info.
   */
  readonly hkdfSalt: Uint8Array;
  /** Start of the HKDF info. Default: the ASCII bytes of {@link STATIC_V1_INFO_LABEL}. */
  readonly hkdfInfoLabel: Uint8Array;
  /**
   * When true (the default) the HKDF info is `hkdfInfoLabel | senderPublicKey |
   * recipientPublicKey`: the keys for A->B differ from the keys for B->A and are bound to both
   * identities. When false the info is `hkdfInfoLabel` alone, for interoperating with a legacy
   * peer that uses a fixed info; then both directions share one key pair, so a message can be
   * reflected back to its sender and accepted as coming from the peer. Use only for legacy
   * interop, with the legacy peer's exact info as `hkdfInfoLabel`.
   */
  readonly bindPublicKeys: boolean;
}

/**
 * The default {@link StaticV1Params}: empty salt, info label
 * `"cloister/static-v1/message-keys"`, public keys bound. The arrays here are copies: changing
 * them does not change what the suite uses when `params` is omitted.
 *
 * @example
 * ```ts
 * import { STATIC_V1_DEFAULTS, staticV1Encrypt } from '@cloister/crypto';
 * // Interop with a legacy peer that uses the fixed info "legacy-info":
 * const params = { ...STATIC_V1_DEFAULTS, bindPublicKeys: false, hkdfInfoLabel: utf8('legacy-info') };
 * const message = await staticV1Encrypt(provider, {
 *   sender: alice,
 *   recipientPublicKey: bob.publicKey,
 *   plaintext: utf8('hello'),
 *   params,
 * });
 * ```
 */
export const STATIC_V1_DEFAULTS: StaticV1Params = Object.freeze({
  hkdfSalt: new Uint8Array(0),
  hkdfInfoLabel: utf8(STATIC_V1_INFO_LABEL),
  bindPublicKeys: true,
});

/** Private defaults, unreachable by callers, so nobody can change them by mutating the export. */
const DEFAULT_SALT = new Uint8Array(0);
const DEFAULT_LABEL = utf8(STATIC_V1_INFO_LABEL);

/**
 * The intermediate values of the static-v1 key schedule. Every array is a fresh copy: the
 * caller owns them and **must** `wipe` them when done.
 *
 * @example
 * ```ts
 * const keys: StaticV1Keys = await staticV1DeriveKeys(provider, { own: alice, peerPublicKey: bob.publicKey, role: 'sender' });
 * wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
 * ```
 */
export interface StaticV1Keys {
  /** X25519 shared secret (32 bytes). */
  readonly shared: Uint8Array;
  /** HKDF salt used. */
  readonly salt: Uint8Array;
  /** HKDF info used. */
  readonly info: Uint8Array;
  /** HKDF output (64 bytes). */
  readonly expanded: Uint8Array;
  /** AES-256-CBC key: `expanded[0..32)`. */
  readonly encKey: Uint8Array;
  /** HMAC-SHA256 key: `expanded[32..64)`. */
  readonly macKey: Uint8Array;
}

/**
 * Length in bytes of the static-v1 message that carries `plaintextLength` bytes.
 *
 * @example
 * ```ts
 * staticV1MessageLength(0);  // 65
 * staticV1MessageLength(16); // 81
 * ```
 */
export function staticV1MessageLength(plaintextLength: number): number {
  if (
    typeof plaintextLength !== 'number' ||
    !Number.isSafeInteger(plaintextLength) ||
    plaintextLength < 0 ||
    plaintextLength > STATIC_V1_MAX_PLAINTEXT
  ) {
    throw new ValidationError('plaintextLength', `an integer in [0, ${STATIC_V1_MAX_PLAINTEXT}]`);
  }
  return STATIC_V1_OVERHEAD + (Math.floor(plaintextLength / 16) + 1) * 16;
}

function resolveParams(params: unknown): StaticV1Params {
  if (params === undefined) {
    return { hkdfSalt: DEFAULT_SALT, hkdfInfoLabel: DEFAULT_LABEL, bindPublicKeys: true };
  }
  if (typeof params !== 'object' || params === null) throw new ValidationError('params', 'an object');
  const p = params as Partial<Record<keyof StaticV1Params, unknown>>;
  const hkdfSalt = p.hkdfSalt === undefined ? DEFAULT_SALT : checkBytes(p.hkdfSalt, 'params.hkdfSalt');
  const hkdfInfoLabel =
    p.hkdfInfoLabel === undefined ? DEFAULT_LABEL : checkBytes(p.hkdfInfoLabel, 'params.hkdfInfoLabel');
  if (hkdfSalt.length > MAX_PARAM_BYTES) throw new ValidationError('params.hkdfSalt', 'at most 1024 bytes');
  if (hkdfInfoLabel.length > MAX_PARAM_BYTES) {
    throw new ValidationError('params.hkdfInfoLabel', 'at most 1024 bytes');
  }
  const bindPublicKeys = p.bindPublicKeys ?? true;
  if (typeof bindPublicKeys !== 'boolean') throw new ValidationError('params.bindPublicKeys', 'a boolean');
  return { hkdfSalt, hkdfInfoLabel, bindPublicKeys };
}

function checkKeyPair(value: unknown, field: string): KeyPair {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'a KeyPair');
  const pair = value as Partial<Record<keyof KeyPair, unknown>>;
  return {
    privateKey: checkBytes(pair.privateKey, `${field}.privateKey`, KEY_LENGTH),
    publicKey: checkBytes(pair.publicKey, `${field}.publicKey`, KEY_LENGTH),
  };
}

/** Rejects a key pair whose public key does not belong to its private key (a caller bug). */
async function checkPairMatches(provider: CryptoProvider, pair: KeyPair, field: string): Promise<void> {
  const derived = await provider.x25519.publicKey(pair.privateKey);
  if (!equalBytes(derived, pair.publicKey)) {
    throw new ValidationError(`${field}.publicKey`, `the X25519 public key of ${field}.privateKey`);
  }
}

function checkProvider(provider: unknown): CryptoProvider {
  if (
    typeof provider !== 'object' ||
    provider === null ||
    typeof (provider as CryptoProvider).x25519 !== 'object'
  ) {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  return provider as CryptoProvider;
}

function checkArgs(args: unknown): Record<string, unknown> {
  if (typeof args !== 'object' || args === null) throw new ValidationError('args', 'an object');
  return args as Record<string, unknown>;
}

/** The key schedule, on validated arguments. */
async function deriveKeys(
  provider: CryptoProvider,
  privateKey: Uint8Array,
  senderPublicKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  peerPublicKey: Uint8Array,
  params: StaticV1Params,
): Promise<StaticV1Keys> {
  const shared = await provider.x25519.sharedSecret(privateKey, peerPublicKey);
  const salt = params.hkdfSalt.slice();
  const info = params.bindPublicKeys
    ? concatBytes(params.hkdfInfoLabel, senderPublicKey, recipientPublicKey)
    : params.hkdfInfoLabel.slice();
  let expanded: Uint8Array;
  try {
    expanded = await provider.hkdfSha256(shared, salt, info, EXPANDED_LENGTH);
  } catch (e) {
    wipe(shared);
    throw e;
  }
  return {
    shared,
    salt,
    info,
    expanded,
    encKey: expanded.slice(0, KEY_LENGTH),
    macKey: expanded.slice(KEY_LENGTH, EXPANDED_LENGTH),
  };
}

function wipeKeys(keys: StaticV1Keys | undefined): void {
  if (keys !== undefined) wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
}

/**
 * Runs the static-v1 key schedule and returns every intermediate value, for test vectors and
 * review. Messages are produced by {@link staticV1Encrypt}; use this only to inspect keys.
 *
 * `own` is the caller's key pair and `peerPublicKey` the other party's key. `role` says which
 * side the caller is: `'sender'` derives the keys for messages from `own` to the peer,
 * `'recipient'` the keys for messages from the peer to `own` (with bound public keys these
 * differ). The caller **must** `wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey)`.
 *
 * Throws `ValidationError` for malformed arguments (including a public key that does not belong
 * to `own.privateKey`) and `InvalidKeyError` for a low-order peer key.
 *
 * @example
 * ```ts
 * const keys = await staticV1DeriveKeys(provider, { own: alice, peerPublicKey: bob.publicKey, role: 'sender' });
 * try {
 *   console.log(toHex(keys.encKey));
 * } finally {
 *   wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
 * }
 * ```
 */
export async function staticV1DeriveKeys(
  provider: CryptoProvider,
  args: {
    readonly own: KeyPair;
    readonly peerPublicKey: Uint8Array;
    readonly role: 'sender' | 'recipient';
    readonly params?: Partial<StaticV1Params>;
  },
): Promise<StaticV1Keys> {
  const p = checkProvider(provider);
  const a = checkArgs(args);
  const own = checkKeyPair(a.own, 'own');
  const peer = checkBytes(a.peerPublicKey, 'peerPublicKey', KEY_LENGTH);
  if (a.role !== 'sender' && a.role !== 'recipient')
    throw new ValidationError('role', "'sender' or 'recipient'");
  const params = resolveParams(a.params);
  await checkPairMatches(p, own, 'own');
  return a.role === 'sender'
    ? deriveKeys(p, own.privateKey, own.publicKey, peer, peer, params)
    : deriveKeys(p, own.privateKey, peer, own.publicKey, peer, params);
}

/** Encrypts under already-validated arguments; draws the IV from `provider.randomBytes`. */
async function encryptOne(
  provider: CryptoProvider,
  sender: KeyPair,
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  params: StaticV1Params,
): Promise<Uint8Array> {
  let keys: StaticV1Keys | undefined;
  try {
    keys = await deriveKeys(
      provider,
      sender.privateKey,
      sender.publicKey,
      recipientPublicKey,
      recipientPublicKey,
      params,
    );
    return await sealWithKeys(provider, keys, plaintext);
  } finally {
    wipeKeys(keys);
  }
}

/** `version | iv | AES-256-CBC(encKey, iv, plaintext) | HMAC-SHA256(macKey, version | iv | ct)`. */
async function sealWithKeys(
  provider: CryptoProvider,
  keys: Pick<StaticV1Keys, 'encKey' | 'macKey'>,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const header = Uint8Array.of(STATIC_V1_VERSION);
  const iv = provider.randomBytes(STATIC_V1_IV_LENGTH);
  const ciphertext = await provider.aes256cbc.encrypt(keys.encKey, iv, plaintext);
  const mac = await provider.hmacSha256(keys.macKey, [header, iv, ciphertext]);
  return concatBytes(header, iv, ciphertext, mac);
}

/** The structural checks every static-v1 message must pass before any key is used. */
function checkMessageShape(message: Uint8Array): void {
  const ctLength = message.length - STATIC_V1_OVERHEAD;
  if (
    message.length < STATIC_V1_MIN_MESSAGE ||
    message.length > staticV1MessageLength(STATIC_V1_MAX_PLAINTEXT) ||
    ctLength % 16 !== 0 ||
    message[0] !== STATIC_V1_VERSION
  ) {
    throw new DecryptionFailed();
  }
}

/** Verifies the MAC in constant time, then decrypts. The message shape was checked already. */
async function openWithKeys(
  provider: CryptoProvider,
  keys: Pick<StaticV1Keys, 'encKey' | 'macKey'>,
  message: Uint8Array,
): Promise<Uint8Array> {
  const macOffset = message.length - STATIC_V1_MAC_LENGTH;
  const expectedMac = await provider.hmacSha256(keys.macKey, message.subarray(0, macOffset));
  try {
    if (!equalBytes(expectedMac, message.subarray(macOffset))) throw new DecryptionFailed();
  } finally {
    wipe(expectedMac);
  }
  const iv = message.subarray(1, 1 + STATIC_V1_IV_LENGTH);
  return provider.aes256cbc.decrypt(keys.encKey, iv, message.subarray(1 + STATIC_V1_IV_LENGTH, macOffset));
}

function checkPlaintext(value: unknown): Uint8Array {
  const plaintext = checkBytes(value, 'plaintext');
  if (plaintext.length > STATIC_V1_MAX_PLAINTEXT) {
    throw new ValidationError('plaintext', `at most ${STATIC_V1_MAX_PLAINTEXT} bytes`);
  }
  return plaintext;
}

/**
 * Encrypts `plaintext` from `sender` to the holder of `recipientPublicKey` with suite
 * static-v1 and returns `version(1) | iv(16) | ciphertext | mac(32)`.
 *
 * **No forward secrecy, no replay protection; never the default** (see the module notes). Use
 * it only to talk to peers that implement the product sheet's construction.
 *
 * Throws `ValidationError` (`ERR_VALIDATION`) naming the field for malformed arguments, including
 * a sender public key that does not match the sender private key, and `InvalidKeyError`
 * (`ERR_INVALID_KEY`) when the recipient key is of low order.
 *
 * @example
 * ```ts
 * import { getProvider, staticV1Encrypt, utf8 } from '@cloister/crypto';
 * const provider = await getProvider();
 * const alice = await provider.x25519.generateKeyPair();
 * const bob = await provider.x25519.generateKeyPair();
 * const message = await staticV1Encrypt(provider, {
 *   sender: alice,
 *   recipientPublicKey: bob.publicKey,
 *   plaintext: utf8('hello'),
 * });
 * ```
 */
export async function staticV1Encrypt(
  provider: CryptoProvider,
  args: {
    readonly sender: KeyPair;
    readonly recipientPublicKey: Uint8Array;
    readonly plaintext: Uint8Array;
    readonly params?: Partial<StaticV1Params>;
  },
): Promise<Uint8Array> {
  const p = checkProvider(provider);
  const a = checkArgs(args);
  const sender = checkKeyPair(a.sender, 'sender');
  const recipientPublicKey = checkBytes(a.recipientPublicKey, 'recipientPublicKey', KEY_LENGTH);
  const plaintext = checkPlaintext(a.plaintext);
  const params = resolveParams(a.params);
  await checkPairMatches(p, sender, 'sender');
  return encryptOne(p, sender, recipientPublicKey, plaintext, params);
}

/**
 * Encrypts one plaintext separately to each recipient (a message to many recipients): one
 * key schedule and one fresh IV per recipient. Returns the messages in the order of
 * `recipientPublicKeys`. Cost grows linearly with the number of recipients; groups with many
 * members use the group suites instead.
 *
 * **No forward secrecy, no replay protection; never the default.**
 *
 * Throws like {@link staticV1Encrypt}; `recipientPublicKeys` must be a non-empty array, and the
 * field named in an error is `recipientPublicKeys[i]`.
 *
 * @example
 * ```ts
 * const out = await staticV1EncryptForRecipients(provider, {
 *   sender: alice,
 *   recipientPublicKeys: [bob.publicKey, carol.publicKey],
 *   plaintext: utf8('to everyone'),
 * });
 * const [forBob, forCarol] = out.map((o) => o.message);
 * ```
 */
export async function staticV1EncryptForRecipients(
  provider: CryptoProvider,
  args: {
    readonly sender: KeyPair;
    readonly recipientPublicKeys: readonly Uint8Array[];
    readonly plaintext: Uint8Array;
    readonly params?: Partial<StaticV1Params>;
  },
): Promise<{ recipientPublicKey: Uint8Array; message: Uint8Array }[]> {
  const p = checkProvider(provider);
  const a = checkArgs(args);
  const sender = checkKeyPair(a.sender, 'sender');
  if (!Array.isArray(a.recipientPublicKeys) || a.recipientPublicKeys.length === 0) {
    throw new ValidationError('recipientPublicKeys', 'a non-empty array of 32-byte public keys');
  }
  const recipients = (a.recipientPublicKeys as unknown[]).map((k, i) =>
    checkBytes(k, `recipientPublicKeys[${i}]`, KEY_LENGTH),
  );
  const plaintext = checkPlaintext(a.plaintext);
  const params = resolveParams(a.params);
  await checkPairMatches(p, sender, 'sender');
  const out: { recipientPublicKey: Uint8Array; message: Uint8Array }[] = [];
  for (const recipientPublicKey of recipients) {
    out.push({
      recipientPublicKey,
      message: await encryptOne(p, sender, recipientPublicKey, plaintext, params),
    });
  }
  return out;
}

/**
 * Decrypts a static-v1 `message` sent to `recipient` by the holder of `senderPublicKey`.
 *
 * Checks, in order: the length (at least 65 bytes, a whole number of blocks, at most the
 * largest message), the version byte, the key schedule (a low-order sender key fails here), the
 * MAC over `version | iv | ciphertext` in constant time, and only then decrypts and checks the
 * padding. Every one of these failures throws the same `DecryptionFailed`
 * (`ERR_DECRYPTION_FAILED`). Arguments of the wrong type or length (other than `message`'s
 * length) throw `ValidationError`.
 *
 * **No forward secrecy, no replay protection; never the default.** A message accepted once is
 * accepted again: the caller must deduplicate.
 *
 * @example
 * ```ts
 * const message = await staticV1Encrypt(provider, { sender: alice, recipientPublicKey: bob.publicKey, plaintext: utf8('hi') });
 * try {
 *   const plaintext = await staticV1Decrypt(provider, { recipient: bob, senderPublicKey: alice.publicKey, message });
 * } catch (e) {
 *   if (!(e instanceof CloisterError && e.code === 'ERR_DECRYPTION_FAILED')) throw e;
 *   // drop the message: it does not authenticate
 * }
 * ```
 */
export async function staticV1Decrypt(
  provider: CryptoProvider,
  args: {
    readonly recipient: KeyPair;
    readonly senderPublicKey: Uint8Array;
    readonly message: Uint8Array;
    readonly params?: Partial<StaticV1Params>;
  },
): Promise<Uint8Array> {
  const p = checkProvider(provider);
  const a = checkArgs(args);
  const recipient = checkKeyPair(a.recipient, 'recipient');
  const senderPublicKey = checkBytes(a.senderPublicKey, 'senderPublicKey', KEY_LENGTH);
  const message = checkBytes(a.message, 'message');
  const params = resolveParams(a.params);
  await checkPairMatches(p, recipient, 'recipient');
  checkMessageShape(message);
  let keys: StaticV1Keys | undefined;
  try {
    try {
      keys = await deriveKeys(
        p,
        recipient.privateKey,
        senderPublicKey,
        recipient.publicKey,
        senderPublicKey,
        params,
      );
    } catch (e) {
      // A low-order sender key is a property of the message, not a caller bug.
      if (e instanceof CloisterError && e.code === 'ERR_INVALID_KEY') throw new DecryptionFailed();
      throw e;
    }
    return await openWithKeys(p, keys, message);
  } finally {
    wipeKeys(keys);
  }
}

/**
 * A static-v1 channel between one own key pair and one peer: the keys of both directions are
 * derived once (two HKDF outputs from one X25519 shared secret) and reused for every message,
 * which is what static-v1 does anyway since its keys never change. Messages are byte-identical
 * to those of {@link staticV1Encrypt} / {@link staticV1Decrypt} with the same keys and params.
 * Call {@link StaticV1Channel.close} to wipe the keys; a closed channel throws `UsageError`.
 *
 * **No forward secrecy, no replay protection; never the default.**
 *
 * @example
 * ```ts
 * const channel: StaticV1Channel = await openStaticV1Channel(provider, { own: bob, peerPublicKey: alice.publicKey });
 * try {
 *   const reply = await channel.encrypt(utf8('hello Alice'));
 * } finally {
 *   channel.close();
 * }
 * ```
 */
export interface StaticV1Channel {
  /**
   * Encrypts a message from the own key pair to the peer (at most 64 MiB of plaintext).
   *
   * @example
   * ```ts
   * const channel = await openStaticV1Channel(provider, { own: alice, peerPublicKey: bob.publicKey });
   * const message = await channel.encrypt(utf8('hello Bob'));
   * ```
   */
  encrypt(plaintext: Uint8Array): Promise<Uint8Array>;
  /**
   * Decrypts a message from the peer; every failure is `DecryptionFailed`.
   *
   * @example
   * ```ts
   * const channel = await openStaticV1Channel(provider, { own: bob, peerPublicKey: alice.publicKey });
   * const plaintext = await channel.decrypt(bytes);
   * ```
   */
  decrypt(message: Uint8Array): Promise<Uint8Array>;
  /**
   * Wipes the derived keys; later `encrypt` and `decrypt` calls throw `UsageError`.
   *
   * @example
   * ```ts
   * const channel = await openStaticV1Channel(provider, { own: alice, peerPublicKey: bob.publicKey });
   * channel.close();
   * ```
   */
  close(): void;
}

/**
 * Opens a {@link StaticV1Channel}: one X25519 and two HKDF calls, then only AES-256-CBC and
 * HMAC-SHA256 per message.
 *
 * @example
 * ```ts
 * const channel = await openStaticV1Channel(provider, { own: alice, peerPublicKey: bob.publicKey });
 * const message = await channel.encrypt(utf8('hello'));
 * channel.close();
 * ```
 */
export async function openStaticV1Channel(
  provider: CryptoProvider,
  args: {
    readonly own: KeyPair;
    readonly peerPublicKey: Uint8Array;
    readonly params?: Partial<StaticV1Params>;
  },
): Promise<StaticV1Channel> {
  const p = checkProvider(provider);
  const a = checkArgs(args);
  const own = checkKeyPair(a.own, 'own');
  const peer = checkBytes(a.peerPublicKey, 'peerPublicKey', KEY_LENGTH);
  const params = resolveParams(a.params);
  await checkPairMatches(p, own, 'own');
  let send: StaticV1Keys | undefined = await deriveKeys(p, own.privateKey, own.publicKey, peer, peer, params);
  let receive: StaticV1Keys | undefined;
  try {
    receive = await deriveKeys(p, own.privateKey, peer, own.publicKey, peer, params);
  } catch (e) {
    wipeKeys(send);
    throw e;
  }
  const open = (): { send: StaticV1Keys; receive: StaticV1Keys } => {
    if (send === undefined || receive === undefined) throw new UsageError('the static-v1 channel is closed');
    return { send, receive };
  };
  return {
    async encrypt(plaintext) {
      const keys = open().send;
      return sealWithKeys(p, keys, checkPlaintext(plaintext));
    },
    async decrypt(message) {
      const keys = open().receive;
      checkMessageShape(checkBytes(message, 'message'));
      return openWithKeys(p, keys, message);
    },
    close() {
      wipeKeys(send);
      wipeKeys(receive);
      send = undefined;
      receive = undefined;
    },
  };
}
