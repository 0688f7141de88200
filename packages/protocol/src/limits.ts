/**
 * Documented limits of every decoder. Decoders reject input longer than its
 * `MAX_ENCODED_BYTES` entry before parsing it, and enforce `FIELD_LIMITS` on each
 * field; encoders enforce the same limits, so that what one side encodes the other decodes.
 * `spec/wire.md` lists the same numbers.
 *
 * @module
 */
import { ENVELOPE_MAX_BYTES, ENVELOPE_MAX_RECIPIENTS } from '@cloister/crypto';

/** Largest ciphertext a ratchet message or a static-v1 message carries: 256 KiB + 1 KiB. */
const MAX_CIPHERTEXT = 263_168;

/** Largest `Content` encoding; also bounds what an archive seal of one message carries. */
const MAX_CONTENT = 131_072;

/** Largest archive seal: a sealed `Content` (or file key) with the largest bindings, rounded up. */
const MAX_ARCHIVE_SEAL = MAX_CONTENT + 1_024;

/**
 * Field limits, in bytes for byte and string fields (UTF-8 bytes for strings) and in items for
 * repeated fields.
 *
 * @example
 * ```ts
 * import { FIELD_LIMITS } from '@cloister/protocol';
 * const draft = 'the text the user typed';
 * if (new TextEncoder().encode(draft).length > FIELD_LIMITS.textBytes) {
 *   // split the message or send it as a file
 * }
 * ```
 */
export const FIELD_LIMITS = Object.freeze({
  /** `Text.body`: 1 .. 65536 UTF-8 bytes. */
  textBytes: 65_536,
  /** `Receipt.message_ids`: 1 .. 256 ids. */
  receiptMessageIds: 256,
  /** Members in one group create, add or remove: 1 .. 1000. */
  groupMembers: 1_000,
  /** `GroupMember.user_id`: 1 .. 256 UTF-8 bytes. */
  userIdBytes: 256,
  /** `GroupCreate.name`: 0 .. 256 UTF-8 bytes. */
  groupNameBytes: 256,
  /** `FileReference.media_type`: 3 .. 255 ASCII bytes. */
  mediaTypeBytes: 255,
  /** `FileReference.locator`: 1 .. 512 ASCII bytes. */
  locatorBytes: 512,
  /** `FileReference.file_name`: 1 .. 255 UTF-8 bytes. */
  fileNameBytes: 255,
  /** `RatchetMessage.ciphertext` (16 ..) and `StaticV1Message.sealed` (65 ..): at most 263168 bytes. */
  ciphertextBytes: MAX_CIPHERTEXT,
  /** `PreKeyBundle.suites`: 1 .. 2 distinct known suites. */
  suites: 2,
  /**
   * `PreKeyBundle.suites` on the wire: at most 16 distinct entries. Suite numbers this version
   * does not know (from newer peers) are not rejected: they are kept in `unknownSuiteCodes`,
   * because the suite signature covers them, and never negotiated.
   */
  wireSuiteEntries: 16,
  /** `SignedGroupChange.change`: 33 .. 130048 bytes (larger changes are split). */
  groupChangeBytes: 130_048,
  /** `GroupKeyWrap.wrap`: 67 .. 130 bytes. */
  groupKeyWrapBytes: 130,
  /** `SealedDelivery.envelope`: at most `ENVELOPE_MAX_BYTES` of `@cloister/crypto` (1081540). */
  envelopeBytes: ENVELOPE_MAX_BYTES,
  /** `SealedDelivery.archive_seal`: at most 132096 bytes. */
  archiveSealBytes: MAX_ARCHIVE_SEAL,
  /** `SealedDeliveryBatch.deliveries`: 1 .. 1024 (`ENVELOPE_MAX_RECIPIENTS`). */
  batchDeliveries: ENVELOPE_MAX_RECIPIENTS,
});

/**
 * Largest encoding, in bytes, that each decoder accepts. Each bound is the largest valid
 * encoding of that message rounded up, so that no valid message is refused.
 *
 * @example
 * ```ts
 * import { MAX_ENCODED_BYTES } from '@cloister/protocol';
 * if (frame.length > MAX_ENCODED_BYTES.deviceMessage) throw new Error('frame too long'); // before parsing
 * ```
 */
export const MAX_ENCODED_BYTES = Object.freeze({
  /** `Content`: 128 KiB (the largest text takes 65614 bytes, the largest group change 130192). */
  content: MAX_CONTENT,
  /** `StaticV1Message`: ciphertext + 512 (the largest takes 263191 bytes). */
  staticV1Message: MAX_CIPHERTEXT + 512,
  /** `PublicIdentity`: 256 bytes (every identity takes 134). */
  publicIdentity: 256,
  /** `PreKeyBundle`: 4 KiB (the largest takes 1712 bytes). */
  preKeyBundle: 4_096,
  /** `RatchetHeader`: 64 bytes (the largest takes 46). */
  ratchetHeader: 64,
  /** `RatchetMessage`: ciphertext + 512 (the largest takes 263220 bytes). */
  ratchetMessage: MAX_CIPHERTEXT + 512,
  /** `InitialMessage`: ciphertext + 2 KiB (the largest takes 264504 bytes). */
  initialMessage: MAX_CIPHERTEXT + 2_048,
  /** `DeviceMessage`: ciphertext + 3 KiB (the largest takes 264512 bytes). */
  deviceMessage: MAX_CIPHERTEXT + 3_072,
  /** `SealedDelivery`: largest envelope + largest archive seal + 64 (the largest takes 1213662 bytes). */
  sealedDelivery: ENVELOPE_MAX_BYTES + MAX_ARCHIVE_SEAL + 64,
  /** `SealedDeliveryBatch`: 16 MiB; a sender splits larger fan-outs into several batches. */
  sealedDeliveryBatch: 16_777_216,
});

/**
 * Deepest nesting of messages in any Cloister schema: `DeviceMessage > InitialMessage >
 * RatchetMessage > RatchetHeader` and `Content > GroupManagement > GroupCreate > GroupMember`
 * are 4 levels. No schema is recursive, groups (the only recursive way to skip an unknown
 * field) are rejected, and unknown length-delimited fields are skipped without being parsed, so
 * no input can make a decoder nest deeper. A test checks the schemas against this number.
 *
 * @example
 * ```ts
 * import { MAX_NESTING_DEPTH } from '@cloister/protocol';
 * console.log(`Cloister messages nest at most ${MAX_NESTING_DEPTH} levels deep`);
 * ```
 */
export const MAX_NESTING_DEPTH = 4;
