/**
 * A bounded memory of sender certificates whose tenant signature an auditor has verified, so that
 * opening a large archive checks each distinct certificate's signature once instead of once per
 * seal (`spec/compliance-seal.md` §4). Sound because a certificate's tenant signature depends only
 * on the tenant key and the certificate's exact bytes, both part of the key; what depends on the
 * seal (the expiry at its `sentAt`, the sender it names, the tenant asked for, the sender's own
 * signature) is still checked for every seal.
 *
 * @module
 */
import { toHex } from '../bytes.js';
import { encodeSenderCertificate, type SenderCertificate } from '../envelope/index.js';
import { ValidationError } from '../errors.js';

/**
 * Default bound of an {@link ArchiveCertificateCache}: 4,096 certificates (a certificate is about
 * 200 bytes; a key about 500 characters).
 *
 * @example
 * ```ts
 * const cache = new ArchiveCertificateCache(DEFAULT_ARCHIVE_CERTIFICATE_CACHE);
 * ```
 */
export const DEFAULT_ARCHIVE_CERTIFICATE_CACHE = 4_096;

/**
 * Certificates whose tenant signature verified, keyed by the tenant key and the certificate's
 * encoding; the oldest is forgotten past the bound. Give one to `openArchived`,
 * `inspectArchived` or `verifyArchived` (`certificateCache`) for a run over many seals.
 *
 * @example
 * ```ts
 * import { ArchiveCertificateCache, inspectArchived } from '@cloister/crypto';
 * const certificateCache = new ArchiveCertificateCache();
 * for (const bytes of [sealed]) {
 *   const result = await inspectArchived(provider, {
 *     bytes,
 *     tenantPublicKey: tenant.publicKey,
 *     archivePrivateKey: archive.privateKey,
 *     certificateCache,
 *   });
 *   console.log(result.status);
 * }
 * ```
 */
export class ArchiveCertificateCache {
  readonly #max: number;
  readonly #keys = new Set<string>();

  /**
   * A cache of at most `max` certificates (1..1,000,000; default
   * {@link DEFAULT_ARCHIVE_CERTIFICATE_CACHE}).
   *
   * @example
   * ```ts
   * const cache = new ArchiveCertificateCache(10_000);
   * ```
   */
  constructor(max: number = DEFAULT_ARCHIVE_CERTIFICATE_CACHE) {
    if (!Number.isSafeInteger(max) || max < 1 || max > 1_000_000) {
      throw new ValidationError('max', 'an integer from 1 to 1,000,000');
    }
    this.#max = max;
  }

  /**
   * How many certificates are remembered.
   *
   * @example
   * ```ts
   * console.log(new ArchiveCertificateCache().size); // 0
   * ```
   */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Whether `certificate`'s signature under `tenantPublicKey` was recorded as verified.
   *
   * @example
   * ```ts
   * import { ArchiveCertificateCache, verifySenderCertificate } from '@cloister/crypto';
   * const cache = new ArchiveCertificateCache();
   * if (!cache.has(tenant.publicKey, certificate)) {
   *   await verifySenderCertificate(provider, certificate, { tenantPublicKey: tenant.publicKey, now: Date.now() });
   * }
   * ```
   */
  has(tenantPublicKey: Uint8Array, certificate: SenderCertificate): boolean {
    return this.#keys.has(keyOf(tenantPublicKey, certificate));
  }

  /**
   * Records that `certificate`'s signature verified under `tenantPublicKey` (call it only then).
   *
   * @example
   * ```ts
   * import { ArchiveCertificateCache, verifySenderCertificate } from '@cloister/crypto';
   * const cache = new ArchiveCertificateCache();
   * await verifySenderCertificate(provider, certificate, { tenantPublicKey: tenant.publicKey, now: Date.now() });
   * cache.add(tenant.publicKey, certificate);
   * ```
   */
  add(tenantPublicKey: Uint8Array, certificate: SenderCertificate): void {
    const key = keyOf(tenantPublicKey, certificate);
    if (this.#keys.has(key)) return;
    if (this.#keys.size >= this.#max) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    this.#keys.add(key);
  }
}

function keyOf(tenantPublicKey: Uint8Array, certificate: SenderCertificate): string {
  return `${toHex(tenantPublicKey)}:${toHex(encodeSenderCertificate(certificate))}`;
}
