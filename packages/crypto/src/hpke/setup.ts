/**
 * HPKE setup (RFC 9180 sections 5.1.1 and 5.1.3): SetupBaseS/R and SetupAuthS/R. Mode auth is
 * chosen by giving the sender's key pair (sender) or the sender's public key (recipient).
 */
import { checkBytes, wipe } from '../bytes.js';
import { ValidationError } from '../errors.js';
import type { CryptoProvider, KeyPair } from '../provider.js';
import {
  createRecipientContext,
  createSenderContext,
  type HpkeRecipientContext,
  type HpkeSenderContext,
} from './context.js';
import { decap, encap, generateHpkeKeyPair, X25519_KEY_LENGTH } from './dhkem-x25519.js';
import { keySchedule } from './key-schedule.js';
import { checkHpkeAead, HPKE_MODE_AUTH, HPKE_MODE_BASE, type HpkeAead } from './suite.js';

const EMPTY = new Uint8Array(0);

/**
 * Options of {@link setupHpkeSender} and {@link sealHpke}.
 *
 * @example
 * ```ts
 * const options: HpkeSenderOptions = { aead: 'aes-256-gcm', recipientPublicKey: bob.publicKey, info: utf8('app/v1') };
 * const { enc, context } = await setupHpkeSender(provider, options);
 * ```
 */
export interface HpkeSenderOptions {
  /** The AEAD of the suite: `aes-256-gcm`, `chacha20-poly1305` or `export-only`. */
  readonly aead: HpkeAead;
  /** The recipient's 32-byte X25519 public key. */
  readonly recipientPublicKey: Uint8Array;
  /** Application context bound into the key schedule (RFC 9180 `info`); empty by default. */
  readonly info?: Uint8Array;
  /** The sender's static X25519 key pair: present for mode auth, absent for mode base. */
  readonly senderKeyPair?: KeyPair;
}

/**
 * Options of {@link setupHpkeRecipient} and {@link openHpke}.
 *
 * @example
 * ```ts
 * const { enc } = await setupHpkeSender(provider, { aead: 'aes-256-gcm', recipientPublicKey: bob.publicKey });
 * const options: HpkeRecipientOptions = { aead: 'aes-256-gcm', enc, recipientPrivateKey: bob.privateKey };
 * const context = await setupHpkeRecipient(provider, options);
 * ```
 */
export interface HpkeRecipientOptions {
  /** The AEAD of the suite; must be the sender's. */
  readonly aead: HpkeAead;
  /** The 32-byte encapsulated key the sender produced. */
  readonly enc: Uint8Array;
  /** The recipient's 32-byte X25519 private key. */
  readonly recipientPrivateKey: Uint8Array;
  /** Application context (RFC 9180 `info`), the sender's exactly; empty by default. */
  readonly info?: Uint8Array;
  /** The sender's static X25519 public key: present for mode auth, absent for mode base. */
  readonly senderPublicKey?: Uint8Array;
}

/**
 * A sender context and the `enc` to send with the first message.
 *
 * @example
 * ```ts
 * const sender: HpkeSender = await setupHpkeSender(provider, { aead: 'chacha20-poly1305', recipientPublicKey: bob.publicKey });
 * const first = await sender.context.seal(utf8('one')); // send sender.enc with it
 * ```
 */
export interface HpkeSender {
  /** The 32-byte encapsulated key; the recipient needs it to set up its context. */
  readonly enc: Uint8Array;
  /** The context that seals messages in order; `destroy()` it when done. */
  readonly context: HpkeSenderContext;
}

interface CheckedSender {
  readonly aead: HpkeAead;
  readonly recipientPublicKey: Uint8Array;
  readonly info: Uint8Array;
  readonly senderKeyPair: KeyPair | undefined;
}

function checkSenderOptions(options: HpkeSenderOptions): CheckedSender {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const aead = checkHpkeAead(options.aead, 'aead');
  const recipientPublicKey = checkBytes(options.recipientPublicKey, 'recipientPublicKey', X25519_KEY_LENGTH);
  const info = options.info === undefined ? EMPTY : checkBytes(options.info, 'info');
  let senderKeyPair: KeyPair | undefined;
  if (options.senderKeyPair !== undefined) {
    const pair = options.senderKeyPair;
    if (typeof pair !== 'object' || pair === null) throw new ValidationError('senderKeyPair', 'a key pair');
    senderKeyPair = {
      privateKey: checkBytes(pair.privateKey, 'senderKeyPair.privateKey', X25519_KEY_LENGTH),
      publicKey: checkBytes(pair.publicKey, 'senderKeyPair.publicKey', X25519_KEY_LENGTH),
    };
  }
  return { aead, recipientPublicKey, info, senderKeyPair };
}

/**
 * The sender side with a given ephemeral key pair. Internal: the public API always draws the
 * ephemeral key from the provider; tests use this to run the RFC vectors.
 */
export async function setupSenderWithEphemeral(
  provider: CryptoProvider,
  options: HpkeSenderOptions,
  ephemeral: KeyPair,
): Promise<HpkeSender> {
  const o = checkSenderOptions(options);
  const { sharedSecret, enc } = await encap(provider, o.recipientPublicKey, ephemeral, o.senderKeyPair);
  try {
    const mode = o.senderKeyPair === undefined ? HPKE_MODE_BASE : HPKE_MODE_AUTH;
    const secrets = await keySchedule(provider, o.aead, mode, sharedSecret, o.info);
    return { enc, context: createSenderContext(provider, o.aead, secrets) };
  } finally {
    wipe(sharedSecret);
  }
}

/**
 * SetupBaseS, or SetupAuthS when `senderKeyPair` is given: a new ephemeral key from
 * `provider.random`, the `enc` to send, and a context that seals messages in order.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, setupHpkeSender, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const { enc, context } = await setupHpkeSender(provider, {
 *   aead: 'chacha20-poly1305',
 *   recipientPublicKey: recipient.publicKey,
 *   info: utf8('example'),
 * });
 * const ciphertext = await context.seal(utf8('hello'));
 * ```
 */
export async function setupHpkeSender(
  provider: CryptoProvider,
  options: HpkeSenderOptions,
): Promise<HpkeSender> {
  checkSenderOptions(options);
  const ephemeral = await generateHpkeKeyPair(provider);
  try {
    return await setupSenderWithEphemeral(provider, options, ephemeral);
  } finally {
    wipe(ephemeral.privateKey);
  }
}

/**
 * SetupBaseR, or SetupAuthR when `senderPublicKey` is given. A low-order `enc` or sender key is
 * `DecryptionFailed`, like every other failure to open.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, setupHpkeRecipient, setupHpkeSender } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const { enc } = await setupHpkeSender(provider, { aead: 'export-only', recipientPublicKey: recipient.publicKey });
 * const context = await setupHpkeRecipient(provider, {
 *   aead: 'export-only',
 *   enc,
 *   recipientPrivateKey: recipient.privateKey,
 * });
 * const secret = await context.export(new TextEncoder().encode('example'), 32);
 * ```
 */
export async function setupHpkeRecipient(
  provider: CryptoProvider,
  options: HpkeRecipientOptions,
): Promise<HpkeRecipientContext> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const aead = checkHpkeAead(options.aead, 'aead');
  const enc = checkBytes(options.enc, 'enc', X25519_KEY_LENGTH);
  const recipientPrivateKey = checkBytes(
    options.recipientPrivateKey,
    'recipientPrivateKey',
    X25519_KEY_LENGTH,
  );
  const info = options.info === undefined ? EMPTY : checkBytes(options.info, 'info');
  const senderPublicKey =
    options.senderPublicKey === undefined
      ? undefined
      : checkBytes(options.senderPublicKey, 'senderPublicKey', X25519_KEY_LENGTH);
  const sharedSecret = await decap(provider, enc, recipientPrivateKey, senderPublicKey);
  try {
    const mode = senderPublicKey === undefined ? HPKE_MODE_BASE : HPKE_MODE_AUTH;
    const secrets = await keySchedule(provider, aead, mode, sharedSecret, info);
    return createRecipientContext(provider, aead, secrets);
  } finally {
    wipe(sharedSecret);
  }
}
