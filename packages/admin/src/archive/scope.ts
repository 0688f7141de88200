/**
 * The auditor's search scope (`spec/audit-tool.md` §4), applied on the auditor's machine after
 * opening: users (as sender, or as the recipient of a 1:1 message), sender pools, conversations,
 * send time and the text. Records that are not
 * messages (forged, undecryptable, gaps) are kept by default: a scoped export still says what
 * could not be checked.
 *
 * @module
 */
import type { ArchiveRecord } from './record.js';

/**
 * A search scope; every given member must match (an absent one matches everything).
 *
 * @example
 * ```ts
 * const scope: ArchiveSearchScope = { users: ['ceo@example.org'], text: 'merger', from: Date.parse('2026-11-01') };
 * ```
 */
export interface ArchiveSearchScope {
  /**
   * User ids (any of), matching a message a user sent or, in a 1:1 conversation, received: the
   * sender or the recipient (which version-3 seals name; a version-2 seal matches by sender only,
   * a group message by sender only: use `conversations` for a group).
   */
  readonly users?: readonly string[];
  /** Sender pools, from the sender certificate (any of). */
  readonly pools?: readonly string[];
  /** Conversation ids, hex (any of). */
  readonly conversations?: readonly string[];
  /** Earliest send time (ms, inclusive). */
  readonly from?: number;
  /** Latest send time (ms, inclusive). */
  readonly to?: number;
  /**
   * Text to find in the body, case-insensitively: with `match: 'substring'` (default) the text
   * as a whole; with `'tokens'` every word of it (letters and digits) as a whole word.
   */
  readonly text?: string;
  /** How {@link ArchiveSearchScope.text} matches. */
  readonly match?: 'substring' | 'tokens';
  /** Keep forged, undecryptable and gap records (default true). */
  readonly keepFailures?: boolean;
}

const tokens = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * A predicate for records in `scope`.
 *
 * @example
 * ```ts
 * const inScope = scopeMatcher({ pools: ['legal'] });
 * const kept = inScope(record); // a boolean
 * ```
 */
export function scopeMatcher(scope: ArchiveSearchScope): (record: ArchiveRecord) => boolean {
  const users = scope.users === undefined ? undefined : new Set(scope.users);
  const pools = scope.pools === undefined ? undefined : new Set(scope.pools);
  const conversations =
    scope.conversations === undefined ? undefined : new Set(scope.conversations.map((c) => c.toLowerCase()));
  const needle = scope.text?.toLowerCase();
  const words = scope.text === undefined ? undefined : tokens(scope.text);
  const keepFailures = scope.keepFailures ?? true;
  return (record) => {
    if (!('message' in record)) return keepFailures;
    const m = record.message;
    if (
      users !== undefined &&
      !users.has(m.sender.userId) &&
      !(m.recipient !== undefined && users.has(m.recipient))
    )
      return false;
    if (pools !== undefined && !m.senderPools.some((p) => pools.has(p))) return false;
    if (conversations !== undefined && !conversations.has(m.conversationId)) return false;
    if (scope.from !== undefined && m.sentAt < scope.from) return false;
    if (scope.to !== undefined && m.sentAt > scope.to) return false;
    if (needle !== undefined) {
      const haystack = m.text ?? m.file?.fileName ?? '';
      if (scope.match === 'tokens') {
        const have = new Set(tokens(haystack));
        if (!(words ?? []).every((w) => have.has(w))) return false;
      } else if (!haystack.toLowerCase().includes(needle)) return false;
    }
    return true;
  };
}

/**
 * The records of `records` in `scope`, streamed.
 *
 * @example
 * ```ts
 * for await (const r of filterArchive(openArchive(options), { text: 'merger' })) console.log(r);
 * ```
 */
export async function* filterArchive(
  records: AsyncIterable<ArchiveRecord>,
  scope: ArchiveSearchScope,
): AsyncGenerator<ArchiveRecord> {
  const inScope = scopeMatcher(scope);
  for await (const record of records) if (inScope(record)) yield record;
}
