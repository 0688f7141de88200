/**
 * Which broadcasts the list shows. The admin API has no listing of broadcasts (the server keeps
 * ids and counts only, never the text, `spec/broadcast.md` §6), so the list is made of:
 * the broadcasts sent from this browser tab (kept in `sessionStorage` per tenant and
 * administrator, with their text and audience, gone when the tab closes) and, for a role with
 * `audit.read`, the `broadcast.send` audit records of the last 30 days (id, sender and time,
 * no text). Counts come from `GET /admin/v1/broadcasts/:id` for each.
 *
 * @module
 */
import type { AdminClient, BroadcastTarget } from '@cloister/admin';

/** A broadcast the list shows. */
export interface LoggedBroadcast {
  readonly broadcastId: string;
  /** When it was sent (ms). */
  readonly sentAt: number;
  /** Its text, when it was sent from this tab. */
  readonly text?: string;
  /** Its audience, when it was sent from this tab. */
  readonly audience?: BroadcastTarget;
  /** The administrator who sent it, when known from the audit log. */
  readonly actor?: string;
}

/** Most broadcasts kept in the tab and shown. */
export const MAX_LOGGED = 50;

/** How far back the audit log is searched. */
export const AUDIT_WINDOW_MS = 30 * 86_400_000;

const keyOf = (tenant: string, admin: string) => `cloister.portal.broadcasts:${tenant}:${admin}`;

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

function isTarget(a: unknown): a is BroadcastTarget {
  if (typeof a !== 'object' || a === null) return false;
  const t = a as { kind?: unknown; pools?: unknown; users?: unknown };
  if (t.kind === 'tenant') return true;
  if (t.kind === 'pools') return Array.isArray(t.pools) && t.pools.every((p) => typeof p === 'string');
  if (t.kind === 'users') return Array.isArray(t.users) && t.users.every((u) => typeof u === 'string');
  return false;
}

/** The broadcasts sent from this tab, newest first (entries that do not parse are left out). */
export function readLog(tenant: string, admin: string): LoggedBroadcast[] {
  const raw = storage()?.getItem(keyOf(tenant, admin));
  if (raw === null || raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: LoggedBroadcast[] = [];
  for (const e of parsed) {
    if (typeof e !== 'object' || e === null) continue;
    const b = e as Record<string, unknown>;
    if (typeof b.broadcastId !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(b.broadcastId)) continue;
    if (typeof b.sentAt !== 'number') continue;
    out.push({
      broadcastId: b.broadcastId,
      sentAt: b.sentAt,
      ...(typeof b.text === 'string' ? { text: b.text } : {}),
      ...(isTarget(b.audience) ? { audience: b.audience } : {}),
    });
  }
  return out.sort((a, b) => b.sentAt - a.sentAt).slice(0, MAX_LOGGED);
}

/** Adds a sent broadcast to this tab's log. */
export function logBroadcast(tenant: string, admin: string, entry: LoggedBroadcast): void {
  const list = [entry, ...readLog(tenant, admin).filter((e) => e.broadcastId !== entry.broadcastId)];
  try {
    storage()?.setItem(keyOf(tenant, admin), JSON.stringify(list.slice(0, MAX_LOGGED)));
  } catch {
    // A full or disabled storage: the list shows what the audit log has.
  }
}

/** The broadcasts of the audit log in the window (one per id: the earliest record). */
export async function auditedBroadcasts(client: AdminClient, now: number): Promise<LoggedBroadcast[]> {
  const seen = new Map<string, LoggedBroadcast>();
  let after: number | undefined;
  for (let page = 0; page < 10; page++) {
    const answer = await client.searchAudit({
      action: 'broadcast.send',
      from: now - AUDIT_WINDOW_MS,
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const r of answer.items) {
      if (r.outcome !== 'success' || !/^[A-Za-z0-9_-]{22}$/.test(r.target) || seen.has(r.target)) continue;
      seen.set(r.target, { broadcastId: r.target, sentAt: r.at, actor: r.actor });
    }
    if (answer.next === undefined) break;
    after = Number(answer.next);
    if (!Number.isSafeInteger(after)) break;
  }
  return [...seen.values()];
}

/** This tab's log merged with the audit log's entries, newest first, at most {@link MAX_LOGGED}. */
export function mergeLogs(
  local: readonly LoggedBroadcast[],
  audited: readonly LoggedBroadcast[],
): LoggedBroadcast[] {
  const byId = new Map<string, LoggedBroadcast>();
  for (const a of audited) byId.set(a.broadcastId, a);
  for (const l of local) {
    const a = byId.get(l.broadcastId);
    byId.set(l.broadcastId, a === undefined ? l : { ...a, ...l, sentAt: Math.min(a.sentAt, l.sentAt) });
  }
  return [...byId.values()].sort((a, b) => b.sentAt - a.sentAt).slice(0, MAX_LOGGED);
}
