/**
 * Reading an archive seal without any key: the version, whether it is signed, the delivery id it
 * is bound to and, for version 3, the archive key id; for versions 1 and 2 also the bindings.
 * Nothing read here is authenticated. See `spec/compliance-seal.md` §5 and §7.
 *
 * @module
 */
import { checkBytes } from '../bytes.js';
import { DecodeError } from '../errors.js';
import { type ArchiveBindings, parseArchiveSealV2 } from './seal.js';
import { ARCHIVE_SEAL_V3_VERSION, parseArchiveSealV3 } from './seal-v3.js';

/**
 * What {@link peekArchiveSeal} reads without any key; nothing is authenticated.
 *
 * @example
 * ```ts
 * const peeked: PeekedArchiveSeal = peekArchiveSeal(sealed);
 * const fileable = peeked.version === ARCHIVE_SEAL_V3_VERSION && peeked.signed;
 * ```
 */
export interface PeekedArchiveSeal {
  /** 1 (legacy, refused everywhere), 2 or 3. */
  readonly version: number;
  /**
   * `true` for a complete version-2 seal and for every version-3 seal (whose signature is inside
   * the ciphertext), `false` for a legacy seal or an unsigned version-2 body.
   */
  readonly signed: boolean;
  /**
   * The bindings as written in a version-1 or version-2 seal (not authenticated); absent for
   * version 3, which carries them inside the ciphertext.
   */
  readonly bindings?: ArchiveBindings;
  /** The delivery id of a signed version-2 seal or of a version-3 seal (its outer header). */
  readonly deliveryId?: Uint8Array;
  /** The archive key id of a version-3 seal (`archiveKeyId` of the key it is sealed to). */
  readonly keyId?: Uint8Array;
}

/**
 * Reads the bindings of an archive seal (version 2, signed or not, or a legacy version-1 seal)
 * without opening it, for an auditor's local search index and the wire decoder. They are **not
 * authenticated** until `verifyArchived` succeeds. Throws `DecodeError` (`ERR_DECODE`, naming the
 * field) on malformed bytes and for a version-3 seal, which has no readable bindings.
 *
 * @example
 * ```ts
 * import { peekArchivedBindings } from '@cloister/crypto';
 * const { sender, sentAt } = peekArchivedBindings(sealed);
 * ```
 */
export function peekArchivedBindings(bytes: Uint8Array): ArchiveBindings {
  const { bindings } = peekArchiveSeal(bytes);
  if (bindings === undefined)
    throw new DecodeError('archive.bindings', 'a version-3 seal has no readable bindings');
  return bindings;
}

/**
 * Reads the version, whether the seal is signed and the delivery id, plus the bindings (versions
 * 1 and 2) or the archive key id (version 3), without any key and without verifying anything
 * (the server's filing check). Throws `DecodeError` naming the field on malformed bytes.
 *
 * @example
 * ```ts
 * const { version, signed, deliveryId, keyId } = peekArchiveSeal(sealed);
 * ```
 */
export function peekArchiveSeal(bytes: Uint8Array): PeekedArchiveSeal {
  const input = checkBytes(bytes, 'bytes');
  if (input[0] === ARCHIVE_SEAL_V3_VERSION) {
    const outer = parseArchiveSealV3(input);
    return {
      version: ARCHIVE_SEAL_V3_VERSION,
      signed: true,
      deliveryId: outer.deliveryId,
      keyId: outer.keyId,
    };
  }
  const parsed = parseArchiveSealV2(input, { unsigned: true, legacy: true });
  return {
    version: parsed.version,
    signed: parsed.signed !== undefined,
    bindings: parsed.bindings,
    ...(parsed.signed === undefined ? {} : { deliveryId: parsed.signed.deliveryId }),
  };
}
