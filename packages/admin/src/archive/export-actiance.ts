/**
 * Actiance XML export (`spec/audit-tool.md` §5.3): the "Actiance XML" (Vantage) transcript
 * format that archivers (Smarsh, Global Relay, Veritas and others) ingest for chat:
 * `FileDump > Conversation > (RoomID, StartTimeUTC, ParticipantEntered*, Message*, EndTimeUTC)`,
 * each `Message` with `LoginName`, `DateTimeUTC` (Unix seconds) and `Content`.
 *
 * The export is streamed in filing order, so a `Conversation` element holds one run of
 * consecutive messages of the same conversation (an importer merges elements with the same
 * `RoomID`); nothing is grouped in memory. A participant enters a `Conversation` element before
 * their first message in it; the recipient of a 1:1 message (which version-3 seals name) enters
 * with the sender, so a transcript lists who received it. Records that are not messages (`forged`, `undecryptable`, `gap`)
 * and the seal status of `moved` and `duplicate` messages are XML comments
 * (`<!-- cloister: … -->`) where they fall, which importers skip and people read; a summary
 * comment closes the file.
 *
 * @module
 */
import { type ArchivedMessage, type ArchiveRecord, recordMessage } from './record.js';
import { type ArchiveExportSummary, type ArchiveSink, ExportTally, writeTo } from './sink.js';

/**
 * Escapes text for XML character data and attribute values; characters XML 1.0 cannot carry
 * (most C0 controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD.
 *
 * @example
 * ```ts
 * escapeXml('a < b & "c"'); // 'a &lt; b &amp; &quot;c&quot;'
 * ```
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** A comment's text: no `--`, no trailing `-`. */
function comment(text: string): string {
  return `<!-- cloister: ${escapeXml(text).replace(/-{2,}/g, (d) => d.split('').join(' '))} -->`;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

function content(m: ArchivedMessage): string {
  if (m.kind === 'text') return m.text ?? '';
  if (m.kind === 'file' && m.file !== undefined) {
    const f = m.file;
    return `[file] ${f.fileName ?? '(no name)'}${f.mediaType === undefined ? '' : ` (${f.mediaType}${f.size === undefined ? '' : `, ${f.size} bytes`})`}`;
  }
  return `[${m.bodyType ?? m.kind}]`;
}

function failure(record: ArchiveRecord): string {
  switch (record.status) {
    case 'gap':
      return `gap: items ${record.fromSeq}..${record.toSeq} missing before item ${record.beforeId}`;
    case 'forged':
      return `forged seal (${record.reason}): item ${record.id}${record.seq === null ? '' : ` seq ${record.seq}`}${
        record.claimed === undefined ? '' : `, claims sender ${record.claimed.sender.userId}`
      }`;
    case 'undecryptable':
      return `undecryptable: item ${record.id}${record.seq === null ? '' : ` seq ${record.seq}`}`;
    case 'moved':
      return `seal status moved (${record.reason}): item ${record.id}`;
    case 'duplicate':
      return `seal status duplicate of item ${record.duplicateOf}: item ${record.id}`;
    default:
      return `item ${record.id}`;
  }
}

/**
 * Writes the records as one Actiance XML `FileDump` to `sink`.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * const summary = await exportActiance(openArchive(options), createWriteStream('case.xml', { mode: 0o600 }));
 * ```
 */
export async function exportActiance(
  records: AsyncIterable<ArchiveRecord>,
  sink: ArchiveSink,
  onRecord?: (record: ArchiveRecord) => void,
): Promise<ArchiveExportSummary> {
  const tally = new ExportTally();
  await writeTo(sink, '<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>\n');
  let open: { conversation: string; last: number; participants: Set<string> } | undefined;
  const close = async () => {
    if (open === undefined) return;
    await writeTo(sink, `    <EndTimeUTC>${seconds(open.last)}</EndTimeUTC>\n  </Conversation>\n`);
    open = undefined;
  };
  for await (const record of records) {
    tally.add(record);
    onRecord?.(record);
    const m = recordMessage(record);
    if (m === undefined) {
      await writeTo(sink, `  ${comment(failure(record))}\n`);
      continue;
    }
    if (open?.conversation !== m.conversationId) {
      await close();
      open = { conversation: m.conversationId, last: m.sentAt, participants: new Set() };
      await writeTo(
        sink,
        `  <Conversation Perspective="cloister">\n    <RoomID>${m.conversationId}</RoomID>\n    <StartTimeUTC>${seconds(m.sentAt)}</StartTimeUTC>\n`,
      );
    }
    const login = escapeXml(m.sender.userId);
    let out = '';
    for (const user of m.recipient === undefined ? [m.sender.userId] : [m.sender.userId, m.recipient]) {
      if (open.participants.has(user)) continue;
      open.participants.add(user);
      out += `    <ParticipantEntered>\n      <LoginName>${escapeXml(user)}</LoginName>\n      <DateTimeUTC>${seconds(m.sentAt)}</DateTimeUTC>\n      <InternalFlag>true</InternalFlag>\n    </ParticipantEntered>\n`;
    }
    if (record.status !== 'valid') out += `    ${comment(failure(record))}\n`;
    out += `    <Message>\n      <LoginName>${login}</LoginName>\n      <DateTimeUTC>${seconds(m.sentAt)}</DateTimeUTC>\n      <Content>${escapeXml(content(m))}</Content>\n    </Message>\n`;
    open.last = Math.max(open.last, m.sentAt);
    await writeTo(sink, out);
  }
  await close();
  const s = tally.summary();
  const counts = Object.entries(s.counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  await writeTo(sink, `  ${comment(`summary ${counts}`)}\n</FileDump>\n`);
  return s;
}
