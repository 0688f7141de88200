/**
 * The directory sync status, put together from what the admin API offers (it has no sync report
 * of its own; `spec/portal-compliance.md` §5): the SCIM tokens (source, last use), the users a
 * directory manages (their `directory` record) and the audit records directories write (actor
 * `directory:<source>`: `directory.user.create`, `directory.user.update`, `user.block`,
 * `directory.reenable-requested`, `directory.group.*`) or that their tokens cause
 * (`scim.token.refused`, actor `scim:<token id>`, mapped to a source through the live tokens and
 * the `scim.token.create` records). Pure: the screen fetches, this sums up.
 *
 * @module
 */
import type { AuditRecordView, ScimTokenView, UserView } from '@cloister/admin';

/** One directory source's status. */
export interface SourceStatus {
  /** `scim` or `ldap:<name>`. */
  readonly source: string;
  /** Its live SCIM tokens: how many, and the latest use (ms) or null. Undefined: not known. */
  readonly tokens: { readonly count: number; readonly lastUsedAt: number | null } | undefined;
  /** The latest change the directory made in the records read. */
  readonly lastChange: { readonly at: number; readonly action: string } | undefined;
  /** Changes by kind in the records read. */
  readonly changes: {
    readonly created: number;
    readonly updated: number;
    readonly blocked: number;
    readonly reenable: number;
    readonly groups: number;
  };
  /** Refused requests (a revoked or expired token) and failed changes, with the latest. */
  readonly errors: {
    readonly count: number;
    readonly last?: { readonly at: number; readonly reason: string };
  };
  /** The users it manages by the directory's view; undefined: not known. */
  readonly users:
    | {
        readonly active: number;
        readonly disabled: number;
        readonly left: number;
        readonly reenableRequested: number;
      }
    | undefined;
}

/** What the summary is made of; a part the role cannot read is undefined. */
export interface DirectoryInputs {
  readonly tokens?: readonly ScimTokenView[];
  readonly records?: readonly AuditRecordView[];
  readonly users?: readonly UserView[];
}

type Mutable<T> = { -readonly [K in keyof T]: MutableValue<T[K]> };
type MutableValue<V> = V extends undefined ? undefined : V extends object ? Mutable<V> : V;

/** The status per source, sorted by source name. */
export function summariseDirectory(input: DirectoryInputs): SourceStatus[] {
  const out = new Map<string, Mutable<SourceStatus>>();
  const entry = (source: string): Mutable<SourceStatus> => {
    let s = out.get(source);
    if (s === undefined) {
      s = {
        source,
        tokens: input.tokens === undefined ? undefined : { count: 0, lastUsedAt: null },
        lastChange: undefined,
        changes: { created: 0, updated: 0, blocked: 0, reenable: 0, groups: 0 },
        errors: { count: 0 },
        users:
          input.users === undefined ? undefined : { active: 0, disabled: 0, left: 0, reenableRequested: 0 },
      };
      out.set(source, s);
    }
    return s;
  };
  const tokenSource = new Map<string, string>();
  for (const t of input.tokens ?? []) {
    tokenSource.set(t.id, t.source);
    const s = entry(t.source);
    if (s.tokens !== undefined) {
      s.tokens.count++;
      if (t.lastUsedAt !== null && (s.tokens.lastUsedAt === null || t.lastUsedAt > s.tokens.lastUsedAt)) {
        s.tokens.lastUsedAt = t.lastUsedAt;
      }
    }
  }
  for (const r of input.records ?? []) {
    if (r.action === 'scim.token.create' && typeof r.details?.source === 'string') {
      tokenSource.set(r.target, r.details.source);
    }
  }
  const noteError = (s: Mutable<SourceStatus>, at: number, reason: string) => {
    s.errors.count++;
    if (s.errors.last === undefined || at >= s.errors.last.at) s.errors.last = { at, reason };
  };
  for (const r of input.records ?? []) {
    if (r.action === 'scim.token.refused' && r.actor.startsWith('scim:')) {
      const source = tokenSource.get(r.actor.slice('scim:'.length)) ?? 'scim';
      const reason = typeof r.details?.reason === 'string' ? r.details.reason : r.outcome;
      noteError(entry(source), r.at, reason);
      continue;
    }
    if (!r.actor.startsWith('directory:')) continue;
    const s = entry(r.actor.slice('directory:'.length));
    if (r.outcome !== 'success') {
      noteError(s, r.at, r.action);
      continue;
    }
    if (s.lastChange === undefined || r.at >= s.lastChange.at) s.lastChange = { at: r.at, action: r.action };
    if (r.action === 'directory.user.create') s.changes.created++;
    else if (r.action === 'directory.user.update') s.changes.updated++;
    else if (r.action === 'user.block') s.changes.blocked++;
    else if (r.action === 'directory.reenable-requested') s.changes.reenable++;
    else if (r.action.startsWith('directory.group.')) s.changes.groups++;
  }
  for (const u of input.users ?? []) {
    if (u.directory === undefined) continue;
    const s = entry(u.directory.source);
    if (s.users === undefined) continue;
    s.users[u.directory.state]++;
    if (u.directory.reenableRequested) s.users.reenableRequested++;
  }
  return ([...out.values()] as SourceStatus[]).sort((a, b) =>
    a.source < b.source ? -1 : a.source > b.source ? 1 : 0,
  );
}

/** The tree size a checkpoint note states (its second line), or undefined. Not a verification. */
export function checkpointSize(note: string): number | undefined {
  const line = note.split('\n')[1];
  return line !== undefined && /^(0|[1-9][0-9]{0,15})$/.test(line) ? Number(line) : undefined;
}
