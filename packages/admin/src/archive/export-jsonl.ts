/**
 * JSON-lines export (`spec/audit-tool.md` §5.1): one {@link ArchiveRecord} per line, exactly as
 * the tool made it (every status, gaps and failures included), in the order the records come
 * ((receivedAt, id)).
 *
 * @module
 */
import type { ArchiveRecord } from './record.js';
import { type ArchiveExportSummary, type ArchiveSink, ExportTally, writeTo } from './sink.js';

/**
 * Writes each record as one JSON line to `sink`.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * const summary = await exportJsonLines(openArchive(options), createWriteStream('out.jsonl', { mode: 0o600 }));
 * ```
 */
export async function exportJsonLines(
  records: AsyncIterable<ArchiveRecord>,
  sink: ArchiveSink,
  onRecord?: (record: ArchiveRecord) => void,
): Promise<ArchiveExportSummary> {
  const tally = new ExportTally();
  for await (const record of records) {
    tally.add(record);
    onRecord?.(record);
    await writeTo(sink, `${JSON.stringify(record)}\n`);
  }
  return tally.summary();
}
