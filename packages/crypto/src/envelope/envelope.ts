/**
 * Sealed envelopes (spec/envelope.md §3–§5): a small outer header the server routes by, and an
 * inner part sealed with HPKE (mode base, DHKEM-X25519, HKDF-SHA256, AES-256-GCM) holding the
 * sender certificate, the content type and the session message, padded with Padmé.
 */
import { checkBytes, checkInt, concatBytes, uintBE, utf8, wipe } from '../bytes.js';
import { CloisterError, DecodeError, DecryptionFailed, ValidationError } from '../errors.js';
import { padmeLength, padToBucket, unpad } from '../files/padding.js';
import { openHpke, sealHpke } from '../hpke/single-shot.js';
import type { CryptoProvider } from '../provider.js';
import { Reader } from './_reader.js';
import {
  CERTIFICATE_MAX_BYTES,
  decodeSenderCertificate,
  encodeSenderCertificate,
  type SenderCertificate,
  verifySenderCertificate,
} from './certificate.js';

/**
 * The envelope format version this code writes and reads (the first byte of an envelope).
 *
 * @example
 * ```ts
 * console.log(peekEnvelopeOuter(bytes).version === ENVELOPE_VERSION); // true for any envelope it accepts
 * ```
 */
export const ENVELOPE_VERSION = 1;
/**
 * Kind byte: the inner part is sealed to one device with HPKE ({@link sealEnvelope}).
 *
 * @example
 * ```ts
 * const single = peekEnvelopeOuter(bytes).kind === ENVELOPE_KIND_SINGLE;
 * ```
 */
export const ENVELOPE_KIND_SINGLE = 1;
/**
 * Kind byte: a shared content ciphertext plus an HPKE-wrapped content key for this device
 * ({@link sealEnvelopeForMany}).
 *
 * @example
 * ```ts
 * const shared = peekEnvelopeOuter(bytes).kind === ENVELOPE_KIND_SHARED;
 * ```
 */
export const ENVELOPE_KIND_SHARED = 2;
/**
 * Kind byte: a signed organisation object (a broadcast) shared like {@link ENVELOPE_KIND_SHARED}
 * but with no sender certificate: the object's own signature chain to the organisation root names
 * and authenticates the sender ({@link sealOrganisationEnvelopes}, spec/broadcast.md §3).
 *
 * @example
 * ```ts
 * const broadcast = peekEnvelopeOuter(bytes).kind === ENVELOPE_KIND_ORGANISATION;
 * ```
 */
export const ENVELOPE_KIND_ORGANISATION = 3;
/**
 * Shortest mailbox id in bytes: 16.
 *
 * @example
 * ```ts
 * const mailbox = provider.randomBytes(MAILBOX_MIN_BYTES);
 * ```
 */
export const MAILBOX_MIN_BYTES = 16;
/**
 * Longest mailbox id in bytes: 32.
 *
 * @example
 * ```ts
 * const mailbox = provider.randomBytes(MAILBOX_MAX_BYTES);
 * ```
 */
export const MAILBOX_MAX_BYTES = 32;
/**
 * Largest delivery token in bytes: 64.
 *
 * @example
 * ```ts
 * const tokenFits = recipient.deliveryToken.length <= DELIVERY_TOKEN_MAX_BYTES;
 * ```
 */
export const DELIVERY_TOKEN_MAX_BYTES = 64;
/**
 * Largest session message (`body`) in bytes: 1 MiB.
 *
 * @example
 * ```ts
 * const fitsInOneEnvelope = bytes.length <= ENVELOPE_MAX_BODY_BYTES; // else send it as a file
 * ```
 */
export const ENVELOPE_MAX_BODY_BYTES = 2 ** 20;
/**
 * Most recipients of one {@link sealEnvelopeForMany} call: 1024.
 *
 * @example
 * ```ts
 * for (let i = 0; i < recipients.length; i += ENVELOPE_MAX_RECIPIENTS) {
 *   const batch = recipients.slice(i, i + ENVELOPE_MAX_RECIPIENTS);
 *   await sealEnvelopeForMany(provider, { recipients: batch, certificate, contentType: 1, body: bytes });
 * }
 * ```
 */
export const ENVELOPE_MAX_RECIPIENTS = 1024;

const SEAL_INFO_LABEL = utf8('cloister/v1/envelope/seal');
const WRAP_INFO_LABEL = utf8('cloister/v1/envelope/key-wrap');
const CONTENT_AAD_LABEL = utf8('cloister/v1/envelope/content');
const CONTENT_DIGEST_LABEL = utf8('cloister/v1/envelope/content-digest');
const ORGANISATION_CONTENT_AAD_LABEL = utf8('cloister/v1/envelope/organisation-content');
const ENC_BYTES = 32;
const TAG_BYTES = 16;
const WRAPPED_KEY_BYTES = 32 + TAG_BYTES;
const CONTENT_NONCE = new Uint8Array(12);
const INNER_MAX_BYTES = padmeLength(1 + 2 + CERTIFICATE_MAX_BYTES + ENVELOPE_MAX_BODY_BYTES + 1);
const HEADER_MAX_BYTES = 4 + MAILBOX_MAX_BYTES + DELIVERY_TOKEN_MAX_BYTES;
/**
 * Largest envelope in bytes that {@link peekEnvelopeOuter} and {@link openEnvelope} accept.
 *
 * @example
 * ```ts
 * if (bytes.length > ENVELOPE_MAX_BYTES) throw new Error('request body too large');
 * ```
 */
export const ENVELOPE_MAX_BYTES =
  HEADER_MAX_BYTES + ENC_BYTES + WRAPPED_KEY_BYTES + INNER_MAX_BYTES + TAG_BYTES;

/**
 * The part of an envelope the server reads.
 *
 * @example
 * ```ts
 * const outer: EnvelopeOuter = peekEnvelopeOuter(bytes);
 * console.log(toHex(outer.mailbox), outer.sealedLength);
 * ```
 */
export interface EnvelopeOuter {
  /** The format version, {@link ENVELOPE_VERSION}. */
  readonly version: number;
  /** {@link ENVELOPE_KIND_SINGLE}, {@link ENVELOPE_KIND_SHARED} or {@link ENVELOPE_KIND_ORGANISATION}. */
  readonly kind: number;
  /** The recipient device's mailbox id, 16–32 bytes: where the server delivers it. */
  readonly mailbox: Uint8Array;
  /** The delivery token the sender presents for this mailbox, 0–64 bytes. */
  readonly deliveryToken: Uint8Array;
  /** Bytes after the header: what the server may count (a Padmé bucket plus fixed overhead). */
  readonly sealedLength: number;
}

/**
 * What an envelope carries besides its routing fields.
 *
 * @example
 * ```ts
 * const content: EnvelopeContent = { certificate, contentType: 1, body: bytes };
 * const sealed = await sealEnvelope(provider, { ...content, recipientPublicKey: recipient.publicKey, mailbox: recipient.mailbox, deliveryToken: recipient.deliveryToken });
 * ```
 */
export interface EnvelopeContent {
  /** The sender's certificate; only the recipient sees it. */
  readonly certificate: SenderCertificate;
  /** Content type, 0–255, visible only to the recipient. */
  readonly contentType: number;
  /** The session message, opaque here, at most {@link ENVELOPE_MAX_BODY_BYTES}. */
  readonly body: Uint8Array;
}

/**
 * One recipient device.
 *
 * @example
 * ```ts
 * const device: EnvelopeRecipient = {
 *   publicKey: bundle.identity.dhKey,
 *   mailbox: provider.randomBytes(MAILBOX_MIN_BYTES), // as the directory lists it
 *   deliveryToken: new Uint8Array(0),
 * };
 * ```
 */
export interface EnvelopeRecipient {
  /** The device's 32-byte X25519 identity (envelope) public key. */
  readonly publicKey: Uint8Array;
  /** The device's mailbox id, 16–32 bytes. */
  readonly mailbox: Uint8Array;
  /** The delivery token, 0–64 bytes. */
  readonly deliveryToken: Uint8Array;
}

function checkRecipient(r: EnvelopeRecipient, field: string): EnvelopeRecipient {
  if (typeof r !== 'object' || r === null) throw new ValidationError(field, 'an object');
  const publicKey = checkBytes(r.publicKey, `${field}.publicKey`, 32);
  const mailbox = checkBytes(r.mailbox, `${field}.mailbox`);
  if (mailbox.length < MAILBOX_MIN_BYTES || mailbox.length > MAILBOX_MAX_BYTES) {
    throw new ValidationError(`${field}.mailbox`, `${MAILBOX_MIN_BYTES} to ${MAILBOX_MAX_BYTES} bytes`);
  }
  const deliveryToken = checkBytes(r.deliveryToken, `${field}.deliveryToken`);
  if (deliveryToken.length > DELIVERY_TOKEN_MAX_BYTES) {
    throw new ValidationError(`${field}.deliveryToken`, `at most ${DELIVERY_TOKEN_MAX_BYTES} bytes`);
  }
  return { publicKey, mailbox, deliveryToken };
}

/** Checks the content and returns the padded inner plaintext. */
function encodeInner(content: EnvelopeContent): Uint8Array {
  const contentType = checkInt(content.contentType, 'contentType', 0, 255);
  const body = checkBytes(content.body, 'body');
  if (body.length > ENVELOPE_MAX_BODY_BYTES)
    throw new ValidationError('body', `at most ${ENVELOPE_MAX_BODY_BYTES} bytes`);
  const certificate = encodeSenderCertificate(content.certificate);
  const inner = concatBytes(uintBE(contentType, 1), uintBE(certificate.length, 2), certificate, body);
  const padded = padToBucket(inner);
  wipe(inner);
  return padded;
}

function outerHeader(kind: number, r: EnvelopeRecipient): Uint8Array {
  return concatBytes(
    uintBE(ENVELOPE_VERSION, 1),
    uintBE(kind, 1),
    uintBE(r.mailbox.length, 1),
    r.mailbox,
    uintBE(r.deliveryToken.length, 1),
    r.deliveryToken,
  );
}

function hpkeInfo(label: Uint8Array, kind: number, mailbox: Uint8Array): Uint8Array {
  return concatBytes(label, uintBE(ENVELOPE_VERSION, 1), uintBE(kind, 1), uintBE(mailbox.length, 1), mailbox);
}

function contentAad(kind: number = ENVELOPE_KIND_SHARED): Uint8Array {
  return concatBytes(
    kind === ENVELOPE_KIND_ORGANISATION ? ORGANISATION_CONTENT_AAD_LABEL : CONTENT_AAD_LABEL,
    uintBE(ENVELOPE_VERSION, 1),
  );
}

async function contentDigest(provider: CryptoProvider, ciphertext: Uint8Array): Promise<Uint8Array> {
  return provider.sha256(concatBytes(CONTENT_DIGEST_LABEL, ciphertext));
}

/**
 * Options of {@link sealEnvelope}.
 *
 * @example
 * ```ts
 * const options: SealEnvelopeOptions = {
 *   recipientPublicKey: recipient.publicKey,
 *   mailbox: recipient.mailbox,
 *   deliveryToken: recipient.deliveryToken,
 *   certificate,
 *   contentType: 1,
 *   body: bytes,
 * };
 * const envelope = await sealEnvelope(provider, options);
 * ```
 */
export interface SealEnvelopeOptions extends EnvelopeContent {
  /** The recipient device's 32-byte X25519 identity (envelope) public key. */
  readonly recipientPublicKey: Uint8Array;
  /** The recipient device's mailbox id, 16–32 bytes. */
  readonly mailbox: Uint8Array;
  /** The delivery token for that mailbox, 0–64 bytes. */
  readonly deliveryToken: Uint8Array;
}

/**
 * Seals one envelope to one device: header, HPKE `enc`, HPKE ciphertext of the padded inner part.
 *
 * @example
 * ```ts
 * const envelope = await sealEnvelope(provider, {
 *   recipientPublicKey: recipient.publicKey,
 *   mailbox: recipient.mailbox,
 *   deliveryToken: recipient.deliveryToken,
 *   certificate,
 *   contentType: 1,
 *   body: bytes, // the encoded session message
 * });
 * ```
 */
export async function sealEnvelope(
  provider: CryptoProvider,
  options: SealEnvelopeOptions,
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const recipient = checkRecipient(
    { publicKey: options.recipientPublicKey, mailbox: options.mailbox, deliveryToken: options.deliveryToken },
    'recipient',
  );
  const padded = encodeInner(options);
  const header = outerHeader(ENVELOPE_KIND_SINGLE, recipient);
  try {
    const { enc, ciphertext } = await sealHpke(provider, {
      aead: 'aes-256-gcm',
      recipientPublicKey: recipient.publicKey,
      info: hpkeInfo(SEAL_INFO_LABEL, ENVELOPE_KIND_SINGLE, recipient.mailbox),
      plaintext: padded,
      aad: header,
    });
    return concatBytes(header, enc, ciphertext);
  } finally {
    wipe(padded);
  }
}

/**
 * Options of {@link sealEnvelopeForMany}.
 *
 * @example
 * ```ts
 * const options: SealEnvelopeForManyOptions = { recipients, certificate, contentType: 1, body: bytes };
 * const envelopes = await sealEnvelopeForMany(provider, options);
 * ```
 */
export interface SealEnvelopeForManyOptions extends EnvelopeContent {
  /** The recipient devices, 1 to {@link ENVELOPE_MAX_RECIPIENTS}; one envelope each, in order. */
  readonly recipients: readonly EnvelopeRecipient[];
}

/**
 * Encrypts the padded inner part once under a fresh content key (AES-256-GCM) and wraps that key
 * for every recipient with HPKE. Returns one envelope per recipient, in order.
 *
 * @example
 * ```ts
 * const envelopes = await sealEnvelopeForMany(provider, {
 *   recipients,
 *   certificate,
 *   contentType: 1,
 *   body: bytes, // the encoded group message
 * });
 * // envelopes[i] goes to recipients[i].mailbox
 * ```
 */
export async function sealEnvelopeForMany(
  provider: CryptoProvider,
  options: SealEnvelopeForManyOptions,
): Promise<Uint8Array[]> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if (
    !Array.isArray(options.recipients) ||
    options.recipients.length < 1 ||
    options.recipients.length > ENVELOPE_MAX_RECIPIENTS
  ) {
    throw new ValidationError('recipients', `an array of 1 to ${ENVELOPE_MAX_RECIPIENTS} recipients`);
  }
  const recipients = options.recipients.map((r, i) => checkRecipient(r, `recipients[${i}]`));
  const padded = encodeInner(options);
  const key = provider.randomBytes(32);
  try {
    const content = await provider.aes256gcm.encrypt(key, CONTENT_NONCE, padded, contentAad());
    const digest = await contentDigest(provider, content);
    const out: Uint8Array[] = [];
    for (const recipient of recipients) {
      const header = outerHeader(ENVELOPE_KIND_SHARED, recipient);
      const { enc, ciphertext } = await sealHpke(provider, {
        aead: 'aes-256-gcm',
        recipientPublicKey: recipient.publicKey,
        info: hpkeInfo(WRAP_INFO_LABEL, ENVELOPE_KIND_SHARED, recipient.mailbox),
        plaintext: key,
        aad: concatBytes(header, digest),
      });
      out.push(concatBytes(header, enc, ciphertext, content));
    }
    return out;
  } finally {
    wipe(padded, key);
  }
}

interface ParsedEnvelope extends EnvelopeOuter {
  readonly header: Uint8Array;
  readonly sealed: Uint8Array;
}

function parseOuter(bytes: Uint8Array): ParsedEnvelope {
  checkBytes(bytes, 'bytes');
  if (bytes.length > ENVELOPE_MAX_BYTES) throw new DecodeError('envelope', 'too long');
  const r = new Reader(bytes, 'envelope');
  const version = r.uint(1, 'version');
  if (version !== ENVELOPE_VERSION) throw new DecodeError('envelope.version', 'unsupported');
  const kind = r.uint(1, 'kind');
  if (kind !== ENVELOPE_KIND_SINGLE && kind !== ENVELOPE_KIND_SHARED && kind !== ENVELOPE_KIND_ORGANISATION) {
    throw new DecodeError('envelope.kind', 'unsupported');
  }
  const mailboxLength = r.uint(1, 'mailbox.length');
  if (mailboxLength < MAILBOX_MIN_BYTES || mailboxLength > MAILBOX_MAX_BYTES) {
    throw new DecodeError('envelope.mailbox', 'bad length');
  }
  const mailbox = r.take(mailboxLength, 'mailbox');
  const tokenLength = r.uint(1, 'deliveryToken.length');
  if (tokenLength > DELIVERY_TOKEN_MAX_BYTES) throw new DecodeError('envelope.deliveryToken', 'too long');
  const deliveryToken = r.take(tokenLength, 'deliveryToken');
  const header = bytes.slice(0, bytes.length - r.remaining);
  const minimum = ENC_BYTES + TAG_BYTES + 1 + (kind === ENVELOPE_KIND_SINGLE ? 0 : WRAPPED_KEY_BYTES);
  if (r.remaining < minimum) throw new DecodeError('envelope.sealed', 'truncated');
  const sealed = r.rest();
  return { version, kind, mailbox, deliveryToken, sealedLength: sealed.length, header, sealed };
}

/**
 * Decodes only the outer header, as the server does. Throws `DecodeError` naming the field on a
 * wrong version or kind, out-of-range lengths, a truncated sealed part or an oversized envelope.
 *
 * @example
 * ```ts
 * const { mailbox, deliveryToken, sealedLength } = peekEnvelopeOuter(bytes);
 * ```
 */
export function peekEnvelopeOuter(bytes: Uint8Array): EnvelopeOuter {
  const { version, kind, mailbox, deliveryToken, sealedLength } = parseOuter(bytes);
  return { version, kind, mailbox, deliveryToken, sealedLength };
}

/**
 * Options of {@link openEnvelope}.
 *
 * @example
 * ```ts
 * const options: OpenEnvelopeOptions = {
 *   recipientPrivateKey: identity.dhKeyPair.privateKey,
 *   bytes,
 *   tenantPublicKey: tenant.publicKey,
 *   now: Date.now(),
 * };
 * const { certificate, contentType } = await openEnvelope(provider, options);
 * ```
 */
export interface OpenEnvelopeOptions {
  /** This device's 32-byte X25519 identity (envelope) private key. */
  readonly recipientPrivateKey: Uint8Array;
  /** The envelope as received. */
  readonly bytes: Uint8Array;
  /** The tenant's Ed25519 public key that must have signed the sender certificate. */
  readonly tenantPublicKey: Uint8Array;
  /** The current time in milliseconds since the epoch. */
  readonly now: number;
}

/**
 * What {@link openEnvelope} returns.
 *
 * @example
 * ```ts
 * const opened: OpenedEnvelope = await openEnvelope(provider, {
 *   recipientPrivateKey: identity.dhKeyPair.privateKey,
 *   bytes,
 *   tenantPublicKey: tenant.publicKey,
 *   now: Date.now(),
 * });
 * console.log(opened.certificate.userId, opened.contentType);
 * ```
 */
export interface OpenedEnvelope extends EnvelopeContent {
  /** The mailbox id from the envelope's header (authenticated by the HPKE seal). */
  readonly mailbox: Uint8Array;
}

async function openSealed(
  provider: CryptoProvider,
  parsed: ParsedEnvelope,
  recipientPrivateKey: Uint8Array,
): Promise<Uint8Array> {
  const enc = parsed.sealed.subarray(0, ENC_BYTES);
  if (parsed.kind === ENVELOPE_KIND_SINGLE) {
    return openHpke(provider, {
      aead: 'aes-256-gcm',
      enc,
      recipientPrivateKey,
      info: hpkeInfo(SEAL_INFO_LABEL, ENVELOPE_KIND_SINGLE, parsed.mailbox),
      ciphertext: parsed.sealed.subarray(ENC_BYTES),
      aad: parsed.header,
    });
  }
  const wrapped = parsed.sealed.subarray(ENC_BYTES, ENC_BYTES + WRAPPED_KEY_BYTES);
  const content = parsed.sealed.subarray(ENC_BYTES + WRAPPED_KEY_BYTES);
  const key = await openHpke(provider, {
    aead: 'aes-256-gcm',
    enc,
    recipientPrivateKey,
    info: hpkeInfo(WRAP_INFO_LABEL, parsed.kind, parsed.mailbox),
    ciphertext: wrapped,
    aad: concatBytes(parsed.header, await contentDigest(provider, content)),
  });
  try {
    return await provider.aes256gcm.decrypt(key, CONTENT_NONCE, content, contentAad(parsed.kind));
  } finally {
    wipe(key);
  }
}

function decodeInner(inner: Uint8Array): EnvelopeContent {
  const r = new Reader(inner, 'inner');
  const contentType = r.uint(1, 'contentType');
  const certificate = decodeSenderCertificate(r.take(r.uint(2, 'certificate.length'), 'certificate'));
  const body = r.rest();
  if (body.length > ENVELOPE_MAX_BODY_BYTES) throw new DecodeError('inner.body', 'too long');
  return { certificate, contentType, body };
}

/**
 * Opens an envelope and verifies its sender certificate against the tenant key and `now`. A
 * malformed outer header throws `DecodeError` (the server parses those bytes too, so this tells
 * an attacker nothing new); every other failure — altered bytes, wrong key, bad padding, a
 * malformed inner part, a certificate that is forged, from another tenant or expired — throws
 * `DecryptionFailed`. The caller must still check that the certificate's identity keys are the
 * identity the session authenticated (`verifySenderCertificate` with `expectedIdentity`).
 *
 * @example
 * ```ts
 * const { certificate, contentType, body } = await openEnvelope(provider, {
 *   recipientPrivateKey: identity.dhKeyPair.privateKey,
 *   bytes,
 *   tenantPublicKey: tenant.publicKey,
 *   now: Date.now(),
 * });
 * ```
 */
export async function openEnvelope(
  provider: CryptoProvider,
  options: OpenEnvelopeOptions,
): Promise<OpenedEnvelope> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const recipientPrivateKey = checkBytes(options.recipientPrivateKey, 'recipientPrivateKey', 32);
  const tenantPublicKey = checkBytes(options.tenantPublicKey, 'tenantPublicKey', 32);
  const now = checkInt(options.now, 'now', 0, Number.MAX_SAFE_INTEGER);
  const parsed = parseOuter(options.bytes);
  let padded: Uint8Array | undefined;
  let inner: Uint8Array | undefined;
  try {
    // An organisation envelope carries no sender certificate: it is opened only as one.
    if (parsed.kind === ENVELOPE_KIND_ORGANISATION) throw new DecryptionFailed();
    padded = await openSealed(provider, parsed, recipientPrivateKey);
    inner = unpad(padded);
    const content = decodeInner(inner);
    await verifySenderCertificate(provider, content.certificate, { tenantPublicKey, now });
    return { ...content, mailbox: parsed.mailbox };
  } catch (e) {
    if (e instanceof CloisterError) throw new DecryptionFailed();
    throw e;
  } finally {
    wipe(padded, inner);
  }
}

/**
 * Options of {@link sealOrganisationEnvelopes}.
 *
 * @example
 * ```ts
 * const options: SealOrganisationEnvelopesOptions = { recipients, object: bytes }; // bytes: a signed broadcast
 * const envelopes = await sealOrganisationEnvelopes(provider, options);
 * ```
 */
export interface SealOrganisationEnvelopesOptions {
  /** The recipient devices, 1 to {@link ENVELOPE_MAX_RECIPIENTS}; one envelope each, in order. */
  readonly recipients: readonly EnvelopeRecipient[];
  /** The signed organisation object, 1 to {@link ENVELOPE_MAX_BODY_BYTES} bytes, opaque here. */
  readonly object: Uint8Array;
}

/**
 * Seals a signed organisation object (a broadcast) to many devices (spec/broadcast.md §3): the
 * construction of {@link sealEnvelopeForMany} with kind {@link ENVELOPE_KIND_ORGANISATION}, the
 * padded object as the whole inner part (no content type, no sender certificate: the object's
 * signature names and authenticates its signer) and the content's associated data
 * `"cloister/v1/envelope/organisation-content" | u8(1)`. Returns one envelope per recipient.
 *
 * @example
 * ```ts
 * const envelopes = await sealOrganisationEnvelopes(provider, {
 *   recipients: recipients.map((r) => ({ ...r, deliveryToken: new Uint8Array(0) })),
 *   object: bytes, // the signed broadcast object
 * });
 * ```
 */
export async function sealOrganisationEnvelopes(
  provider: CryptoProvider,
  options: SealOrganisationEnvelopesOptions,
): Promise<Uint8Array[]> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if (
    !Array.isArray(options.recipients) ||
    options.recipients.length < 1 ||
    options.recipients.length > ENVELOPE_MAX_RECIPIENTS
  ) {
    throw new ValidationError('recipients', `an array of 1 to ${ENVELOPE_MAX_RECIPIENTS} recipients`);
  }
  const recipients = options.recipients.map((r, i) => checkRecipient(r, `recipients[${i}]`));
  const object = checkBytes(options.object, 'object');
  if (object.length < 1 || object.length > ENVELOPE_MAX_BODY_BYTES) {
    throw new ValidationError('object', `1 to ${ENVELOPE_MAX_BODY_BYTES} bytes`);
  }
  const padded = padToBucket(object);
  const key = provider.randomBytes(32);
  try {
    const content = await provider.aes256gcm.encrypt(
      key,
      CONTENT_NONCE,
      padded,
      contentAad(ENVELOPE_KIND_ORGANISATION),
    );
    const digest = await contentDigest(provider, content);
    const out: Uint8Array[] = [];
    for (const recipient of recipients) {
      const header = outerHeader(ENVELOPE_KIND_ORGANISATION, recipient);
      const { enc, ciphertext } = await sealHpke(provider, {
        aead: 'aes-256-gcm',
        recipientPublicKey: recipient.publicKey,
        info: hpkeInfo(WRAP_INFO_LABEL, ENVELOPE_KIND_ORGANISATION, recipient.mailbox),
        plaintext: key,
        aad: concatBytes(header, digest),
      });
      out.push(concatBytes(header, enc, ciphertext, content));
    }
    return out;
  } finally {
    wipe(padded, key);
  }
}

/**
 * Options of {@link openOrganisationEnvelope}.
 *
 * @example
 * ```ts
 * const options: OpenOrganisationEnvelopeOptions = { recipientPrivateKey: identity.dhKeyPair.privateKey, bytes };
 * const { object } = await openOrganisationEnvelope(provider, options);
 * ```
 */
export interface OpenOrganisationEnvelopeOptions {
  /** This device's 32-byte X25519 identity (envelope) private key. */
  readonly recipientPrivateKey: Uint8Array;
  /** The envelope as received. */
  readonly bytes: Uint8Array;
}

/**
 * What {@link openOrganisationEnvelope} returns.
 *
 * @example
 * ```ts
 * const opened: OpenedOrganisationEnvelope = await openOrganisationEnvelope(provider, {
 *   recipientPrivateKey: identity.dhKeyPair.privateKey,
 *   bytes,
 * });
 * console.log(opened.object.length);
 * ```
 */
export interface OpenedOrganisationEnvelope {
  /** The signed organisation object, still to be verified against the pinned root. */
  readonly object: Uint8Array;
  /** The mailbox id from the envelope's header (authenticated by the HPKE wrap). */
  readonly mailbox: Uint8Array;
}

/**
 * Opens an organisation envelope ({@link sealOrganisationEnvelopes}) and returns the object it
 * carries, which the caller must verify against the organisation root it pinned (nothing here
 * authenticates the sender). A malformed outer header is `DecodeError`; every other failure —
 * another kind, altered bytes, the wrong key, a wrap moved between envelopes, bad padding — is
 * `DecryptionFailed`.
 *
 * @example
 * ```ts
 * const { object, mailbox } = await openOrganisationEnvelope(provider, {
 *   recipientPrivateKey: identity.dhKeyPair.privateKey,
 *   bytes,
 * });
 * // verify `object` against the pinned root (verifyOrganisationObject of @cloister/protocol)
 * ```
 */
export async function openOrganisationEnvelope(
  provider: CryptoProvider,
  options: OpenOrganisationEnvelopeOptions,
): Promise<OpenedOrganisationEnvelope> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const recipientPrivateKey = checkBytes(options.recipientPrivateKey, 'recipientPrivateKey', 32);
  const parsed = parseOuter(options.bytes);
  let padded: Uint8Array | undefined;
  try {
    if (parsed.kind !== ENVELOPE_KIND_ORGANISATION) throw new DecryptionFailed();
    padded = await openSealed(provider, parsed, recipientPrivateKey);
    const object = unpad(padded).slice();
    if (object.length < 1 || object.length > ENVELOPE_MAX_BODY_BYTES) throw new DecryptionFailed();
    return { object, mailbox: parsed.mailbox };
  } catch (e) {
    if (e instanceof CloisterError) throw new DecryptionFailed();
    throw e;
  } finally {
    wipe(padded);
  }
}
