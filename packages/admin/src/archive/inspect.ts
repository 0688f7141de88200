/**
 * The one place the auditor's tool asks `@cloister/crypto` what an archive seal is
 * (`inspectArchived`, versions 2 and 3): valid (and opened), forged (which check failed), bound to
 * another delivery than the server recorded (`misbound`), or not openable with this key
 * (`undecryptable`) (`spec/audit-tool.md` §3).
 *
 * @module
 */
import {
  type ArchiveCertificateCache,
  type ArchiveInspection,
  type CryptoProvider,
  inspectArchived,
} from '@cloister/crypto';

/**
 * What {@link inspectSeal} found: `inspectArchived`'s answer.
 *
 * @example
 * ```ts
 * const found: SealInspection = await inspectSeal(provider, { bytes, archivePrivateKey, tenantPublicKey });
 * ```
 */
export type SealInspection = ArchiveInspection;

/**
 * Inspects one seal: the sender's certificate and signature first (no archive key needed), then
 * the archive key, then the delivery id the server recorded. Malformed arguments (keys of the
 * wrong length) throw `ValidationError`; every problem of the seal itself is a status.
 *
 * @example
 * ```ts
 * const found = await inspectSeal(provider, { bytes, archivePrivateKey, tenantPublicKey, tenantId: 'acme', deliveryId });
 * if (found.status === 'valid') console.log(found.archive.contentType);
 * ```
 */
export async function inspectSeal(
  provider: CryptoProvider,
  input: {
    readonly bytes: Uint8Array;
    readonly archivePrivateKey: Uint8Array;
    readonly tenantPublicKey: Uint8Array;
    readonly tenantId?: string;
    readonly deliveryId?: Uint8Array;
    /** Certificates already verified (one per export run: each signature is checked once). */
    readonly certificateCache?: ArchiveCertificateCache;
  },
): Promise<SealInspection> {
  return inspectArchived(provider, input);
}
