/**
 * The auditor's side of the compliance archive: {@link inspectArchived} tells apart why a seal is
 * not valid (auditors hold the archive key, so the reasons are no oracle for anyone else),
 * {@link openArchived} returns the content of a valid seal or the single `DecryptionFailed`, and
 * {@link verifyArchived} checks a seal without returning content. Versions 2 and 3; version 1 is
 * refused. See `spec/compliance-seal.md` §4 and §7.
 *
 * @module
 */
import { checkBytes, wipe } from '../bytes.js';
import { DecryptionFailed, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { ArchiveCertificateCache } from './certificate-cache.js';
import {
  ARCHIVE_MESSAGE_ID_LENGTH,
  type ArchiveBindings,
  inspectArchiveSealV2,
  type OpenArchivedOptions,
  type OpenedArchive,
  type VerifiedArchive,
  type VerifyArchivedOptions,
} from './seal.js';
import { ARCHIVE_SEAL_V3_VERSION, inspectArchiveSealV3 } from './seal-v3.js';

/**
 * What {@link inspectArchived} finds, for an auditor:
 * - `valid`: the seal opens and every check passes;
 * - `undecryptable`: not a seal, a seal for another archive key (version 3: another key id), or
 *   altered outer bytes or ciphertext;
 * - `forged`: the seal opens (or, for version 2, is readable) but its signed record fails a
 *   check: `certificate` (not signed by the tenant key), `expired` (at `sentAt`), `sender` (the
 *   certificate names another user or device than the record), `tenant` (another tenant than
 *   `tenantId`), `signature` (the sender's signature fails, the version-2 seal is unsigned, or
 *   the version-3 inner record does not parse: then there are no `bindings`), `legacy` (an
 *   unsigned version-1 seal). `bindings` are those the seal claims, **not authenticated**;
 * - `misbound`: a valid seal bound to another delivery than the expected one (`deliveryId`
 *   option) or, for version 3, than the one its outer header names.
 *
 * @example
 * ```ts
 * const inspection: ArchiveInspection = await inspectArchived(provider, {
 *   bytes: sealed,
 *   tenantPublicKey: tenant.publicKey,
 *   archivePrivateKey: archive.privateKey,
 * });
 * if (inspection.status === 'forged') console.warn(`forged seal (${inspection.reason})`);
 * ```
 */
export type ArchiveInspection =
  | { readonly status: 'valid'; readonly archive: OpenedArchive }
  | { readonly status: 'undecryptable' }
  | {
      readonly status: 'forged';
      readonly reason: 'signature' | 'certificate' | 'sender' | 'tenant' | 'expired' | 'legacy';
      readonly bindings?: ArchiveBindings;
    }
  | { readonly status: 'misbound'; readonly reason: 'delivery'; readonly archive: OpenedArchive };

interface Checked {
  readonly bytes: Uint8Array;
  readonly tenantPublicKey: Uint8Array;
  readonly tenantId: string | undefined;
  readonly deliveryId: Uint8Array | undefined;
  readonly archivePrivateKey: Uint8Array | undefined;
  readonly certificateCache: ArchiveCertificateCache | undefined;
}

function checkOptions(options: VerifyArchivedOptions): Checked {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const bytes = checkBytes(options.bytes, 'bytes');
  const tenantPublicKey = checkBytes(options.tenantPublicKey, 'tenantPublicKey', 32);
  const deliveryId =
    options.deliveryId === undefined
      ? undefined
      : checkBytes(options.deliveryId, 'deliveryId', ARCHIVE_MESSAGE_ID_LENGTH);
  if (options.tenantId !== undefined && typeof options.tenantId !== 'string') {
    throw new ValidationError('tenantId', 'a string');
  }
  const archivePrivateKey =
    options.archivePrivateKey === undefined
      ? undefined
      : checkBytes(options.archivePrivateKey, 'archivePrivateKey', 32);
  const certificateCache = options.certificateCache;
  if (certificateCache !== undefined && !(certificateCache instanceof ArchiveCertificateCache)) {
    throw new ValidationError('certificateCache', 'an ArchiveCertificateCache');
  }
  return {
    bytes,
    tenantPublicKey,
    tenantId: options.tenantId,
    deliveryId,
    archivePrivateKey,
    certificateCache,
  };
}

function inspect(provider: CryptoProvider, c: Checked, decrypt: boolean): Promise<ArchiveInspection> {
  const key = decrypt ? c.archivePrivateKey : undefined;
  if (c.bytes[0] === ARCHIVE_SEAL_V3_VERSION) {
    if (c.archivePrivateKey === undefined) return Promise.resolve({ status: 'undecryptable' });
    return inspectArchiveSealV3(provider, c.bytes, c, c.archivePrivateKey);
  }
  return inspectArchiveSealV2(provider, c.bytes, c, key);
}

/**
 * Opens an archive seal (version 2 or 3) with the archive private key and says what it is:
 * `valid` with the content, or `undecryptable`, `forged` (with the reason) or `misbound` (see
 * {@link ArchiveInspection} for the order of the checks). Auditors use it to report on an archive;
 * it is not for code that answers a party who could submit seals (use {@link openArchived}, whose
 * failures are indistinguishable). Throws only `ValidationError` for malformed arguments.
 *
 * @example
 * ```ts
 * import { inspectArchived } from '@cloister/crypto';
 * const result = await inspectArchived(provider, {
 *   bytes: sealed,
 *   tenantPublicKey: tenant.publicKey,
 *   archivePrivateKey: archive.privateKey,
 *   deliveryId: new Uint8Array(16), // the delivery the archive recorded
 * });
 * if (result.status === 'valid') console.log(result.archive.contentType);
 * ```
 */
export async function inspectArchived(
  provider: CryptoProvider,
  options: OpenArchivedOptions,
): Promise<ArchiveInspection> {
  const checked = checkOptions(options);
  if (checked.archivePrivateKey === undefined) throw new ValidationError('archivePrivateKey', '32 bytes');
  return inspect(provider, checked, true);
}

/**
 * Verifies an archive seal and opens it with the archive private key (versions 2 and 3). Every
 * failure (a signature, certificate or binding that fails, another delivery, altered or truncated
 * bytes, the wrong key, a legacy version-1 seal) is the same `DecryptionFailed`; auditors who
 * want the reason use {@link inspectArchived}. The bindings of a version-3 seal of a 1:1 message
 * carry its `recipient`, signed with the rest of the record.
 *
 * @example
 * ```ts
 * import { openArchived } from '@cloister/crypto';
 * const { version, bindings, certificate, contentType, content } = await openArchived(provider, {
 *   archivePrivateKey: archive.privateKey,
 *   tenantPublicKey: tenant.publicKey,
 *   bytes: sealed,
 * });
 * const to = bindings.recipient ?? '(group)'; // version 3: the 1:1 recipient
 * ```
 */
export async function openArchived(
  provider: CryptoProvider,
  options: OpenArchivedOptions,
): Promise<OpenedArchive> {
  const checked = checkOptions(options);
  if (checked.archivePrivateKey === undefined) throw new ValidationError('archivePrivateKey', '32 bytes');
  const result = await inspect(provider, checked, true);
  if (result.status === 'valid') return result.archive;
  if (result.status === 'misbound') wipe(result.archive.content);
  throw new DecryptionFailed();
}

/**
 * Checks an archive seal without returning its content. A version-2 seal needs no archive key:
 * a complete signed seal; a sender certificate signed by `tenantPublicKey`, valid at the seal's
 * `sentAt`, for the seal's sender user and device (and tenant, when `tenantId` is given); the
 * sender's signature over the whole seal; and, when `deliveryId` is given, the bound delivery. A
 * version-3 seal keeps all of that inside the ciphertext: it is checked only when
 * `archivePrivateKey` is given, and refused otherwise. Every failure is the single
 * `DecryptionFailed`.
 *
 * @example
 * ```ts
 * const { bindings, certificate } = await verifyArchived(provider, { bytes: sealed, tenantPublicKey: tenant.publicKey });
 * ```
 */
export async function verifyArchived(
  provider: CryptoProvider,
  options: VerifyArchivedOptions,
): Promise<VerifiedArchive> {
  const checked = checkOptions(options);
  const result = await inspect(provider, checked, false);
  if (result.status === 'misbound') wipe(result.archive.content);
  if (result.status !== 'valid') throw new DecryptionFailed();
  const { version, bindings, deliveryId, certificate, content } = result.archive;
  wipe(content);
  return { version, bindings, deliveryId, certificate };
}
