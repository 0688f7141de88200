/**
 * EML export (`spec/audit-tool.md` §5.2): each message (`valid`, `moved`, `duplicate`) becomes one
 * RFC 5322 message in a file of its own (`<n>-<item id>.eml`, `n` the zero-padded position in the
 * export, so a directory listing is the export's order), and every record that is not a message
 * (`forged`, `undecryptable`, `gap`) becomes a JSON line of the report file `report.jsonl`. The
 * message's seal status is in `X-Cloister-Seal-Status`.
 *
 * One file per message rather than an mbox: every archiver and e-discovery tool imports a folder
 * of `.eml` files; mbox has no standard (RFC 4155 only records its variants), must rewrite body
 * lines starting with `From ` (and the variants disagree on how), and one damaged separator loses
 * the messages after it.
 *
 * Lines end in CRLF; header values that are not ASCII are RFC 2047 encoded words (UTF-8, base64);
 * a body that is not ASCII, or has a line longer than 998 octets, is base64
 * (`Content-Transfer-Encoding`), otherwise 7bit.
 *
 * @module
 */
import { utf8 } from '@cloister/crypto';
import { type ArchivedMessage, type ArchiveRecord, recordMessage } from './record.js';
import { type ArchiveExportSummary, ExportTally } from './sink.js';

/**
 * Where the EML writer puts its files (`emlDirectory` of `@cloister/admin/node` writes a
 * directory).
 *
 * @example
 * ```ts
 * const files = new Map<string, string>();
 * const target: EmlTarget = {
 *   async message(name, text) { files.set(name, text); },
 *   async report(line) { files.set('report.jsonl', (files.get('report.jsonl') ?? '') + line); },
 *   async close() {},
 * };
 * ```
 */
export interface EmlTarget {
  /**
   * Writes one message file.
   *
   * @example
   * ```ts
   * await target.message('00000001-0a1b.eml', emlMessage(record));
   * ```
   */
  message(name: string, text: string): Promise<void>;
  /**
   * Appends one line to the report file.
   *
   * @example
   * ```ts
   * await target.report(`${JSON.stringify(record)}\n`);
   * ```
   */
  report(line: string): Promise<void>;
  /**
   * Finishes (closes the report file).
   *
   * @example
   * ```ts
   * await target.close();
   * ```
   */
  close(): Promise<void>;
}

function base64(text: string): string {
  let binary = '';
  for (const b of utf8(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * A header value as RFC 2047 encoded words (`=?UTF-8?B?…?=`, each at most 75 characters, folded
 * with CRLF SP) when it is not printable ASCII; otherwise as it is.
 *
 * @example
 * ```ts
 * encodeHeaderValue('Zürich'); // '=?UTF-8?B?WsO8cmljaA==?='
 * ```
 */
export function encodeHeaderValue(value: string): string {
  if (ASCII_PRINTABLE.test(value)) return value;
  const encoder = new TextEncoder();
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (encoder.encode(chunk + ch).length > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk.length > 0) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(w)}?=`).join('\r\n ');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * An RFC 5322 date-time in UTC.
 *
 * @example
 * ```ts
 * rfc5322Date(0); // 'Thu, 01 Jan 1970 00:00:00 +0000'
 * ```
 */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function domain(tenant: string): string {
  const label =
    tenant
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 63) || 'tenant';
  return `${label}.cloister.invalid`;
}

/** A user's address: the user id when it is an address, else a stand-in under the tenant. */
function address(userId: string, m: ArchivedMessage): string {
  const at = userId.lastIndexOf('@');
  if (at > 0 && ATEXT.test(userId.slice(0, at)) && /^[A-Za-z0-9.-]+$/.test(userId.slice(at + 1))) {
    return userId;
  }
  const local = userId.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]/g, '_').slice(0, 64);
  return `${local}@${domain(m.tenantId)}`;
}

function displayName(name: string): string {
  if (!ASCII_PRINTABLE.test(name)) return encodeHeaderValue(name);
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function subject(m: ArchivedMessage): string {
  const raw =
    m.kind === 'text'
      ? ((m.text ?? '').split(/\r?\n/, 1)[0] ?? '')
      : m.kind === 'file'
        ? `[file] ${m.file?.fileName ?? m.file?.mediaType ?? ''}`.trimEnd()
        : `[${m.bodyType ?? m.kind}]`;
  const chars = [...[...raw].map((c) => (c.charCodeAt(0) < 0x20 || c === '\u007f' ? ' ' : c)).join('')];
  return chars.length > 60 ? `${chars.slice(0, 60).join('')}…` : chars.join('');
}

function body(m: ArchivedMessage): string {
  if (m.kind === 'text') return m.text ?? '';
  if (m.kind === 'file' && m.file !== undefined) {
    const f = m.file;
    return [
      `Attachment: ${f.fileName ?? '(no name)'}`,
      ...(f.mediaType === undefined ? [] : [`Media type: ${f.mediaType}`]),
      ...(f.size === undefined ? [] : [`Size: ${f.size} bytes`]),
      ...(f.locator === undefined ? [] : [`Locator: ${f.locator}`]),
      ...(f.digest === undefined ? [] : [`Encrypted blob SHA-256: ${f.digest}`]),
      `File key (base64url): ${f.fileKey}`,
    ].join('\n');
  }
  return `(${m.bodyType ?? m.kind} content, content type ${m.contentType})`;
}

function sealStatus(record: ArchiveRecord): string {
  switch (record.status) {
    case 'moved':
      return `moved; reason=${record.reason}`;
    case 'duplicate':
      return `duplicate; of=${record.duplicateOf}`;
    default:
      return record.status;
  }
}

/**
 * One message record as an RFC 5322 message (CRLF line endings).
 *
 * @example
 * ```ts
 * const text = emlMessage(record); // record.status: 'valid', 'moved' or 'duplicate'
 * ```
 */
export function emlMessage(record: ArchiveRecord): string {
  const m = recordMessage(record);
  if (m === undefined || !('id' in record)) throw new TypeError('not a message record');
  const text = body(m).replace(/\r\n|\r|\n/g, '\r\n');
  const plain = /^[\t\r\n\x20-\x7e]*$/.test(text) && text.split('\r\n').every((l) => l.length <= 998);
  const headers = [
    `From: ${displayName(m.sender.userId)} <${address(m.sender.userId, m)}>`,
    // The 1:1 recipient the seal names; a group message (or a version-2 seal) has none: its
    // conversation is X-Cloister-Conversation.
    m.recipient === undefined
      ? 'To: undisclosed-recipients:;'
      : `To: ${displayName(m.recipient)} <${address(m.recipient, m)}>`,
    `Date: ${rfc5322Date(m.sentAt)}`,
    `Message-ID: <${m.messageId}@${domain(m.tenantId)}>`,
    `Subject: ${encodeHeaderValue(subject(m))}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${plain ? '7bit' : 'base64'}`,
    `X-Cloister-Item: ${record.id}`,
    ...(record.seq === null ? [] : [`X-Cloister-Seq: ${record.seq}`]),
    `X-Cloister-Received: ${rfc5322Date(record.receivedAt)}`,
    `X-Cloister-Sender: ${encodeHeaderValue(m.sender.userId)}`,
    `X-Cloister-Sender-Device: ${m.sender.deviceId}`,
    ...(m.recipient === undefined ? [] : [`X-Cloister-Recipient: ${encodeHeaderValue(m.recipient)}`]),
    ...(m.senderPools.length === 0
      ? []
      : [`X-Cloister-Sender-Pools: ${encodeHeaderValue(m.senderPools.join(', '))}`]),
    `X-Cloister-Tenant: ${encodeHeaderValue(m.tenantId)}`,
    `X-Cloister-Conversation: ${m.conversationId}`,
    `X-Cloister-Delivery-Id: ${m.deliveryId}`,
    `X-Cloister-Content-Kind: ${m.kind}`,
    `X-Cloister-Seal-Status: ${sealStatus(record)}`,
  ];
  const encoded = plain ? text : (base64(text).match(/.{1,76}/g) ?? []).join('\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${encoded}\r\n`;
}

/**
 * Writes each message record as an `.eml` file and every other record as a report line.
 *
 * @example
 * ```ts
 * import { emlDirectory } from '@cloister/admin/node';
 * const summary = await exportEml(openArchive(options), emlDirectory('./case-2026-114'));
 * ```
 */
export async function exportEml(
  records: AsyncIterable<ArchiveRecord>,
  target: EmlTarget,
  onRecord?: (record: ArchiveRecord) => void,
): Promise<ArchiveExportSummary> {
  const tally = new ExportTally();
  let n = 0;
  try {
    for await (const record of records) {
      tally.add(record);
      onRecord?.(record);
      n++;
      if (recordMessage(record) !== undefined && 'id' in record) {
        // The id comes from the server: only safe characters reach the file name.
        const id = record.id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
        await target.message(`${String(n).padStart(8, '0')}-${id}.eml`, emlMessage(record));
      } else {
        await target.report(`${JSON.stringify({ position: n, ...record })}\n`);
      }
    }
  } finally {
    await target.close();
  }
  return tally.summary();
}
