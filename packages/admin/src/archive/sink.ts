/**
 * Where the export writers write (`spec/audit-tool.md` §5): anything with a Node `Writable`'s
 * `write` and `once('drain')`, honouring back-pressure, so an export never holds more than what
 * the stream buffers. And the summary every writer returns.
 *
 * @module
 */
import { ARCHIVE_RECORD_STATUSES, type ArchiveRecord } from './record.js';

/**
 * The part of a Node `Writable` the writers use (`process.stdout`, `createWriteStream(…)`).
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * const out: ArchiveSink = createWriteStream('archive.jsonl', { mode: 0o600 });
 * ```
 */
export interface ArchiveSink {
  /**
   * Writes a chunk; false when the buffer is full (wait for `drain`).
   *
   * @example
   * ```ts
   * const more = sink.write('{"status":"gap"}\n');
   * ```
   */
  write(chunk: string): boolean;
  /**
   * Calls `listener` once the buffer has drained.
   *
   * @example
   * ```ts
   * if (!sink.write(text)) await new Promise<void>((resolve) => sink.once('drain', resolve));
   * ```
   */
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes `text` and waits for `drain` when the sink asks for it.
 *
 * @example
 * ```ts
 * await writeTo(sink, '{"status":"valid"}\n');
 * ```
 */
export async function writeTo(sink: ArchiveSink, text: string): Promise<void> {
  if (!sink.write(text)) await new Promise<void>((resolve) => sink.once('drain', resolve));
}

/**
 * What an export wrote: records by status, and the first and last filing time.
 *
 * @example
 * ```ts
 * const { counts } = await exportJsonLines(records, sink);
 * if (counts.forged + counts.gap > 0) process.exitCode = 5;
 * ```
 */
export interface ArchiveExportSummary {
  /** How many records of each status. */
  readonly counts: Record<ArchiveRecord['status'], number>;
  /** Filing time of the first record (ms), or null when there were none. */
  readonly firstReceivedAt: number | null;
  /** Filing time of the last record (ms), or null. */
  readonly lastReceivedAt: number | null;
}

/**
 * A running {@link ArchiveExportSummary}.
 *
 * @example
 * ```ts
 * const tally = new ExportTally();
 * for await (const r of records) tally.add(r);
 * console.log(tally.summary().counts.valid);
 * ```
 */
export class ExportTally {
  readonly #counts = Object.fromEntries(ARCHIVE_RECORD_STATUSES.map((s) => [s, 0])) as Record<
    ArchiveRecord['status'],
    number
  >;
  #first: number | null = null;
  #last: number | null = null;

  /**
   * Counts one record.
   *
   * @example
   * ```ts
   * tally.add(record);
   * ```
   */
  add(record: ArchiveRecord): void {
    this.#counts[record.status]++;
    this.#first ??= record.receivedAt;
    this.#last = record.receivedAt;
  }

  /**
   * The summary so far.
   *
   * @example
   * ```ts
   * const { counts } = tally.summary();
   * ```
   */
  summary(): ArchiveExportSummary {
    return { counts: { ...this.#counts }, firstReceivedAt: this.#first, lastReceivedAt: this.#last };
  }
}
