/**
 * Auditor key files (`spec/audit-tool.md` §1): each auditor's own X25519 key pair, to which the
 * archive key shares are wrapped. Two small JSON texts, like the admin key stores
 * (`key-store.ts`, `spec/admin-sdk.md` §5): the private one holds the 32-byte X25519 private key
 * wrapped under the auditor's passphrase with `@cloister/crypto`'s PIN wrapping (`wrapDataKey`:
 * scrypt, AES-256-GCM); the public one (handed to whoever runs the key ceremony) holds only the
 * holder's name and public key. A wrong passphrase or an altered record is `WrongPin`; a private
 * key that is not the stated public key's is `InvalidKeyError`; a malformed text is `DecodeError`.
 *
 * @module
 */
import {
  type CryptoProvider,
  DecodeError,
  equalBytes,
  InvalidKeyError,
  ValidationError,
  wipe,
} from '@cloister/crypto';
import { fromBase64Url, toBase64Url } from '../_base64url.js';
import { checkPassphrase, type KeyStoreOptions, parseStore, unwrapSecret, wrapSecret } from '../key-store.js';

/**
 * Format names of the auditor key texts.
 *
 * @example
 * ```ts
 * console.log(AUDITOR_KEY_FORMATS.private); // 'cloister-admin/auditor-key/v1'
 * ```
 */
export const AUDITOR_KEY_FORMATS = {
  private: 'cloister-admin/auditor-key/v1',
  public: 'cloister-admin/auditor-public-key/v1',
} as const;

/**
 * An opened auditor key file.
 *
 * @example
 * ```ts
 * const { holder, privateKey }: AuditorKey = await openAuditorKey(provider, text, passphrase);
 * ```
 */
export interface AuditorKey {
  /** The holder's name (1..255 characters), as the key set lists it. */
  readonly holder: string;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** X25519 private key (32 bytes): a secret; wipe it when done. */
  readonly privateKey: Uint8Array;
}

/**
 * An auditor's public key file, read.
 *
 * @example
 * ```ts
 * const { holder, publicKey }: AuditorPublicKey = readAuditorPublicKey(text);
 * ```
 */
export interface AuditorPublicKey {
  /** The holder's name. */
  readonly holder: string;
  /** X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
}

function checkHolder(holder: unknown): string {
  if (
    typeof holder !== 'string' ||
    holder.length === 0 ||
    holder.length > 255 ||
    [...holder].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')
  ) {
    throw new ValidationError('holder', 'a name of 1..255 characters without control characters');
  }
  return holder;
}

function publicPart(store: Record<string, unknown>): AuditorPublicKey {
  let holder: string;
  try {
    holder = checkHolder(store.holder);
  } catch {
    throw new DecodeError('auditorKey.holder', 'a holder name');
  }
  let publicKey: Uint8Array;
  try {
    publicKey = fromBase64Url(store.publicKey as string, 'publicKey');
  } catch {
    throw new DecodeError('auditorKey.publicKey', '32 bytes of base64url');
  }
  if (publicKey.length !== 32) throw new DecodeError('auditorKey.publicKey', '32 bytes of base64url');
  return { holder, publicKey };
}

/**
 * Makes an auditor key pair: the private key file's text (the key wrapped under `passphrase`, at
 * least 12 characters) and the public key file's text.
 *
 * @example
 * ```ts
 * const { privateText, publicText } = await generateAuditorKey(provider, { holder: 'auditor-1', passphrase });
 * ```
 */
export async function generateAuditorKey(
  provider: CryptoProvider,
  input: { readonly holder: string; readonly passphrase: string },
  options: KeyStoreOptions = {},
): Promise<{ privateText: string; publicText: string; publicKey: Uint8Array }> {
  const holder = checkHolder(input.holder);
  checkPassphrase(input.passphrase);
  const pair = await provider.x25519.generateKeyPair();
  try {
    const wrappedPrivateKey = await wrapSecret(provider, pair.privateKey, input.passphrase, options);
    const publicKey = toBase64Url(pair.publicKey);
    const privateText = `${JSON.stringify(
      {
        format: AUDITOR_KEY_FORMATS.private,
        holder,
        publicKey,
        wrappedPrivateKey,
      },
      null,
      2,
    )}\n`;
    const publicText = `${JSON.stringify({ format: AUDITOR_KEY_FORMATS.public, holder, publicKey }, null, 2)}\n`;
    return { privateText, publicText, publicKey: pair.publicKey };
  } finally {
    wipe(pair.privateKey);
  }
}

/**
 * Reads an auditor's public key file (or the public part of a private one).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const auditor1 = readAuditorPublicKey(readFileSync('auditor-1.pub.json', 'utf8'));
 * ```
 */
export function readAuditorPublicKey(text: string): AuditorPublicKey {
  let store: Record<string, unknown>;
  try {
    store = parseStore(text, AUDITOR_KEY_FORMATS.public, 'auditorKey');
  } catch {
    store = parseStore(text, AUDITOR_KEY_FORMATS.private, 'auditorKey');
  }
  return publicPart(store);
}

/**
 * Opens an auditor key file with its passphrase.
 *
 * @example
 * ```ts
 * const key = await openAuditorKey(provider, readKeyStoreFile('auditor-1.key.json'), passphrase);
 * ```
 */
export async function openAuditorKey(
  provider: CryptoProvider,
  text: string,
  passphrase: string,
): Promise<AuditorKey> {
  const store = parseStore(text, AUDITOR_KEY_FORMATS.private, 'auditorKey');
  const { holder, publicKey } = publicPart(store);
  const privateKey = await unwrapSecret(
    provider,
    store.wrappedPrivateKey,
    passphrase,
    'auditorKey.wrappedPrivateKey',
  );
  if (!equalBytes(await provider.x25519.publicKey(privateKey), publicKey)) {
    wipe(privateKey);
    throw new InvalidKeyError('auditorKey.publicKey', 'not the public key of the stored private key');
  }
  return { holder, publicKey, privateKey };
}
