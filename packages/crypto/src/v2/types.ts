/**
 * Domain types of suite `v2`: device identities, prekeys, bundles, handshake and ratchet
 * messages, session state and records. Byte layouts and every rule are in `spec/v2-sessions.md`.
 *
 * All types are readonly values: functions of this suite never mutate their inputs and return
 * new objects. Byte fields are `Uint8Array`s of the fixed lengths given in their comments.
 *
 * @module
 */
import { checkInt } from '../bytes.js';
import type { KemKeyPair, KeyPair } from '../provider.js';

declare const brand: unique symbol;

/**
 * A number or string tagged with the name of what it identifies, so that a prekey id cannot be
 * passed where a device id is expected. Create one with the matching constructor function, such
 * as {@link signedPreKeyId}.
 *
 * @example
 * ```ts
 * type InvoiceId = Branded<string, 'InvoiceId'>;
 * const spkId: Branded<number, 'SignedPreKeyId'> = signedPreKeyId(1);
 * ```
 */
export type Branded<T, Name extends string> = T & { readonly [brand]: Name };

/**
 * Id of a signed X25519 prekey: an unsigned 32-bit integer chosen by its owner.
 *
 * @example
 * ```ts
 * const id: SignedPreKeyId = signedPreKeyId(1);
 * ```
 */
export type SignedPreKeyId = Branded<number, 'SignedPreKeyId'>;
/**
 * Id of a one-time X25519 prekey: an unsigned 32-bit integer chosen by its owner.
 *
 * @example
 * ```ts
 * const id: OneTimePreKeyId = oneTimePreKeyId(100);
 * ```
 */
export type OneTimePreKeyId = Branded<number, 'OneTimePreKeyId'>;
/**
 * Id of an ML-KEM-768 prekey: an unsigned 32-bit integer chosen by its owner.
 *
 * @example
 * ```ts
 * const id: KemPreKeyId = kemPreKeyId(7);
 * ```
 */
export type KemPreKeyId = Branded<number, 'KemPreKeyId'>;
/**
 * A device's registration id (unsigned 32-bit), chosen at enrolment; changes on reinstall.
 *
 * @example
 * ```ts
 * const id: RegistrationId = registrationId(12345);
 * ```
 */
export type RegistrationId = Branded<number, 'RegistrationId'>;
/**
 * A device number within one user's account (unsigned 32-bit).
 *
 * @example
 * ```ts
 * const address: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };
 * ```
 */
export type DeviceId = Branded<number, 'DeviceId'>;

const UINT32_MAX = 0xffff_ffff;

/**
 * Checks that `value` is an unsigned 32-bit integer and brands it as a {@link SignedPreKeyId}.
 *
 * @example
 * ```ts
 * const id = signedPreKeyId(1);
 * ```
 */
export function signedPreKeyId(value: number, field = 'signedPreKeyId'): SignedPreKeyId {
  return checkInt(value, field, 0, UINT32_MAX) as SignedPreKeyId;
}

/**
 * Checks that `value` is an unsigned 32-bit integer and brands it as a {@link OneTimePreKeyId}.
 *
 * @example
 * ```ts
 * const id = oneTimePreKeyId(100);
 * ```
 */
export function oneTimePreKeyId(value: number, field = 'oneTimePreKeyId'): OneTimePreKeyId {
  return checkInt(value, field, 0, UINT32_MAX) as OneTimePreKeyId;
}

/**
 * Checks that `value` is an unsigned 32-bit integer and brands it as a {@link KemPreKeyId}.
 *
 * @example
 * ```ts
 * const id = kemPreKeyId(7);
 * ```
 */
export function kemPreKeyId(value: number, field = 'kemPreKeyId'): KemPreKeyId {
  return checkInt(value, field, 0, UINT32_MAX) as KemPreKeyId;
}

/**
 * Checks that `value` is an unsigned 32-bit integer and brands it as a {@link RegistrationId}.
 *
 * @example
 * ```ts
 * const id = registrationId(12345);
 * ```
 */
export function registrationId(value: number, field = 'registrationId'): RegistrationId {
  return checkInt(value, field, 0, UINT32_MAX) as RegistrationId;
}

/**
 * Checks that `value` is an unsigned 32-bit integer and brands it as a {@link DeviceId}.
 *
 * @example
 * ```ts
 * const id = deviceId(1);
 * ```
 */
export function deviceId(value: number, field = 'deviceId'): DeviceId {
  return checkInt(value, field, 0, UINT32_MAX) as DeviceId;
}

/**
 * Names of the message suites Cloister knows. `v2` is the default; `static-v1` is legacy.
 *
 * @example
 * ```ts
 * const ours: readonly SuiteName[] = ['v2', 'static-v1'];
 * ```
 */
export type SuiteName = 'static-v1' | 'v2';

/**
 * The private identity of one device: an Ed25519 signing key pair and an X25519 identity key
 * pair whose public key is signed by the signing key (no XEdDSA: one key, one purpose). It holds
 * private keys: keep it in encrypted storage, never log it.
 *
 * @example
 * ```ts
 * const identity: DeviceIdentity = await generateDeviceIdentity(provider);
 * const published = toPublicIdentity(identity);
 * ```
 */
export interface DeviceIdentity {
  /** Ed25519: `privateKey` is the 32-byte seed, `publicKey` 32 bytes. */
  readonly signingKeyPair: KeyPair;
  /** X25519 identity key pair (32-byte keys), used in the handshake's DH1 / DH2. */
  readonly dhKeyPair: KeyPair;
  /** Ed25519 signature (64 bytes) over `"cloister/v2/identity-dh-key" || dhKeyPair.publicKey`. */
  readonly dhKeySignature: Uint8Array;
}

/**
 * The public half of a {@link DeviceIdentity}: what others learn and pin.
 *
 * @example
 * ```ts
 * const theirs: PublicIdentity = bundle.identity;
 * await verifyPublicIdentity(provider, theirs);
 * ```
 */
export interface PublicIdentity {
  /** Ed25519 public key (32 bytes): signs the DH key and every prekey. */
  readonly signingKey: Uint8Array;
  /** X25519 identity public key (32 bytes). */
  readonly dhKey: Uint8Array;
  /** Ed25519 signature (64 bytes) of `dhKey` by `signingKey`. */
  readonly dhKeySignature: Uint8Array;
}

/**
 * A signed X25519 prekey with its private key (kept by its owner, rotated periodically).
 *
 * @example
 * ```ts
 * const spk: SignedPreKey = await generateSignedPreKey(provider, identity, signedPreKeyId(1));
 * ```
 */
export interface SignedPreKey {
  /** The id its owner chose; the bundle and initial messages name the key by it. */
  readonly id: SignedPreKeyId;
  /** X25519 key pair (32-byte keys). */
  readonly keyPair: KeyPair;
  /** Ed25519 signature (64 bytes) over `"cloister/v2/signed-prekey" || u32(id) || publicKey`. */
  readonly signature: Uint8Array;
}

/**
 * A one-time X25519 prekey with its private key; used by at most one handshake, then deleted.
 *
 * @example
 * ```ts
 * const [first]: OneTimePreKey[] = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 1);
 * ```
 */
export interface OneTimePreKey {
  /** The id its owner chose; an initial message names the key by it. */
  readonly id: OneTimePreKeyId;
  /** X25519 key pair (32-byte keys). */
  readonly keyPair: KeyPair;
}

/**
 * A signed ML-KEM-768 prekey with its decapsulation key. A one-time KEM prekey is deleted after
 * one handshake; a last-resort one is reused, and each (KEM prekey id, signed prekey id, base
 * key) combination is accepted once (see `KemPreKeyReplayStore`).
 *
 * @example
 * ```ts
 * const kem: KemPreKey = await generateKemPreKey(provider, identity, kemPreKeyId(2), { lastResort: false });
 * ```
 */
export interface KemPreKey {
  /** The id its owner chose; the bundle and initial messages name the key by it. */
  readonly id: KemPreKeyId;
  /** ML-KEM-768 key pair: 1184-byte encapsulation key, 2400-byte decapsulation key. */
  readonly keyPair: KemKeyPair;
  /** True for the last-resort key, false for a one-time key. Covered by the signature. */
  readonly lastResort: boolean;
  /**
   * Ed25519 signature (64 bytes) over
   * `"cloister/v2/kem-prekey" || u32(id) || u8(lastResort) || publicKey`.
   */
  readonly signature: Uint8Array;
}

/**
 * The public part of a {@link SignedPreKey}, as published in a bundle.
 *
 * @example
 * ```ts
 * const published: SignedPreKeyPublic = toSignedPreKeyPublic(spk);
 * ```
 */
export interface SignedPreKeyPublic {
  /** The id of the signed prekey (covered by the signature). */
  readonly id: SignedPreKeyId;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes); see {@link SignedPreKey.signature}. */
  readonly signature: Uint8Array;
}

/**
 * The public part of a {@link OneTimePreKey}, as published in a bundle.
 *
 * @example
 * ```ts
 * const published: OneTimePreKeyPublic[] = opks.map(toOneTimePreKeyPublic);
 * ```
 */
export interface OneTimePreKeyPublic {
  /** The id of the one-time prekey. */
  readonly id: OneTimePreKeyId;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
}

/**
 * The public part of a {@link KemPreKey}, as published in a bundle.
 *
 * @example
 * ```ts
 * const published: KemPreKeyPublic = toKemPreKeyPublic(lastResort);
 * await verifyKemPreKeyPublic(provider, identity.signingKeyPair.publicKey, published);
 * ```
 */
export interface KemPreKeyPublic {
  /** The id of the KEM prekey (covered by the signature). */
  readonly id: KemPreKeyId;
  /** ML-KEM-768 encapsulation key (1184 bytes). */
  readonly publicKey: Uint8Array;
  /** True for the last-resort key, false for a one-time key (covered by the signature). */
  readonly lastResort: boolean;
  /** Ed25519 signature (64 bytes); see {@link KemPreKey.signature}. */
  readonly signature: Uint8Array;
}

/**
 * What a server hands out so that another device can start a session with `identity` without
 * it being online. Check it with `verifyPreKeyBundle` (`initiateSession` does so itself).
 *
 * @example
 * ```ts
 * const suitesIssuedAt = Date.now();
 * const bundle: PreKeyBundle = {
 *   registrationId: registrationId(12345),
 *   deviceId: deviceId(1),
 *   identity: toPublicIdentity(identity),
 *   signedPreKey: toSignedPreKeyPublic(spk),
 *   kemPreKey: toKemPreKeyPublic(lastResort),
 *   suites: ['v2'],
 *   suitesIssuedAt,
 *   suitesSignature: await signSuites(provider, identity, ['v2'], { signedPreKeyId: spk.id, issuedAt: suitesIssuedAt }),
 * };
 * ```
 */
export interface PreKeyBundle {
  /** The owner's registration id (informational; not authenticated by the handshake). */
  readonly registrationId: RegistrationId;
  /** The owner's device id (informational; not authenticated by the handshake). */
  readonly deviceId: DeviceId;
  /** The owner's identity: signing key, identity DH key and its signature. */
  readonly identity: PublicIdentity;
  /** The device's current signed X25519 prekey. */
  readonly signedPreKey: SignedPreKeyPublic;
  /** Absent when the server has run out of one-time prekeys for this device. */
  readonly oneTimePreKey?: OneTimePreKeyPublic;
  /** A one-time KEM prekey when available, else the last-resort one. */
  readonly kemPreKey: KemPreKeyPublic;
  /**
   * Suites the device supports that this version knows, distinct, in any order. Covered by
   * {@link PreKeyBundle.suitesSignature}; must contain `v2` for a v2 session.
   */
  readonly suites: readonly SuiteName[];
  /**
   * Codes (1 .. 2^31 - 1) of further suites the device listed that this version does not know,
   * from a newer version. Never negotiated; kept only because the signature covers them. Absent
   * or empty when there are none.
   */
  readonly unknownSuiteCodes?: readonly number[];
  /**
   * When the device signed its suite list: milliseconds since the Unix epoch, an integer in
   * 1 .. 2^53 - 1. Covered by {@link PreKeyBundle.suitesSignature}. A server can still hand out an
   * older bundle the device once signed (one offering only `static-v1`, say); the signature only
   * proves the time the device gave it. Callers must therefore refuse a bundle whose
   * `suitesIssuedAt` is older than the newest they have verified for the same device identity
   * (`VerifyBundleOptions.newestSuitesIssuedAt` does it), and remember the newest they accept.
   */
  readonly suitesIssuedAt: number;
  /**
   * Ed25519 signature (64 bytes) by `identity.signingKey` over
   * `"cloister/v2/suites/2" || u32(signedPreKey.id) || u64(suitesIssuedAt) || u8(count) ||
   * u32(code)*` (every suite code, ascending): see `signSuites`. It stops whoever serves the
   * bundle from removing `v2` from the list, and binds the list to this bundle's signed prekey
   * and its issue time, so that a list cannot be moved onto another signed prekey.
   */
  readonly suitesSignature: Uint8Array;
}

/**
 * A suite list whose signature `verifyBundleSuites` checked against the bundle's identity. Only
 * that function creates one (it also records it, so `isVerifiedSuites` recognises it at run
 * time); negotiation accepts nothing else, so an unsigned or altered list cannot be negotiated.
 * It says nothing about freshness: compare the bundle's `suitesIssuedAt` with the newest seen for
 * the device (see {@link PreKeyBundle.suitesIssuedAt}).
 *
 * @example
 * ```ts
 * const theirs: VerifiedSuites = await verifyBundleSuites(provider, bundle, { newestSuitesIssuedAt: seen });
 * const canUseV2 = theirs.includes('v2');
 * ```
 */
export type VerifiedSuites = Branded<readonly SuiteName[], 'VerifiedSuites'>;

/**
 * The header of a ratchet message: authenticated (as associated data), not encrypted.
 *
 * @example
 * ```ts
 * const { ratchetKey, previousChainLength, messageNumber }: RatchetHeader = message.header;
 * ```
 */
export interface RatchetHeader {
  /** The sender's current X25519 ratchet public key (32 bytes). */
  readonly ratchetKey: Uint8Array;
  /** Number of messages in the sender's previous sending chain (u32). */
  readonly previousChainLength: number;
  /** Index of this message in the current sending chain, from 0 (u32). */
  readonly messageNumber: number;
}

/**
 * One Double Ratchet message: header plus AES-256-GCM ciphertext (with its 16-byte tag).
 *
 * @example
 * ```ts
 * const { state, message }: { state: SessionState; message: RatchetMessage } =
 *   await ratchetEncrypt(provider, session, utf8('hello'));
 * ```
 */
export interface RatchetMessage {
  /** The header, sent in the clear and authenticated as associated data. */
  readonly header: RatchetHeader;
  /** The AES-256-GCM ciphertext of the plaintext, 16-byte tag included. */
  readonly ciphertext: Uint8Array;
}

/**
 * The first message(s) of a session: everything the responder needs to derive the session,
 * followed by an ordinary ratchet message. The initiator sends every message in this form until
 * it has received a reply, so that losing the first one does not lose the session.
 *
 * @example
 * ```ts
 * const out = await cipher.encrypt(utf8('hello'));
 * if (out.type === 'initial') console.log(out.message.signedPreKeyId); // the prekey the session used
 * ```
 */
export interface InitialMessage {
  /** Always `v2`. */
  readonly suite: 'v2';
  /** The initiator's public identity. */
  readonly initiatorIdentity: PublicIdentity;
  /** The initiator's ephemeral X25519 base key EK_A (32 bytes); identifies the session. */
  readonly baseKey: Uint8Array;
  /** Id of the responder's signed prekey the handshake used. */
  readonly signedPreKeyId: SignedPreKeyId;
  /** Present when the bundle offered a one-time prekey. */
  readonly oneTimePreKeyId?: OneTimePreKeyId;
  /** Id of the responder's KEM prekey the handshake encapsulated to. */
  readonly kemPreKeyId: KemPreKeyId;
  /** ML-KEM-768 ciphertext to the responder's KEM prekey (1088 bytes). */
  readonly kemCiphertext: Uint8Array;
  /** The first (or a later, while unanswered) ratchet message. */
  readonly message: RatchetMessage;
}

/**
 * What `SessionCipher.encrypt` produces: an {@link InitialMessage} until answered, then ratchet
 * messages.
 *
 * @example
 * ```ts
 * const out: CiphertextMessage = await cipher.encrypt(utf8('hello'));
 * console.log(out.type); // "initial" until the peer has answered, then "ratchet"
 * ```
 */
export type CiphertextMessage =
  | { readonly type: 'initial'; readonly message: InitialMessage }
  | { readonly type: 'ratchet'; readonly message: RatchetMessage };

/**
 * The address of a remote device: the key of a {@link SessionRecord} in a session store.
 *
 * @example
 * ```ts
 * const address: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };
 * const stored = await sessions.loadSession(address);
 * ```
 */
export interface DeviceAddress {
  /** Opaque, stable user identifier. Never logged by Cloister. */
  readonly userId: string;
  /** The device's number within the user's account. */
  readonly deviceId: DeviceId;
}

/**
 * The sending chain of a session (secret: part of {@link SessionState}).
 *
 * @example
 * ```ts
 * const sent: number = session.sending.index; // messages sent on the current chain
 * ```
 */
export interface SendingChain {
  /** Our current X25519 ratchet key pair (32-byte keys). */
  readonly ratchetKeyPair: KeyPair;
  /** Chain key (32 bytes) that derives message number `index`. */
  readonly chainKey: Uint8Array;
  /** Number of the next message to send on this chain (u32). */
  readonly index: number;
}

/**
 * A receiving chain of a session: the current one, or a closed older one.
 *
 * @example
 * ```ts
 * const open = session.receiving.filter((c: ReceivingChain) => c.chainKey !== undefined).length; // 0 or 1
 * ```
 */
export interface ReceivingChain {
  /** The peer's ratchet public key (32 bytes) that names this chain. */
  readonly ratchetKey: Uint8Array;
  /**
   * Chain key (32 bytes) that derives message number `index`; absent once the chain is closed
   * (the peer has moved to a newer ratchet key and every missing key was stored as skipped).
   */
  readonly chainKey?: Uint8Array;
  /** Number of the next message expected on this chain (u32). */
  readonly index: number;
}

/**
 * A message key kept for a message that has not arrived yet (out-of-order delivery).
 *
 * @example
 * ```ts
 * const waiting = session.skipped.map((k: SkippedMessageKey) => k.messageNumber);
 * ```
 */
export interface SkippedMessageKey {
  /** The peer ratchet key (32 bytes) of the chain the key belongs to. */
  readonly ratchetKey: Uint8Array;
  /** The message number (u32). */
  readonly messageNumber: number;
  /** The message key (32 bytes). */
  readonly messageKey: Uint8Array;
}

/**
 * What the initiator repeats in every message until the responder answers.
 *
 * @example
 * ```ts
 * const { pending } = await initiateSession(provider, { ourIdentity: identity, theirBundle: bundle });
 * console.log(pending.oneTimePreKeyId === undefined); // true when the bundle had no one-time prekey
 * ```
 */
export interface PendingInitial {
  /** Id of the responder's signed prekey the handshake used. */
  readonly signedPreKeyId: SignedPreKeyId;
  /** Id of the responder's one-time prekey the handshake used; absent when there was none. */
  readonly oneTimePreKeyId?: OneTimePreKeyId;
  /** Id of the responder's KEM prekey the handshake encapsulated to. */
  readonly kemPreKeyId: KemPreKeyId;
  /** ML-KEM-768 ciphertext (1088 bytes). */
  readonly kemCiphertext: Uint8Array;
}

/**
 * The state of one v2 session between two devices. Contains secrets: store it only through
 * `serializeSession` in encrypted storage, never log it.
 *
 * @example
 * ```ts
 * const current: SessionState | undefined = record.current;
 * if (current !== undefined) console.log(current.role); // "initiator" or "responder"
 * ```
 */
export interface SessionState {
  /** Layout version of this state, currently 1. */
  readonly version: 1;
  /** The suite of the session: always `v2`. */
  readonly suite: 'v2';
  /** Which side started the session; fixes the identity order in associated data. */
  readonly role: 'initiator' | 'responder';
  /** Our device's public identity in this session. */
  readonly localIdentity: PublicIdentity;
  /** The remote device's public identity, authenticated by the handshake. */
  readonly remoteIdentity: PublicIdentity;
  /** The initiator's handshake base key EK_A (32 bytes): identifies the session. */
  readonly baseKey: Uint8Array;
  /** Root key (32 bytes). */
  readonly rootKey: Uint8Array;
  /** Our current sending chain. */
  readonly sending: SendingChain;
  /** Length of our previous sending chain (PN in headers we send). */
  readonly previousSendingLength: number;
  /** Receiving chains, newest first; at most `V2_MAX_RECEIVING_CHAINS`. Empty until the first reply. */
  readonly receiving: readonly ReceivingChain[];
  /** Skipped message keys, oldest first; at most `V2_MAX_SKIPPED_KEYS`. */
  readonly skipped: readonly SkippedMessageKey[];
  /**
   * Digests (16 bytes each) of the most recent messages decrypted in this session, oldest first;
   * at most `V2_RECENT_DIGESTS`. They tell an exact duplicate (ReplayError) from a forgery.
   */
  readonly recentDigests: readonly Uint8Array[];
  /** Initiator only, until the first reply: the handshake fields repeated in each message. */
  readonly pending?: PendingInitial;
  /**
   * Responder only: SHA-256 (32 bytes) of the handshake part of the initial message that created
   * the session, so a repeated initial message is matched to it exactly.
   */
  readonly initialDigest?: Uint8Array;
}

/**
 * Everything stored for one remote device: the session in use and a few previous ones (kept to
 * decrypt late messages after a new handshake, for example after simultaneous initiation).
 *
 * @example
 * ```ts
 * const stored: SessionRecord = (await sessions.loadSession({ userId: 'bob', deviceId: deviceId(1) })) ?? emptySessionRecord();
 * const hasSession = stored.current !== undefined;
 * ```
 */
export interface SessionRecord {
  /** Layout version of the record, currently 1. */
  readonly version: 1;
  /** The session used to encrypt; absent for an empty record. */
  readonly current?: SessionState;
  /** Older sessions, most recent first; at most `V2_MAX_PREVIOUS_SESSIONS`. */
  readonly previous: readonly SessionState[];
}
