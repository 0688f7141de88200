/**
 * The auditors' archive key, split k-of-n (R12): the tenant's X25519 archive key pair is made on
 * an auditor's machine, its private key is split with Shamir's secret sharing
 * (`shamir-secret-sharing`, audited) and each share is wrapped for one auditor, to the auditor's
 * X25519 public key (HPKE) or under a passphrase (scrypt and AES-256-GCM). Any `threshold` of
 * them, unwrapped and handed to one auditor (re-wrapped to that auditor), rebuild the key, which is
 * checked against the archive public key every share names. Ceremony and byte layout in
 * `spec/archive-keys.md`.
 *
 * @module
 */
import { combine, split } from 'shamir-secret-sharing';
import { checkBytes, checkInt, concatBytes, equalBytes, utf8, wipe } from '../bytes.js';
import { CloisterError, DecodeError, DecryptionFailed, UsageError, ValidationError } from '../errors.js';
import { openHpke, sealHpke } from '../hpke/single-shot.js';
import {
  normalizePin,
  PIN_SCRYPT_CEILING,
  PIN_SCRYPT_DEFAULT,
  PIN_SCRYPT_FLOOR,
  type PinScryptParams,
} from '../pin-wrap.js';
import type { CryptoProvider } from '../provider.js';

/**
 * The ASCII magic that starts every wrapped archive share; it names the format and its version.
 *
 * @example
 * ```ts
 * const isShare = (bytes: Uint8Array) =>
 *   equalBytes(bytes.subarray(0, ARCHIVE_SHARE_MAGIC.length), utf8(ARCHIVE_SHARE_MAGIC));
 * ```
 */
export const ARCHIVE_SHARE_MAGIC = 'cloister/archive-share/v1';
/**
 * HPKE `info` of a share wrapped to an auditor's key (ASCII).
 *
 * @example
 * ```ts
 * const info = utf8(ARCHIVE_SHARE_INFO_LABEL); // for an independent implementation or test vector
 * ```
 */
export const ARCHIVE_SHARE_INFO_LABEL = 'cloister/v1/compliance/archive-share';
/**
 * Prefix of the AEAD associated data of every wrapped share (ASCII). The share's header (magic to
 * holder) follows and, for a passphrase wrap, the scrypt cost, salt and nonce: every byte before
 * the HPKE `enc` or the ciphertext.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * // A passphrase-wrapped share ends with the 49-byte ciphertext (33-byte share and GCM tag).
 * const aad = concatBytes(utf8(ARCHIVE_SHARE_AAD_LABEL), wrapped.subarray(0, wrapped.length - 49));
 * ```
 */
export const ARCHIVE_SHARE_AAD_LABEL = 'cloister/v1/compliance/archive-share-wrap';
/**
 * Length of a share set id: 16 random bytes drawn when the key is split.
 *
 * @example
 * ```ts
 * const sameSet = (a: Uint8Array, b: Uint8Array) =>
 *   peekArchiveShare(a).setId.length === ARCHIVE_SHARE_SET_ID_LENGTH &&
 *   equalBytes(peekArchiveShare(a).setId, peekArchiveShare(b).setId);
 * ```
 */
export const ARCHIVE_SHARE_SET_ID_LENGTH = 16;
/**
 * Most shares one key is split into (and the highest threshold): 255.
 *
 * @example
 * ```ts
 * const splittable = (holders: readonly unknown[]) => holders.length >= 2 && holders.length <= ARCHIVE_SHARE_MAX_HOLDERS;
 * ```
 */
export const ARCHIVE_SHARE_MAX_HOLDERS = 255;

const MAGIC = utf8(ARCHIVE_SHARE_MAGIC);
const INFO = utf8(ARCHIVE_SHARE_INFO_LABEL);
const AAD_LABEL = utf8(ARCHIVE_SHARE_AAD_LABEL);
const FORMAT_VERSION = 1;
const WRAP_KEY = 0x01;
const WRAP_PASSPHRASE = 0x02;
/** A Shamir share of a 32-byte key: 32 bytes of y values and the x coordinate. */
const SHARE_LENGTH = 33;
const CIPHERTEXT_LENGTH = SHARE_LENGTH + 16;
const ENC_LENGTH = 32;
const SALT_LENGTH = 32;
const NONCE_LENGTH = 12;
const MAX_HOLDER_BYTES = 255;

/**
 * The tenant's archive key pair (X25519): the public key goes into the signed policy, the private
 * key only into shares.
 *
 * @example
 * ```ts
 * const keyPair: ArchiveKeyPair = await generateArchiveKey(provider);
 * console.log(toHex(keyPair.publicKey));
 * ```
 */
export interface ArchiveKeyPair {
  /** 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte X25519 private key. */
  readonly privateKey: Uint8Array;
}

/**
 * Whom a share is wrapped for: an auditor's 32-byte X25519 public key, or a passphrase (NFC, 1 to
 * 1024 UTF-8 bytes) with an optional scrypt cost (default `PIN_SCRYPT_DEFAULT`, bounded by
 * `PIN_SCRYPT_FLOOR` and `PIN_SCRYPT_CEILING`).
 *
 * @example
 * ```ts
 * const auditorKey = await provider.x25519.generateKeyPair(); // kept on the auditor's machine
 * const byKey: ShareRecipient = { publicKey: auditorKey.publicKey };
 * const byPassphrase: ShareRecipient = { passphrase: 'correct horse battery staple' };
 * ```
 */
export type ShareRecipient =
  | { readonly publicKey: Uint8Array }
  | { readonly passphrase: string; readonly scrypt?: PinScryptParams };

/**
 * One auditor and how their share is wrapped.
 *
 * @example
 * ```ts
 * const holder: ShareHolder = { holder: 'dpo@example.org', recipient: { passphrase: 'correct horse battery staple' } };
 * ```
 */
export interface ShareHolder {
  /** The auditor's id or e-mail address, 1 to 255 UTF-8 bytes, unique in the set. */
  readonly holder: string;
  /** Whom the share is wrapped for. */
  readonly recipient: ShareRecipient;
}

/**
 * What a wrapped share says about itself, readable without any secret (not authenticated until
 * it is unwrapped).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * const info: WrappedShareInfo = peekArchiveShare(wrapped);
 * console.log(`${info.holder}: share ${info.index} of ${info.total}, ${info.threshold} needed`);
 * ```
 */
export interface WrappedShareInfo {
  /** Format version: 1. */
  readonly version: number;
  /** The 16-byte id of the split the share belongs to. */
  readonly setId: Uint8Array;
  /** The auditor the share was made for. */
  readonly holder: string;
  /** The share's position in the set, 1 to `total`. */
  readonly index: number;
  /** How many shares rebuild the key (2 to `total`). */
  readonly threshold: number;
  /** How many shares the key was split into (2 to 255). */
  readonly total: number;
  /** The archive public key the shares rebuild the private key of. */
  readonly archivePublicKey: Uint8Array;
  /** `key` (HPKE to an X25519 public key) or `passphrase` (scrypt and AES-256-GCM). */
  readonly wrap: 'key' | 'passphrase';
}

/**
 * An unwrapped share, held in memory until it is combined or re-wrapped. Its bytes are not
 * exposed; {@link ArchiveShare.wipe} erases them.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * const share: ArchiveShare = await unwrapArchiveShare(provider, wrapped, { passphrase: 'correct horse battery staple' });
 * console.log(share.info.holder);
 * share.wipe();
 * ```
 */
export interface ArchiveShare {
  /** What the wrapped share said about itself, now authenticated. */
  readonly info: WrappedShareInfo;
  /**
   * Wipes the share bytes; the share can no longer be combined or re-wrapped.
   *
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * const wrapped = new Uint8Array(readFileSync('dpo.share'));
   * const share = await unwrapArchiveShare(provider, wrapped, { passphrase: 'correct horse battery staple' });
   * share.wipe();
   * ```
   */
  wipe(): void;
}

/**
 * The shares' archive key does not match the archive public key the shares name: a share is
 * corrupted or was substituted (anyone who knows an auditor's public key can wrap a share for
 * them). Its code is `ERR_DECRYPTION_FAILED`, like every failure to recover a key.
 *
 * @example
 * ```ts
 * const shares: ArchiveShare[] = []; // from unwrapArchiveShare
 * try {
 *   await combineArchiveShares(provider, shares);
 * } catch (e) {
 *   if (e instanceof ArchiveKeyMismatch) console.warn('a share is not genuine: combine other shares');
 * }
 * ```
 */
export class ArchiveKeyMismatch extends DecryptionFailed {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ArchiveKeyMismatch';

  constructor() {
    super();
    this.message = 'the shares do not rebuild the archive key: a share is corrupted or substituted';
  }
}

/** The share bytes of each live {@link ArchiveShare}. */
const SHARE_BYTES = new WeakMap<ArchiveShare, Uint8Array>();

function makeShare(info: WrappedShareInfo, bytes: Uint8Array): ArchiveShare {
  const share: ArchiveShare = Object.freeze({
    info,
    wipe(): void {
      const held = SHARE_BYTES.get(share);
      if (held !== undefined) wipe(held);
      SHARE_BYTES.delete(share);
    },
  });
  SHARE_BYTES.set(share, bytes);
  return share;
}

function shareBytes(share: unknown, field: string): Uint8Array {
  const bytes =
    typeof share === 'object' && share !== null ? SHARE_BYTES.get(share as ArchiveShare) : undefined;
  if (bytes === undefined) {
    if (typeof share === 'object' && share !== null && 'info' in share) {
      throw new UsageError(`${field}: the share was wiped`);
    }
    throw new ValidationError(field, 'an ArchiveShare from unwrapArchiveShare');
  }
  return bytes;
}

function checkHolder(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(field, 'a non-empty string');
  const bytes = utf8(value);
  if (new TextDecoder().decode(bytes) !== value) throw new ValidationError(field, 'a well-formed string');
  if (bytes.length > MAX_HOLDER_BYTES)
    throw new ValidationError(field, `at most ${MAX_HOLDER_BYTES} UTF-8 bytes`);
  return bytes;
}

function scryptProblem(N: number, r: number, p: number): string | undefined {
  const ok =
    Number.isSafeInteger(N) &&
    Number.isSafeInteger(r) &&
    Number.isSafeInteger(p) &&
    (N & (N - 1)) === 0 &&
    N >= PIN_SCRYPT_FLOOR.N &&
    N <= PIN_SCRYPT_CEILING.N &&
    r >= PIN_SCRYPT_FLOOR.r &&
    r <= PIN_SCRYPT_CEILING.r &&
    p >= PIN_SCRYPT_FLOOR.p &&
    p <= PIN_SCRYPT_CEILING.p &&
    128 * N * r <= PIN_SCRYPT_CEILING.memoryBytes;
  return ok ? undefined : 'a scrypt cost between PIN_SCRYPT_FLOOR and PIN_SCRYPT_CEILING';
}

/** A validated recipient. */
type Recipient =
  | { readonly kind: 'key'; readonly publicKey: Uint8Array }
  | { readonly kind: 'passphrase'; readonly passphrase: string; readonly scrypt: PinScryptParams };

function checkRecipient(value: unknown, field: string): Recipient {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'a ShareRecipient');
  const r = value as Record<string, unknown>;
  if ('publicKey' in r) {
    if ('passphrase' in r) throw new ValidationError(field, 'either a public key or a passphrase');
    return { kind: 'key', publicKey: checkBytes(r.publicKey, `${field}.publicKey`, 32) };
  }
  if (!('passphrase' in r)) throw new ValidationError(field, 'a public key or a passphrase');
  wipe(normalizePin(r.passphrase, `${field}.passphrase`));
  let scrypt = PIN_SCRYPT_DEFAULT;
  if (r.scrypt !== undefined) {
    const s = r.scrypt as Partial<PinScryptParams> | null;
    if (typeof s !== 'object' || s === null)
      throw new ValidationError(`${field}.scrypt`, 'an object {N, r, p}');
    const problem = scryptProblem(s.N as number, s.r as number, s.p as number);
    if (problem !== undefined) throw new ValidationError(`${field}.scrypt`, problem);
    scrypt = { N: s.N as number, r: s.r as number, p: s.p as number };
  }
  return { kind: 'passphrase', passphrase: r.passphrase as string, scrypt };
}

/** `magic | version | wrap | setId | archivePublicKey | threshold | total | index | u8 len, holder`. */
function encodeHeader(info: WrappedShareInfo, wrap: number): Uint8Array {
  const holder = utf8(info.holder);
  return concatBytes(
    MAGIC,
    Uint8Array.of(FORMAT_VERSION, wrap),
    info.setId,
    info.archivePublicKey,
    Uint8Array.of(info.threshold, info.total, info.index, holder.length),
    holder,
  );
}

/** Wraps a 33-byte share for `to`; randomness: HPKE ephemeral key, or salt then nonce. */
async function wrapShare(
  provider: CryptoProvider,
  info: WrappedShareInfo,
  share: Uint8Array,
  to: Recipient,
): Promise<Uint8Array> {
  if (to.kind === 'key') {
    // enc comes before the ciphertext but HPKE makes it with the ciphertext: the aad covers the
    // header only (enc is bound by the HPKE key schedule).
    const header = encodeHeader(info, WRAP_KEY);
    const { enc, ciphertext } = await sealHpke(provider, {
      aead: 'aes-256-gcm',
      recipientPublicKey: to.publicKey,
      info: INFO,
      aad: concatBytes(AAD_LABEL, header),
      plaintext: share,
    });
    return concatBytes(header, enc, ciphertext);
  }
  const salt = provider.randomBytes(SALT_LENGTH);
  const nonce = provider.randomBytes(NONCE_LENGTH);
  const prefix = concatBytes(
    encodeHeader(info, WRAP_PASSPHRASE),
    Uint8Array.of(Math.log2(to.scrypt.N), to.scrypt.r, to.scrypt.p),
    salt,
    nonce,
  );
  const passphrase = normalizePin(to.passphrase, 'passphrase');
  const key = await provider.scrypt(passphrase, salt, { ...to.scrypt, dkLen: 32 });
  wipe(passphrase);
  try {
    return concatBytes(
      prefix,
      await provider.aes256gcm.encrypt(key, nonce, share, concatBytes(AAD_LABEL, prefix)),
    );
  } finally {
    wipe(key);
  }
}

interface ParsedShare {
  readonly info: WrappedShareInfo;
  /** Key wrap: the header. Passphrase wrap: header, scrypt cost, salt and nonce. */
  readonly aadBody: Uint8Array;
  readonly enc?: Uint8Array;
  readonly kdf?: { readonly scrypt: PinScryptParams; readonly salt: Uint8Array; readonly nonce: Uint8Array };
  readonly ciphertext: Uint8Array;
}

function parseShare(input: Uint8Array): ParsedShare {
  let o = 0;
  const take = (n: number, path: string): Uint8Array => {
    if (input.length - o < n) throw new DecodeError(path, 'truncated');
    const out = input.slice(o, o + n);
    o += n;
    return out;
  };
  if (!equalBytes(take(MAGIC.length, 'share.magic'), MAGIC))
    throw new DecodeError('share.magic', 'not an archive share');
  const versionAndWrap = take(2, 'share.version');
  const version = versionAndWrap[0];
  const wrapId = versionAndWrap[1];
  if (version !== FORMAT_VERSION) throw new DecodeError('share.version', 'unsupported version');
  if (wrapId !== WRAP_KEY && wrapId !== WRAP_PASSPHRASE) throw new DecodeError('share.wrap', 'unknown wrap');
  const setId = take(ARCHIVE_SHARE_SET_ID_LENGTH, 'share.setId');
  const archivePublicKey = take(32, 'share.archivePublicKey');
  const counts = take(4, 'share.threshold');
  const threshold = counts[0] as number;
  const total = counts[1] as number;
  const index = counts[2] as number;
  const holderBytes = take(counts[3] as number, 'share.holder');
  if (total < 2) throw new DecodeError('share.total', 'below 2');
  if (threshold < 2 || threshold > total) throw new DecodeError('share.threshold', 'not in [2, total]');
  if (index < 1 || index > total) throw new DecodeError('share.index', 'not in [1, total]');
  if (holderBytes.length === 0) throw new DecodeError('share.holder', 'empty');
  let holder: string;
  try {
    holder = new TextDecoder('utf-8', { fatal: true }).decode(holderBytes);
  } catch {
    throw new DecodeError('share.holder', 'not UTF-8');
  }
  const info: WrappedShareInfo = Object.freeze({
    version: FORMAT_VERSION,
    setId,
    holder,
    index,
    threshold,
    total,
    archivePublicKey,
    wrap: wrapId === WRAP_KEY ? 'key' : 'passphrase',
  });
  let enc: Uint8Array | undefined;
  let kdf: ParsedShare['kdf'];
  let aadEnd = o;
  if (wrapId === WRAP_KEY) {
    enc = take(ENC_LENGTH, 'share.enc');
  } else {
    const cost = take(3, 'share.scrypt');
    const scrypt = { N: 2 ** (cost[0] as number), r: cost[1] as number, p: cost[2] as number };
    if (scryptProblem(scrypt.N, scrypt.r, scrypt.p) !== undefined) {
      throw new DecodeError('share.scrypt', 'cost outside [floor, ceiling]');
    }
    kdf = { scrypt, salt: take(SALT_LENGTH, 'share.salt'), nonce: take(NONCE_LENGTH, 'share.nonce') };
    aadEnd = o;
  }
  const ciphertext = take(CIPHERTEXT_LENGTH, 'share.ciphertext');
  if (o !== input.length) throw new DecodeError('share', 'trailing bytes');
  return {
    info,
    aadBody: input.slice(0, aadEnd),
    ciphertext,
    ...(enc === undefined ? {} : { enc }),
    ...(kdf === undefined ? {} : { kdf }),
  };
}

/**
 * A new archive key pair (X25519) from the provider's random source. Make it on an auditor's
 * machine during the ceremony, split it at once with {@link splitArchiveKey} and wipe the private
 * key; only the public key leaves the machine (into the signed policy).
 *
 * @example
 * ```ts
 * import { generateArchiveKey } from '@cloister/crypto';
 * const keyPair = await generateArchiveKey(provider);
 * ```
 */
export function generateArchiveKey(provider: CryptoProvider): Promise<ArchiveKeyPair> {
  return provider.x25519.generateKeyPair();
}

/**
 * Splits the archive private key into one share per holder, any `threshold` of which rebuild it
 * (Shamir's secret sharing over GF(2^8), `shamir-secret-sharing`), and wraps each share for its
 * holder: HPKE to the holder's public key or scrypt and AES-256-GCM under a passphrase, with the
 * set id, holder, index, threshold, total and archive public key authenticated. Returns the
 * wrapped shares in the order of `holders` (share `i` has index `i + 1`); the caller wipes the
 * private key. Randomness: the set id (16 bytes) from the provider, the Shamir coefficients from
 * the library's own CSPRNG (`crypto.getRandomValues` / `node:crypto`), then each wrap from the
 * provider. Throws `ValidationError` naming the field for a key pair whose public key is not the
 * private key's, a threshold outside [2, holders], fewer than 2 or more than 255 holders, an
 * empty, long or repeated holder name, or a bad recipient.
 *
 * @example
 * ```ts
 * import { generateArchiveKey, splitArchiveKey } from '@cloister/crypto';
 * const keyPair = await generateArchiveKey(provider);
 * const [dpo, audit] = [await provider.x25519.generateKeyPair(), await provider.x25519.generateKeyPair()];
 * const wrapped = await splitArchiveKey(provider, {
 *   keyPair,
 *   threshold: 2,
 *   holders: [
 *     { holder: 'dpo@example.org', recipient: { publicKey: dpo.publicKey } },
 *     { holder: 'audit@example.org', recipient: { publicKey: audit.publicKey } },
 *     { holder: 'ciso@example.org', recipient: { passphrase: 'correct horse battery staple' } },
 *   ],
 * });
 * ```
 */
export async function splitArchiveKey(
  provider: CryptoProvider,
  options: {
    readonly keyPair: ArchiveKeyPair;
    readonly threshold: number;
    readonly holders: readonly ShareHolder[];
  },
): Promise<readonly Uint8Array[]> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if (typeof options.keyPair !== 'object' || options.keyPair === null) {
    throw new ValidationError('keyPair', 'an ArchiveKeyPair');
  }
  const privateKey = checkBytes(options.keyPair.privateKey, 'keyPair.privateKey', 32);
  const publicKey = checkBytes(options.keyPair.publicKey, 'keyPair.publicKey', 32);
  if (
    !Array.isArray(options.holders) ||
    options.holders.length < 2 ||
    options.holders.length > ARCHIVE_SHARE_MAX_HOLDERS
  ) {
    throw new ValidationError('holders', `an array of 2 to ${ARCHIVE_SHARE_MAX_HOLDERS} holders`);
  }
  const total = options.holders.length;
  const threshold = checkInt(options.threshold, 'threshold', 2, total);
  const seen = new Set<string>();
  const holders = options.holders.map((h: unknown, i) => {
    if (typeof h !== 'object' || h === null) throw new ValidationError(`holders[${i}]`, 'a ShareHolder');
    const { holder, recipient } = h as ShareHolder;
    checkHolder(holder, `holders[${i}].holder`);
    if (seen.has(holder)) throw new ValidationError(`holders[${i}].holder`, 'a holder named once');
    seen.add(holder);
    return { holder, recipient: checkRecipient(recipient, `holders[${i}].recipient`) };
  });
  if (!equalBytes(await provider.x25519.publicKey(privateKey), publicKey)) {
    throw new ValidationError('keyPair.publicKey', "the private key's public key");
  }
  const setId = provider.randomBytes(ARCHIVE_SHARE_SET_ID_LENGTH);
  // The library wants plain Uint8Arrays (not Buffers): give it a copy, wiped at once.
  const secret = new Uint8Array(privateKey);
  let shares: Uint8Array[];
  try {
    shares = await split(secret, total, threshold);
  } finally {
    wipe(secret);
  }
  try {
    const out: Uint8Array[] = [];
    for (const [i, h] of holders.entries()) {
      const info: WrappedShareInfo = Object.freeze({
        version: FORMAT_VERSION,
        setId,
        holder: h.holder,
        index: i + 1,
        threshold,
        total,
        archivePublicKey: publicKey.slice(),
        wrap: h.recipient.kind,
      });
      out.push(await wrapShare(provider, info, shares[i] as Uint8Array, h.recipient));
    }
    return out;
  } finally {
    wipe(...shares);
  }
}

/**
 * Reads what a wrapped share says about itself (set, holder, index, threshold, total, archive
 * public key, wrap) without any secret; nothing is authenticated until it is unwrapped. Throws
 * `DecodeError` naming the field for a wrong magic or version, an unknown wrap, a threshold or
 * index out of range, a malformed holder, a scrypt cost outside [floor, ceiling], truncation or
 * trailing bytes; `ValidationError` when `wrapped` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * const { holder, index, total, wrap } = peekArchiveShare(wrapped);
 * ```
 */
export function peekArchiveShare(wrapped: Uint8Array): WrappedShareInfo {
  return parseShare(checkBytes(wrapped, 'wrapped')).info;
}

/**
 * Unwraps a share with the holder's X25519 private key or passphrase (whichever it was wrapped
 * for). Throws `DecodeError` for bytes that are not a wrapped share, `ValidationError` for a
 * secret of the other kind, and `DecryptionFailed` for a wrong key or passphrase or any altered
 * byte (a share moved to another set, holder, index or archive key included).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { unwrapArchiveShare } from '@cloister/crypto';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * const share = await unwrapArchiveShare(provider, wrapped, { passphrase: 'correct horse battery staple' });
 * ```
 */
export async function unwrapArchiveShare(
  provider: CryptoProvider,
  wrapped: Uint8Array,
  secret: { readonly privateKey: Uint8Array } | { readonly passphrase: string },
): Promise<ArchiveShare> {
  const parsed = parseShare(checkBytes(wrapped, 'wrapped'));
  if (typeof secret !== 'object' || secret === null)
    throw new ValidationError('secret', 'a private key or a passphrase');
  const aad = concatBytes(AAD_LABEL, parsed.aadBody);
  let plaintext: Uint8Array;
  try {
    if (parsed.enc !== undefined) {
      if (!('privateKey' in secret))
        throw new ValidationError('secret', 'the private key the share is wrapped to');
      const privateKey = checkBytes(secret.privateKey, 'secret.privateKey', 32);
      plaintext = await openHpke(provider, {
        aead: 'aes-256-gcm',
        enc: parsed.enc,
        recipientPrivateKey: privateKey,
        info: INFO,
        aad,
        ciphertext: parsed.ciphertext,
      });
    } else {
      const kdf = parsed.kdf as NonNullable<ParsedShare['kdf']>;
      if (!('passphrase' in secret))
        throw new ValidationError('secret', 'the passphrase the share is wrapped under');
      const passphrase = normalizePin(secret.passphrase, 'secret.passphrase');
      const key = await provider.scrypt(passphrase, kdf.salt, { ...kdf.scrypt, dkLen: 32 });
      wipe(passphrase);
      try {
        plaintext = await provider.aes256gcm.decrypt(key, kdf.nonce, parsed.ciphertext, aad);
      } finally {
        wipe(key);
      }
    }
  } catch (e) {
    if (e instanceof CloisterError && e.code !== 'ERR_VALIDATION') throw new DecryptionFailed();
    throw e;
  }
  if (plaintext.length !== SHARE_LENGTH || plaintext[SHARE_LENGTH - 1] === 0) {
    wipe(plaintext);
    throw new DecryptionFailed();
  }
  return makeShare(parsed.info, plaintext);
}

/**
 * Wraps an unwrapped share again, for another recipient (typically the auditor who will combine
 * the shares, or the same holder under a new passphrase). The share keeps its set, holder, index
 * and archive key. Randomness: the HPKE ephemeral key, or the salt (32 bytes) then the nonce (12
 * bytes). Throws `UsageError` for a wiped share and `ValidationError` for a bad recipient.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const wrapped = new Uint8Array(readFileSync('dpo.share')); // a wrapped share, kept in a file
 * const combiner = await provider.x25519.generateKeyPair(); // the combining auditor's key
 * const share = await unwrapArchiveShare(provider, wrapped, { passphrase: 'correct horse battery staple' });
 * const handOver = await rewrapArchiveShare(provider, share, { publicKey: combiner.publicKey });
 * share.wipe();
 * ```
 */
export async function rewrapArchiveShare(
  provider: CryptoProvider,
  share: ArchiveShare,
  to: ShareRecipient,
): Promise<Uint8Array> {
  const bytes = shareBytes(share, 'share');
  const recipient = checkRecipient(to, 'to');
  return wrapShare(provider, { ...share.info, wrap: recipient.kind }, bytes, recipient);
}

/**
 * Rebuilds the archive key pair from unwrapped shares of one set and checks it: the X25519 public
 * key of the combined private key must equal (constant time) the archive public key the shares
 * name. Throws `ValidationError` (field `shares`) for fewer shares than the threshold, shares of
 * different sets, or a repeated index; `UsageError` for a wiped share; {@link ArchiveKeyMismatch}
 * (`ERR_DECRYPTION_FAILED`) when the result is not the archive key (a corrupted or substituted
 * share). The caller wipes the returned private key when done; the shares stay live (wipe them).
 *
 * @example
 * ```ts
 * import { combineArchiveShares, unwrapArchiveShare } from '@cloister/crypto';
 * const combiner = await provider.x25519.generateKeyPair();
 * const handedOver: Uint8Array[] = []; // shares re-wrapped to the combiner by their holders
 * const shares = await Promise.all(handedOver.map((w) => unwrapArchiveShare(provider, w, { privateKey: combiner.privateKey })));
 * const archiveKey = await combineArchiveShares(provider, shares);
 * for (const s of shares) s.wipe();
 * ```
 */
export async function combineArchiveShares(
  provider: CryptoProvider,
  shares: readonly ArchiveShare[],
): Promise<ArchiveKeyPair> {
  if (!Array.isArray(shares) || shares.length === 0) throw new ValidationError('shares', 'a non-empty array');
  const bytes = shares.map((s, i) => shareBytes(s, `shares[${i}]`));
  const first = (shares[0] as ArchiveShare).info;
  const indexes = new Set<number>();
  for (const { info } of shares) {
    const sameSet =
      equalBytes(info.setId, first.setId) &&
      equalBytes(info.archivePublicKey, first.archivePublicKey) &&
      info.threshold === first.threshold &&
      info.total === first.total;
    if (!sameSet)
      throw new ValidationError(
        'shares',
        'shares of one set (same set id, archive key, threshold and total)',
      );
    if (indexes.has(info.index)) throw new ValidationError('shares', 'shares with distinct indexes');
    indexes.add(info.index);
  }
  if (shares.length < first.threshold)
    throw new ValidationError('shares', `at least ${first.threshold} shares (the threshold)`);
  // Shares of one set with distinct indexes have distinct x coordinates unless one is not genuine.
  const xs = new Set(bytes.map((b) => b[SHARE_LENGTH - 1]));
  if (xs.size !== bytes.length) throw new ArchiveKeyMismatch();
  const copies = bytes.map((b) => new Uint8Array(b));
  let privateKey: Uint8Array;
  try {
    privateKey = await combine(copies);
  } finally {
    wipe(...copies);
  }
  let publicKey: Uint8Array;
  try {
    publicKey = await provider.x25519.publicKey(privateKey);
  } catch (e) {
    wipe(privateKey);
    if (e instanceof CloisterError) throw new ArchiveKeyMismatch();
    throw e;
  }
  if (!equalBytes(publicKey, first.archivePublicKey)) {
    wipe(privateKey);
    throw new ArchiveKeyMismatch();
  }
  return { publicKey, privateKey };
}
