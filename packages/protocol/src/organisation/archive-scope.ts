/**
 * The settings of the tenant layer's `archive` feature (`spec/organisation.md` §6.1,
 * `spec/organisation-client.md` §5): the archive public key, the filing retention, and the
 * **scope** — which senders and recipients are archived, and when — with two descriptions that
 * only inform what users see (the auditors' threshold and the key set id). The scope reaches a
 * device only inside a tenant layer the organisation signed, so the operator can neither widen
 * nor narrow it. No I/O.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { fromBase64Url, idBytes } from './_codec.js';

/**
 * Most user ids an archive scope lists.
 *
 * @example
 * ```ts
 * console.log(MAX_ARCHIVE_SCOPE_USERS); // 10000
 * ```
 */
export const MAX_ARCHIVE_SCOPE_USERS = 10_000;

/**
 * Most pool ids an archive scope lists.
 *
 * @example
 * ```ts
 * console.log(MAX_ARCHIVE_SCOPE_POOLS); // 1000
 * ```
 */
export const MAX_ARCHIVE_SCOPE_POOLS = 1_000;

/**
 * Most key holders an auditors' description names.
 *
 * @example
 * ```ts
 * console.log(MAX_ARCHIVE_AUDITORS); // 255
 * ```
 */
export const MAX_ARCHIVE_AUDITORS = 255;

/**
 * Who and when the archive covers. A message is archived when the time is in `[from, until)` and
 * its sender, or one of its recipients, is listed in `users` or is a member of a pool in `pools`.
 * An absent list names nobody by that criterion; a scope without `users` and `pools` covers
 * everyone (within the window). An absent `from` or `until` leaves that side open.
 *
 * @example
 * ```ts
 * const scope: ArchiveScope = { pools: ['trading'], from: Date.parse('2027-01-01'), until: Date.parse('2028-01-01') };
 * ```
 */
export interface ArchiveScope {
  /** User ids whose messages (sent or received) are archived. */
  readonly users?: readonly string[];
  /** Pool ids whose members' messages (sent or received) are archived. */
  readonly pools?: readonly string[];
  /** Start of the window, ms since the epoch (inclusive). */
  readonly from?: number;
  /** End of the window, ms since the epoch (exclusive). */
  readonly until?: number;
}

/**
 * Who can open the archive, as the organisation describes it (informative: devices show it, they
 * cannot check it; the key split itself is the auditors').
 *
 * @example
 * ```ts
 * const auditors: ArchiveAuditors = { threshold: 2, holders: ['dpo', 'internal-audit', 'legal'] };
 * ```
 */
export interface ArchiveAuditors {
  /** How many holders must combine their shares to open the archive (1..holders). */
  readonly threshold: number;
  /** The holders' names (1..255, distinct). */
  readonly holders: readonly string[];
}

/**
 * The `config` of the tenant layer's `archive` feature, typed.
 *
 * @example
 * ```ts
 * const config: ArchiveConfig = { publicKey: 'q6ur…', scope: { users: ['ceo@acme.example'] } };
 * ```
 */
export interface ArchiveConfig {
  /** Canonical base64url (no padding) of the 32-byte X25519 archive public key. */
  readonly publicKey: string;
  /** How long the server keeps a filed seal, ms (positive; absent: the server's default). */
  readonly retentionMs?: number;
  /** Who and when is archived; absent: everyone, always. */
  readonly scope?: ArchiveScope;
  /** The auditors' description (informative). */
  readonly auditors?: ArchiveAuditors;
  /** Hex (32 lower-case digits) of the 16-byte id of the auditors' share set (informative). */
  readonly keySetId?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, 'ms since the epoch (an integer >= 0)');
  }
  return value;
}

function checkIds(value: unknown, field: string, max: number): readonly string[] {
  if (!Array.isArray(value) || value.length > max) {
    throw new ValidationError(field, `a list of at most ${max} identifiers`);
  }
  const seen = new Set<string>();
  value.forEach((id, i) => {
    idBytes(id, `${field}[${i}]`);
    if (seen.has(id as string)) throw new ValidationError(`${field}[${i}]`, 'distinct identifiers');
    seen.add(id as string);
  });
  return value as string[];
}

/**
 * Checks an archive scope (`field` names it in errors): only `users` (at most
 * {@link MAX_ARCHIVE_SCOPE_USERS} distinct user ids), `pools` (at most
 * {@link MAX_ARCHIVE_SCOPE_POOLS} distinct pool ids), `from` and `until` (ms, `from < until`).
 * `ValidationError` naming the field otherwise; values are never echoed.
 *
 * @example
 * ```ts
 * validateArchiveScope({ pools: ['trading'], from: 0, until: 1 }); // ok
 * validateArchiveScope({ from: 5, until: 5 }); // ValidationError: archive.scope: from before until
 * ```
 */
export function validateArchiveScope(scope: unknown, field = 'archive.scope'): ArchiveScope {
  if (!isObject(scope)) throw new ValidationError(field, '{ users?, pools?, from?, until? }');
  for (const k of Object.keys(scope)) {
    if (k !== 'users' && k !== 'pools' && k !== 'from' && k !== 'until') {
      throw new ValidationError(field, 'only users, pools, from and until');
    }
  }
  if (scope.users !== undefined) checkIds(scope.users, `${field}.users`, MAX_ARCHIVE_SCOPE_USERS);
  if (scope.pools !== undefined) checkIds(scope.pools, `${field}.pools`, MAX_ARCHIVE_SCOPE_POOLS);
  const from = scope.from === undefined ? undefined : checkMs(scope.from, `${field}.from`);
  const until = scope.until === undefined ? undefined : checkMs(scope.until, `${field}.until`);
  if (from !== undefined && until !== undefined && from >= until) {
    throw new ValidationError(field, 'from before until');
  }
  return scope as ArchiveScope;
}

/**
 * Checks an auditors' description: only `threshold` (an integer in 1..holders) and `holders`
 * (1..{@link MAX_ARCHIVE_AUDITORS} distinct non-empty names of at most 128 characters).
 *
 * @example
 * ```ts
 * validateArchiveAuditors({ threshold: 2, holders: ['dpo', 'audit', 'legal'] }); // ok
 * ```
 */
export function validateArchiveAuditors(value: unknown, field = 'archive.auditors'): ArchiveAuditors {
  if (!isObject(value) || Object.keys(value).some((k) => k !== 'threshold' && k !== 'holders')) {
    throw new ValidationError(field, '{ threshold, holders }');
  }
  const { holders, threshold } = value;
  if (!Array.isArray(holders) || holders.length === 0 || holders.length > MAX_ARCHIVE_AUDITORS) {
    throw new ValidationError(`${field}.holders`, `1..${MAX_ARCHIVE_AUDITORS} names`);
  }
  const seen = new Set<string>();
  holders.forEach((h, i) => {
    if (typeof h !== 'string' || h.length === 0 || h.length > 128 || seen.has(h)) {
      throw new ValidationError(`${field}.holders[${i}]`, 'distinct names of 1..128 characters');
    }
    seen.add(h);
  });
  if (
    typeof threshold !== 'number' ||
    !Number.isSafeInteger(threshold) ||
    threshold < 1 ||
    threshold > holders.length
  ) {
    throw new ValidationError(`${field}.threshold`, 'an integer from 1 to the number of holders');
  }
  return value as unknown as ArchiveAuditors;
}

/**
 * Checks the `config` of an `archive` feature: when `enabled`, `publicKey` must be the canonical
 * base64url of 32 bytes; `retentionMs` (a positive integer), `scope`
 * ({@link validateArchiveScope}), `auditors` ({@link validateArchiveAuditors}) and `keySetId` (32
 * lower-case hex digits) are checked whenever present. Other members are left to later versions.
 * `ValidationError` naming the field (under `field`) otherwise.
 *
 * @example
 * ```ts
 * validateArchiveConfig({ publicKey: 'q6ur…', scope: { users: ['ceo'] } }, true, 'document.archive.config');
 * ```
 */
export function validateArchiveConfig(config: unknown, enabled: boolean, field = 'archive.config'): void {
  if (config === undefined) {
    if (enabled) throw new ValidationError(`${field}.publicKey`, 'the base64url of a 32-byte X25519 key');
    return;
  }
  if (!isObject(config)) throw new ValidationError(field, 'an object');
  if (enabled) {
    const key = config.publicKey;
    if (typeof key !== 'string' || fromBase64Url(key)?.length !== 32) {
      throw new ValidationError(`${field}.publicKey`, 'the base64url of a 32-byte X25519 key');
    }
  }
  if (config.retentionMs !== undefined) {
    const r = config.retentionMs;
    if (typeof r !== 'number' || !Number.isSafeInteger(r) || r <= 0) {
      throw new ValidationError(`${field}.retentionMs`, 'a positive integer (ms)');
    }
  }
  if (config.scope !== undefined) validateArchiveScope(config.scope, `${field}.scope`);
  if (config.auditors !== undefined) validateArchiveAuditors(config.auditors, `${field}.auditors`);
  if (config.keySetId !== undefined) {
    if (typeof config.keySetId !== 'string' || !/^[0-9a-f]{32}$/.test(config.keySetId)) {
      throw new ValidationError(`${field}.keySetId`, 'the hex of 16 bytes (32 lower-case digits)');
    }
  }
}

/**
 * One party of a message as the scope check sees it: its user id and the pools the device knows
 * it in (`undefined`: not known).
 *
 * @example
 * ```ts
 * const party: ArchiveParty = { userId: 'bob', pools: ['ward-3'] };
 * ```
 */
export interface ArchiveParty {
  /** The user id. */
  readonly userId: string;
  /** The user's pools as known (a sender certificate, the directory); undefined: unknown. */
  readonly pools?: readonly string[] | undefined;
}

/**
 * Why a message is archived: `all` (the scope names nobody: everyone is archived), `self` (the
 * sender is in scope), `peer` (a recipient is), or `null` when it is not archived (outside the
 * window, or nobody of the message in scope).
 *
 * @example
 * ```ts
 * const why: ArchiveReason = 'peer';
 * ```
 */
export type ArchiveReason = 'all' | 'self' | 'peer';

/**
 * Whether a party is in the scope's lists: its user id listed, or one of its pools. A party whose
 * pools are unknown is in scope when the scope lists any pool (archiving errs towards the
 * organisation's signed rule, never away from it).
 *
 * @example
 * ```ts
 * partyInArchiveScope({ pools: ['trading'] }, { userId: 'bob', pools: ['trading'] }); // true
 * ```
 */
export function partyInArchiveScope(scope: ArchiveScope, party: ArchiveParty): boolean {
  if (scope.users?.includes(party.userId) === true) return true;
  const pools = scope.pools;
  if (pools === undefined || pools.length === 0) return false;
  if (party.pools === undefined) return true;
  return party.pools.some((p) => pools.includes(p));
}

/**
 * Whether the scope's window holds `now`: `from <= now < until` (an absent bound is open).
 *
 * @example
 * ```ts
 * archiveWindowHolds({ from: 10, until: 20 }, 20); // false
 * ```
 */
export function archiveWindowHolds(scope: ArchiveScope | undefined, now: number): boolean {
  if (scope === undefined) return true;
  if (scope.from !== undefined && now < scope.from) return false;
  return scope.until === undefined || now < scope.until;
}

/**
 * Why a message sent at `now` by `sender` to `recipients` is archived under `scope`, or `null`
 * when it is not: outside the window `null`; a scope that lists neither users nor pools `all`;
 * the sender in scope `self`; otherwise a recipient in scope `peer`.
 *
 * @example
 * ```ts
 * archiveReason({ users: ['ceo'] }, { now: 1, sender: { userId: 'bob', pools: [] }, recipients: [{ userId: 'ceo' }] }); // 'peer'
 * ```
 */
export function archiveReason(
  scope: ArchiveScope | undefined,
  input: {
    readonly now: number;
    readonly sender: ArchiveParty;
    readonly recipients: readonly ArchiveParty[];
  },
): ArchiveReason | null {
  if (!archiveWindowHolds(scope, input.now)) return null;
  if (scope === undefined || (scope.users === undefined && scope.pools === undefined)) return 'all';
  if (partyInArchiveScope(scope, input.sender)) return 'self';
  return input.recipients.some((r) => partyInArchiveScope(scope, r)) ? 'peer' : null;
}
