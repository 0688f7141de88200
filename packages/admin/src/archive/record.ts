/**
 * What an auditor's tool makes of each archive item (`spec/audit-tool.md` §3): an
 * {@link ArchiveRecord} with a status, and for a seal that opens, the {@link ArchivedMessage} it
 * holds. Every field is JSON (ids as hex, keys as base64url), so a record is written as it is.
 *
 * @module
 */

/**
 * An opened message: who sent what, where and when, as the seal authenticates it.
 *
 * @example
 * ```ts
 * const line = `${message.sender.userId} ${new Date(message.sentAt).toISOString()} ${message.text ?? ''}`;
 * ```
 */
export interface ArchivedMessage {
  /** The message id (hex of 16 bytes); the same for every copy of one message. */
  readonly messageId: string;
  /** The conversation id (hex). */
  readonly conversationId: string;
  /** The sending user and device (the certificate's, checked against the seal). */
  readonly sender: { readonly userId: string; readonly deviceId: number };
  /**
   * The recipient user of a 1:1 message, as the sender signed it (version-3 seals); absent for a
   * group message (whose conversation id names the group) and for version-2 seals.
   */
  readonly recipient?: string;
  /** The sender's pools, from the sender certificate. */
  readonly senderPools: readonly string[];
  /** The tenant the certificate names. */
  readonly tenantId: string;
  /** Send time as the sender's client stated it (ms). */
  readonly sentAt: number;
  /** The delivery id the sender bound the seal to (hex). */
  readonly deliveryId: string;
  /** The seal format version. */
  readonly sealVersion: number;
  /** The sealed content's type (`application/x-cloister-content`, `cloister/file-key`, `text/plain`). */
  readonly contentType: string;
  /** `text`, `file`, `other` (a content kind with no text: receipt, group change, …) or `undecodable`. */
  readonly kind: 'text' | 'file' | 'other' | 'undecodable';
  /** The text body, for `text`. */
  readonly text?: string;
  /** The attachment, for `file`: the key that decrypts the stored blob and what describes it. */
  readonly file?: ArchivedFile;
  /** The content body's type for `other` (such as `receipt`). */
  readonly bodyType?: string;
}

/**
 * An archived attachment reference.
 *
 * @example
 * ```ts
 * const key = Buffer.from(file.fileKey, 'base64url'); // decrypts the blob at file.locator
 * ```
 */
export interface ArchivedFile {
  /** The 32-byte file key (base64url): a secret that opens the stored blob. */
  readonly fileKey: string;
  /** SHA-256 of the encrypted blob (hex), when the content carried it. */
  readonly digest?: string;
  /** Plaintext size in bytes. */
  readonly size?: number;
  /** Media type. */
  readonly mediaType?: string;
  /** Where the encrypted blob is on the server. */
  readonly locator?: string;
  /** Suggested file name. */
  readonly fileName?: string;
}

/**
 * The fields every record of an item has.
 *
 * @example
 * ```ts
 * const where = (r: ArchiveItemRecordBase) => `${r.id} (seq ${r.seq ?? '-'}) filed ${new Date(r.receivedAt).toISOString()}`;
 * ```
 */
export interface ArchiveItemRecordBase {
  /** The item's id. */
  readonly id: string;
  /** The item's filing sequence number, or null. */
  readonly seq: number | null;
  /** When the server filed it (ms). */
  readonly receivedAt: number;
}

/**
 * What the seal claims about itself, read without any key: **not authenticated** (a forged seal
 * claims what its maker wanted).
 *
 * @example
 * ```ts
 * if (record.status === 'forged' && record.claimed) console.log('claims to be from', record.claimed.sender.userId);
 * ```
 */
export interface ClaimedBindings {
  /** Claimed message id (hex). */
  readonly messageId: string;
  /** Claimed conversation id (hex). */
  readonly conversationId: string;
  /** Claimed sender. */
  readonly sender: { readonly userId: string; readonly deviceId: number };
  /** Claimed send time (ms). */
  readonly sentAt: number;
}

/**
 * One record of an opened archive, told apart by `status` (how each is decided:
 * `spec/audit-tool.md` §3).
 *
 * @example
 * ```ts
 * switch (record.status) {
 *   case 'valid': console.log(record.message.text); break;
 *   case 'gap': console.warn(`items ${record.fromSeq}..${record.toSeq} are missing`); break;
 *   default: console.warn(record.status, record);
 * }
 * ```
 */
export type ArchiveRecord =
  | (ArchiveItemRecordBase & { readonly status: 'valid'; readonly message: ArchivedMessage })
  | (ArchiveItemRecordBase & {
      readonly status: 'moved';
      /** `delivery`: filed for another delivery than the seal names; `time`: filed before it was sent. */
      readonly reason: 'delivery' | 'time';
      /** The delivery id the server recorded (hex), or null. */
      readonly recordedDeliveryId: string | null;
      readonly message: ArchivedMessage;
    })
  | (ArchiveItemRecordBase & {
      readonly status: 'duplicate';
      /** The id of the earlier valid record with the same sender and message id. */
      readonly duplicateOf: string;
      readonly message: ArchivedMessage;
    })
  | (ArchiveItemRecordBase & {
      readonly status: 'forged';
      /** Which check failed. */
      readonly reason: 'signature' | 'certificate' | 'sender' | 'tenant' | 'expired' | 'legacy';
      /** What the seal claims (unauthenticated), when it parses. */
      readonly claimed?: ClaimedBindings;
    })
  | (ArchiveItemRecordBase & {
      readonly status: 'undecryptable';
      /** What the seal claims (unauthenticated), when it parses. */
      readonly claimed?: ClaimedBindings;
    })
  | {
      readonly status: 'gap';
      /** First missing sequence number. */
      readonly fromSeq: number;
      /** Last missing sequence number. */
      readonly toSeq: number;
      /** The filing time of the item after the gap (ms): where the gap sits in the order. */
      readonly receivedAt: number;
      /** The id of the item after the gap. */
      readonly beforeId: string;
    };

/**
 * Every status a record can have.
 *
 * @example
 * ```ts
 * const counts = Object.fromEntries(ARCHIVE_RECORD_STATUSES.map((s) => [s, 0]));
 * ```
 */
export const ARCHIVE_RECORD_STATUSES = [
  'valid',
  'moved',
  'duplicate',
  'forged',
  'undecryptable',
  'gap',
] as const satisfies readonly ArchiveRecord['status'][];

/**
 * The message a record carries, for `valid`, `moved` and `duplicate`; otherwise undefined.
 *
 * @example
 * ```ts
 * const text = recordMessage(record)?.text;
 * ```
 */
export function recordMessage(record: ArchiveRecord): ArchivedMessage | undefined {
  return 'message' in record ? record.message : undefined;
}
