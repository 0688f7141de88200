/**
 * The one place the auditor's tool asks `@cloister/crypto` what an archive seal is: valid (and
 * opened), forged (which check failed), bound to another delivery than the server recorded, or
 * not openable with this key (`spec/audit-tool.md` §3).
 *
 * @module
 */
import {
  type ArchiveBindings,
  type CryptoProvider,
  equalBytes,
  type OpenedArchive,
  openArchived,
  peekArchiveSeal,
  verifyArchived,
} from '@cloister/crypto';

/**
 * What {@link inspectSeal} found.
 *
 * @example
 * ```ts
 * const found: SealInspection = await inspectSeal(provider, { bytes, archivePrivateKey, tenantPublicKey });
 * ```
 */
export type SealInspection =
  | { readonly status: 'valid'; readonly archive: OpenedArchive }
  | { readonly status: 'misbound'; readonly archive: OpenedArchive }
  | {
      readonly status: 'forged';
      readonly reason: 'signature' | 'certificate' | 'sender' | 'tenant' | 'expired' | 'legacy';
      readonly bindings?: ArchiveBindings;
    }
  | { readonly status: 'undecryptable'; readonly bindings?: ArchiveBindings };

/**
 * Inspects one seal. Checks the sender's signature and certificate first (no archive key needed),
 * then opens it, then compares the delivery id the seal names with the one the server recorded.
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
  },
): Promise<SealInspection> {
  let bindings: ArchiveBindings | undefined;
  let version: number;
  try {
    const peeked = peekArchiveSeal(input.bytes);
    bindings = peeked.bindings;
    version = peeked.version;
  } catch {
    return { status: 'undecryptable' };
  }
  const known = bindings === undefined ? {} : { bindings };
  if (version === 1) return { status: 'forged', reason: 'legacy', ...known };
  const base = {
    bytes: input.bytes,
    tenantPublicKey: input.tenantPublicKey,
    ...(input.tenantId === undefined ? {} : { tenantId: input.tenantId }),
  };
  try {
    await verifyArchived(provider, base);
  } catch {
    return { status: 'forged', reason: 'signature', ...known };
  }
  let archive: OpenedArchive;
  try {
    archive = await openArchived(provider, { ...base, archivePrivateKey: input.archivePrivateKey });
  } catch {
    return { status: 'undecryptable', ...known };
  }
  if (input.deliveryId !== undefined && !equalBytes(input.deliveryId, archive.deliveryId)) {
    return { status: 'misbound', archive };
  }
  return { status: 'valid', archive };
}
