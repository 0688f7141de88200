/**
 * Single-shot HPKE (RFC 9180 section 6.1): seal one message to a public key, open it with the
 * private key. The wire is `enc` (32 bytes) and the AEAD ciphertext, kept apart here.
 */
import { checkBytes } from '../bytes.js';
import { ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import {
  type HpkeRecipientOptions,
  type HpkeSenderOptions,
  setupHpkeRecipient,
  setupHpkeSender,
} from './setup.js';

/**
 * The output of {@link sealHpke}: both parts must reach the recipient.
 *
 * @example
 * ```ts
 * const sealed: HpkeSealed = await sealHpke(provider, { aead: 'aes-256-gcm', recipientPublicKey: bob.publicKey, plaintext: utf8('hi') });
 * const wire = concatBytes(sealed.enc, sealed.ciphertext);
 * ```
 */
export interface HpkeSealed {
  /** The 32-byte encapsulated key. */
  readonly enc: Uint8Array;
  /** The AEAD ciphertext with its 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

function optionalAad(aad: Uint8Array | undefined): Uint8Array | undefined {
  return aad === undefined ? undefined : checkBytes(aad, 'aad');
}

/**
 * Seal(pkR, info, aad, pt) (mode base), or its mode auth form when `senderKeyPair` is given.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, openHpke, sealHpke, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const { enc, ciphertext } = await sealHpke(provider, {
 *   aead: 'aes-256-gcm',
 *   recipientPublicKey: recipient.publicKey,
 *   plaintext: utf8('hello'),
 * });
 * const plaintext = await openHpke(provider, {
 *   aead: 'aes-256-gcm',
 *   enc,
 *   recipientPrivateKey: recipient.privateKey,
 *   ciphertext,
 * });
 * ```
 */
export async function sealHpke(
  provider: CryptoProvider,
  options: HpkeSenderOptions & { readonly plaintext: Uint8Array; readonly aad?: Uint8Array },
): Promise<HpkeSealed> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const plaintext = checkBytes(options.plaintext, 'plaintext');
  const aad = optionalAad(options.aad);
  const { enc, context } = await setupHpkeSender(provider, options);
  try {
    return { enc, ciphertext: await context.seal(plaintext, aad) };
  } finally {
    context.destroy();
  }
}

/**
 * Open(enc, skR, info, aad, ct) (mode base), or its mode auth form when `senderPublicKey` is
 * given. Every failure to open (wrong key, altered bytes, low-order `enc`) is `DecryptionFailed`.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, openHpke, sealHpke, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const recipient = await generateHpkeKeyPair(provider);
 * const sealed = await sealHpke(provider, {
 *   aead: 'chacha20-poly1305',
 *   recipientPublicKey: recipient.publicKey,
 *   plaintext: utf8('hello'),
 * });
 * const plaintext = await openHpke(provider, {
 *   aead: 'chacha20-poly1305',
 *   recipientPrivateKey: recipient.privateKey,
 *   ...sealed,
 * });
 * ```
 */
export async function openHpke(
  provider: CryptoProvider,
  options: HpkeRecipientOptions & { readonly ciphertext: Uint8Array; readonly aad?: Uint8Array },
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const ciphertext = checkBytes(options.ciphertext, 'ciphertext');
  const aad = optionalAad(options.aad);
  const context = await setupHpkeRecipient(provider, options);
  try {
    return await context.open(ciphertext, aad);
  } finally {
    context.destroy();
  }
}
