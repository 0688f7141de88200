/**
 * Domain types of the suite `v2` objects that travel on the wire. They have the same names,
 * fields and meaning as the types of `@cloister/crypto`'s `v2/types.ts`, except that ids are
 * plain numbers here where crypto brands them (`SignedPreKeyId`, ...): a crypto object can be
 * passed to every encoder as it is, and a decoded object is turned into crypto's types by
 * branding its ids with crypto's constructors (`signedPreKeyId(n)`, ...), which check them again.
 *
 * @module
 */
import type { Suite } from './suites.js';

/**
 * Id of a signed X25519 prekey, an ML-KEM prekey, or a one-time prekey: an unsigned 32-bit
 * integer chosen by the key's owner.
 *
 * @example
 * ```ts
 * const id: PreKeyId = 7;
 * ```
 */
export type PreKeyId = number;

/**
 * A device's public identity.
 *
 * @example
 * ```ts
 * const identity: PublicIdentity = { signingKey, dhKey, dhKeySignature };
 * ```
 */
export interface PublicIdentity {
  /** Ed25519 public key (32 bytes): signs the DH key and every prekey. */
  readonly signingKey: Uint8Array;
  /** X25519 identity public key (32 bytes). */
  readonly dhKey: Uint8Array;
  /** Ed25519 signature (64 bytes) by `signingKey` over `"cloister/v2/identity-dh-key" || dhKey`. */
  readonly dhKeySignature: Uint8Array;
}

/**
 * The public part of a signed X25519 prekey.
 *
 * @example
 * ```ts
 * const spk: SignedPreKeyPublic = { id: 1, publicKey, signature };
 * ```
 */
export interface SignedPreKeyPublic {
  readonly id: PreKeyId;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) over `"cloister/v2/signed-prekey" || u32(id) || publicKey`. */
  readonly signature: Uint8Array;
}

/**
 * The public part of a one-time X25519 prekey.
 *
 * @example
 * ```ts
 * const opk: OneTimePreKeyPublic = { id: 100, publicKey };
 * ```
 */
export interface OneTimePreKeyPublic {
  readonly id: PreKeyId;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
}

/**
 * The public part of a signed ML-KEM-768 prekey.
 *
 * @example
 * ```ts
 * const kpk: KemPreKeyPublic = { id: 3, publicKey, lastResort: false, signature };
 * ```
 */
export interface KemPreKeyPublic {
  readonly id: PreKeyId;
  /** ML-KEM-768 encapsulation key (1184 bytes). */
  readonly publicKey: Uint8Array;
  /** True for the last-resort key, false for a one-time key. */
  readonly lastResort: boolean;
  /**
   * Ed25519 signature (64 bytes) over
   * `"cloister/v2/kem-prekey" || u32(id) || u8(lastResort) || publicKey`.
   */
  readonly signature: Uint8Array;
}

/**
 * What a server hands out so that another device can start a session.
 *
 * @example
 * ```ts
 * const bundle: PreKeyBundle = {
 *   registrationId: 4711, deviceId: 1, identity, signedPreKey, kemPreKey, suites: ['v2'],
 * };
 * ```
 */
export interface PreKeyBundle {
  /** The owner's registration id (u32; informational, not authenticated). */
  readonly registrationId: number;
  /** The owner's device id (u32; informational, not authenticated). */
  readonly deviceId: number;
  readonly identity: PublicIdentity;
  readonly signedPreKey: SignedPreKeyPublic;
  /** Absent when the server has run out of one-time prekeys for this device. */
  readonly oneTimePreKey?: OneTimePreKeyPublic;
  readonly kemPreKey: KemPreKeyPublic;
  /** Suites the device supports: 1 .. 2 distinct names. */
  readonly suites: readonly Suite[];
}

/**
 * The header of a ratchet message: authenticated as associated data, not encrypted.
 *
 * @example
 * ```ts
 * const header: RatchetHeader = { ratchetKey, previousChainLength: 0, messageNumber: 5 };
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
 * One Double Ratchet message.
 *
 * @example
 * ```ts
 * const message: RatchetMessage = { header, ciphertext };
 * ```
 */
export interface RatchetMessage {
  readonly header: RatchetHeader;
  /** AES-256-GCM ciphertext with its 16-byte tag: 16 .. 263168 bytes. */
  readonly ciphertext: Uint8Array;
}

/**
 * The first message(s) of a v2 session: the handshake fields and a ratchet message.
 *
 * @example
 * ```ts
 * const initial: InitialMessage = {
 *   suite: 'v2', initiatorIdentity, baseKey, signedPreKeyId: 1, kemPreKeyId: 3, kemCiphertext, message,
 * };
 * ```
 */
export interface InitialMessage {
  /** Always `v2`. */
  readonly suite: 'v2';
  readonly initiatorIdentity: PublicIdentity;
  /** The initiator's ephemeral X25519 base key (32 bytes). */
  readonly baseKey: Uint8Array;
  readonly signedPreKeyId: PreKeyId;
  /** Present when the bundle offered a one-time prekey. */
  readonly oneTimePreKeyId?: PreKeyId;
  readonly kemPreKeyId: PreKeyId;
  /** ML-KEM-768 ciphertext to the responder's KEM prekey (1088 bytes). */
  readonly kemCiphertext: Uint8Array;
  readonly message: RatchetMessage;
}
