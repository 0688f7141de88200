/**
 * Opening an archive locally (`spec/audit-tool.md` §3): each raw item, in the order the server
 * gives them ((receivedAt, id)), becomes an {@link ArchiveRecord}: `valid`, `forged`,
 * `undecryptable`, `moved` (bound to another delivery, or filed before it was sent), `duplicate`
 * (another copy of a message already seen) or, between two items whose sequence numbers are not
 * consecutive, a `gap`. Nothing is dropped silently.
 *
 * Memory is bounded: one item at a time, and a duplicate index of at most `dedupeWindow` (default
 * {@link DEFAULT_DEDUPE_WINDOW}) (sender, message id) keys, oldest evicted first. A copy filed
 * more than that many valid records after the first is reported `valid`, not `duplicate`.
 *
 * @module
 */
import {
  type ArchiveBindings,
  ArchiveCertificateCache,
  type ArchiveShare,
  type CryptoProvider,
  combineArchiveShares,
  inspectArchived,
  type OpenedArchive,
  peekArchiveSeal,
  toHex,
  ValidationError,
  wipe,
} from '@cloister/crypto';
import { decodeContent } from '@cloister/protocol';
import { toBase64Url } from '../_base64url.js';
import type { ArchiveItem } from './api.js';
import type { ArchivedMessage, ArchiveRecord, ClaimedBindings } from './record.js';

/**
 * The content type the client seals a message under: the encoded protocol `Content`
 * (`ARCHIVE_CONTENT_TYPE` of `@cloister/client`).
 *
 * @example
 * ```ts
 * const isMessage = opened.contentType === ARCHIVED_MESSAGE_CONTENT_TYPE;
 * ```
 */
export const ARCHIVED_MESSAGE_CONTENT_TYPE = 'application/x-cloister-content';

/**
 * The content type of an attachment's sealed file key (32 bytes).
 *
 * @example
 * ```ts
 * const isFileKey = opened.contentType === ARCHIVED_FILE_KEY_CONTENT_TYPE;
 * ```
 */
export const ARCHIVED_FILE_KEY_CONTENT_TYPE = 'cloister/file-key';

/**
 * Default bound of the duplicate index: 65 536 (sender, message id) keys (a few MiB).
 *
 * @example
 * ```ts
 * const records = openArchive({ ...options, dedupeWindow: DEFAULT_DEDUPE_WINDOW * 4 });
 * ```
 */
export const DEFAULT_DEDUPE_WINDOW = 65_536;

/**
 * Default tolerance between the sender's clock and the server's: 5 minutes. An item filed more
 * than this before its stated send time is `moved` (reason `time`).
 *
 * @example
 * ```ts
 * const records = openArchive({ ...options, clockSkewMs: DEFAULT_CLOCK_SKEW_MS * 2 });
 * ```
 */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Options of {@link openArchive}.
 *
 * @example
 * ```ts
 * const options: OpenArchiveOptions = {
 *   provider,
 *   archivePrivateKey, // combineWrappedShares(…).privateKey
 *   tenantPublicKey,
 *   tenantId: 'acme',
 *   items: admin.archive.export({ from, to, purpose: 'case 2026-114' }),
 * };
 * ```
 */
export interface OpenArchiveOptions {
  /** The crypto provider. */
  readonly provider: CryptoProvider;
  /**
   * The archive X25519 private key (32 bytes), combined from k shares (`combineWrappedShares`);
   * the caller wipes it. Give this or `shares`.
   */
  readonly archivePrivateKey?: Uint8Array;
  /** At least k unwrapped shares of one set: combined here, the key wiped when the stream ends. */
  readonly shares?: readonly ArchiveShare[];
  /** The tenant's Ed25519 sender-certificate key (32 bytes). */
  readonly tenantPublicKey: Uint8Array;
  /** When given, every certificate must name this tenant. */
  readonly tenantId?: string;
  /** The raw items, ordered by (receivedAt, id) (`admin.archive.export`). */
  readonly items: AsyncIterable<ArchiveItem>;
  /** Bound of the duplicate index (default {@link DEFAULT_DEDUPE_WINDOW}). */
  readonly dedupeWindow?: number;
  /** Clock tolerance (default {@link DEFAULT_CLOCK_SKEW_MS}). */
  readonly clockSkewMs?: number;
}

function claimed(bytes: Uint8Array, known?: ArchiveBindings): ClaimedBindings | undefined {
  try {
    const b = known ?? peekArchiveSeal(bytes).bindings;
    if (b === undefined) return undefined;
    return {
      messageId: toHex(b.messageId),
      conversationId: toHex(b.conversationId),
      sender: { userId: b.sender.userId, deviceId: b.sender.deviceId },
      sentAt: b.sentAt,
    };
  } catch {
    return undefined;
  }
}

/**
 * What an opened seal says, decoded: text, attachment or another content kind.
 *
 * @example
 * ```ts
 * import { openArchived } from '@cloister/crypto';
 * const message = archivedMessage(await openArchived(provider, { bytes, archivePrivateKey, tenantPublicKey }));
 * ```
 */
export function archivedMessage(archive: OpenedArchive & { readonly version?: number }): ArchivedMessage {
  const b = archive.bindings;
  const base = {
    messageId: toHex(b.messageId),
    conversationId: toHex(b.conversationId),
    sender: { userId: b.sender.userId, deviceId: b.sender.deviceId },
    ...(b.recipient === undefined ? {} : { recipient: b.recipient }),
    senderPools: [...archive.certificate.pools],
    tenantId: archive.certificate.tenantId,
    sentAt: b.sentAt,
    deliveryId: toHex(archive.deliveryId),
    sealVersion: archive.version ?? 2,
    contentType: archive.contentType,
  };
  try {
    switch (archive.contentType) {
      case ARCHIVED_MESSAGE_CONTENT_TYPE: {
        const body = decodeContent(archive.content).body;
        if (body.type === 'text') return { ...base, kind: 'text', text: body.text };
        if (body.type === 'file') {
          const f = body.file;
          return {
            ...base,
            kind: 'file',
            file: {
              fileKey: toBase64Url(f.fileKey),
              digest: toHex(f.digest),
              size: f.size,
              mediaType: f.mediaType,
              locator: f.locator,
              ...(f.fileName === undefined ? {} : { fileName: f.fileName }),
            },
          };
        }
        return { ...base, kind: 'other', bodyType: body.type };
      }
      case ARCHIVED_FILE_KEY_CONTENT_TYPE:
        if (archive.content.length !== 32) return { ...base, kind: 'undecodable' };
        return { ...base, kind: 'file', file: { fileKey: toBase64Url(archive.content) } };
      case 'text/plain':
        return {
          ...base,
          kind: 'text',
          text: new TextDecoder('utf-8', { fatal: true }).decode(archive.content),
        };
      default:
        return { ...base, kind: 'other' };
    }
  } catch {
    return { ...base, kind: 'undecodable' };
  }
}

/**
 * Opens every item and classifies it (see the module documentation); gaps in the filing sequence
 * become `gap` records just before the item after them. The caller keeps ownership of
 * `archivePrivateKey` (and wipes it).
 *
 * @example
 * ```ts
 * for await (const record of openArchive({ provider, archivePrivateKey, tenantPublicKey, tenantId: 'acme', items })) {
 *   if (record.status !== 'valid') console.warn(record.status);
 * }
 * ```
 */
export async function* openArchive(options: OpenArchiveOptions): AsyncGenerator<ArchiveRecord> {
  if (!(options.tenantPublicKey instanceof Uint8Array) || options.tenantPublicKey.length !== 32) {
    throw new ValidationError('tenantPublicKey', '32 bytes');
  }
  if ((options.archivePrivateKey === undefined) === (options.shares === undefined)) {
    throw new ValidationError('options', 'exactly one of archivePrivateKey and shares');
  }
  let archivePrivateKey: Uint8Array;
  if (options.shares !== undefined) {
    archivePrivateKey = (await combineArchiveShares(options.provider, options.shares)).privateKey;
  } else {
    archivePrivateKey = options.archivePrivateKey as Uint8Array;
    if (!(archivePrivateKey instanceof Uint8Array) || archivePrivateKey.length !== 32) {
      throw new ValidationError('archivePrivateKey', '32 bytes');
    }
  }
  try {
    yield* classify(options, archivePrivateKey);
  } finally {
    if (options.shares !== undefined) wipe(archivePrivateKey);
  }
}

async function* classify(
  options: OpenArchiveOptions,
  archivePrivateKey: Uint8Array,
): AsyncGenerator<ArchiveRecord> {
  const window = options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const seen = new Map<string, string>();
  // Each distinct sender certificate's tenant signature is checked once per run (bounded).
  const certificateCache = new ArchiveCertificateCache();
  let nextSeq: number | undefined;
  for await (const item of options.items) {
    const base = { id: item.id, seq: item.seq, receivedAt: item.receivedAt };
    if (item.seq !== null) {
      if (nextSeq !== undefined && item.seq > nextSeq) {
        yield {
          status: 'gap',
          fromSeq: nextSeq,
          toSeq: item.seq - 1,
          receivedAt: item.receivedAt,
          beforeId: item.id,
        };
      }
      nextSeq = Math.max(nextSeq ?? 0, item.seq + 1);
    }
    const bytes = item.sealed;
    const recorded = item.deliveryId ?? undefined;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      yield { ...base, status: 'undecryptable' };
      continue;
    }
    const found = await inspectArchived(options.provider, {
      bytes,
      archivePrivateKey,
      tenantPublicKey: options.tenantPublicKey,
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      ...(recorded?.length === 16 ? { deliveryId: recorded } : {}),
      certificateCache,
    });
    if (found.status === 'forged') {
      const c = claimed(bytes, found.bindings);
      yield { ...base, status: 'forged', reason: found.reason, ...(c === undefined ? {} : { claimed: c }) };
      continue;
    }
    if (found.status === 'undecryptable') {
      const c = claimed(bytes);
      yield { ...base, status: 'undecryptable', ...(c === undefined ? {} : { claimed: c }) };
      continue;
    }
    const message = archivedMessage(found.archive);
    // A flat key (btoa's output): a hex string built byte by byte is a tree of string pieces that
    // would cost the index several times its length per entry.
    const key = `${message.sender.userId}\u0000${toBase64Url(found.archive.bindings.messageId)}`;
    wipe(found.archive.content);
    const recordedDeliveryId = recorded === undefined ? null : toHex(recorded);
    if (found.status === 'misbound' || (recorded !== undefined && recorded.length !== 16)) {
      yield { ...base, status: 'moved', reason: 'delivery', recordedDeliveryId, message };
      continue;
    }
    if (item.receivedAt < message.sentAt - skew) {
      yield { ...base, status: 'moved', reason: 'time', recordedDeliveryId, message };
      continue;
    }
    const first = seen.get(key);
    if (first !== undefined) {
      yield { ...base, status: 'duplicate', duplicateOf: first, message };
      continue;
    }
    seen.set(key, item.id);
    if (seen.size > window) seen.delete(seen.keys().next().value as string);
    yield { ...base, status: 'valid', message };
  }
}
