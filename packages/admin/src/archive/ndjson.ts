/**
 * Reading a streamed JSON-lines answer (`GET /admin/v1/archive/export`) one object at a time: the
 * memory held is one chunk and one unfinished line, never the whole answer.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/**
 * The longest line accepted (bytes of text), 1 MiB: an archive item is at most a few hundred KiB
 * of base64url.
 *
 * @example
 * ```ts
 * console.log(NDJSON_MAX_LINE); // 1048576
 * ```
 */
export const NDJSON_MAX_LINE = 1024 * 1024;

/**
 * Each JSON value of a stream of JSON lines, parsed, as it arrives. Empty lines are skipped; a
 * line longer than {@link NDJSON_MAX_LINE} is `ValidationError` (field `response`).
 *
 * @example
 * ```ts
 * for await (const item of ndjsonValues<{ id: string }>(response.body)) console.log(item.id);
 * ```
 */
export async function* ndjsonValues<T>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl = pending.indexOf('\n', start);
    while (nl >= 0) {
      const line = pending.slice(start, nl).trim();
      start = nl + 1;
      if (line.length > 0) yield JSON.parse(line) as T;
      nl = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
    if (pending.length > NDJSON_MAX_LINE) {
      throw new ValidationError('response', `JSON lines of at most ${NDJSON_MAX_LINE} bytes`);
    }
  }
  pending += decoder.decode();
  if (pending.trim().length > 0) yield JSON.parse(pending) as T;
}
