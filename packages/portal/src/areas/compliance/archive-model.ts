/**
 * The archive settings as the portal reads and changes them, without I/O: the tenant layer's
 * `archive` feature read the way a device reads it (`spec/organisation-client.md` §4–§5: on only
 * when enabled with a 32-byte key), the tenant document with a new scope (the other features and
 * the rest of the archive config kept), and the indicator a conversation shows
 * (`client.conversationArchive`'s `{ on, keyFingerprint, reason, until?, auditors? }`) for a
 * sender and a recipient, computed with protocol's `archiveReason`, the rule devices apply.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import {
  type ArchiveAuditors,
  type ArchiveParty,
  type ArchiveReason,
  type ArchiveScope,
  archiveReason,
  partyInArchiveScope,
  type SignedPolicyFeature,
  validateArchiveScope,
} from '@cloister/protocol';

/** The tenant layer's archive feature as devices apply it. */
export type ArchivePolicy =
  | { readonly on: false; readonly present: boolean }
  | {
      readonly on: true;
      readonly publicKey: Uint8Array;
      readonly scope?: ArchiveScope;
      readonly auditors?: ArchiveAuditors;
      readonly keySetId?: string;
      readonly retentionMs?: number;
    };

/** What a conversation shows (the client's `ConversationArchiveState`). */
export type ConversationArchiveState =
  | { readonly on: false }
  | {
      readonly on: true;
      readonly keyFingerprint: string;
      readonly reason: ArchiveReason;
      readonly until?: number;
      readonly auditors?: { readonly threshold: number; readonly total: number };
    };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Canonical base64url (no padding) to bytes, or undefined. */
export function base64UrlBytes(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The archive feature of a tenant layer document, as devices read it: on when `enabled` and
 * `config.publicKey` is the base64url of 32 bytes; the scope and descriptions when well formed
 * (a malformed scope makes the whole layer fail on devices, so it reads as off here).
 */
export function readArchivePolicy(document: Readonly<Record<string, unknown>> | undefined): ArchivePolicy {
  const feature = document?.archive;
  if (!isObject(feature)) return { on: false, present: false };
  const config = isObject(feature.config) ? feature.config : undefined;
  const key = base64UrlBytes(config?.publicKey);
  if (feature.enabled !== true || config === undefined || key?.length !== 32)
    return { on: false, present: true };
  let scope: ArchiveScope | undefined;
  if (config.scope !== undefined) {
    try {
      scope = validateArchiveScope(config.scope);
    } catch {
      return { on: false, present: true };
    }
  }
  const auditors = isObject(config.auditors) ? (config.auditors as unknown as ArchiveAuditors) : undefined;
  return {
    on: true,
    publicKey: key,
    ...(scope === undefined ? {} : { scope }),
    ...(auditors === undefined ? {} : { auditors }),
    ...(typeof config.keySetId === 'string' ? { keySetId: config.keySetId } : {}),
    ...(typeof config.retentionMs === 'number' ? { retentionMs: config.retentionMs } : {}),
  };
}

/** The scope form's values. */
export interface ScopeDraft {
  /** Archive everyone: neither list. */
  readonly everyone: boolean;
  readonly users: readonly string[];
  readonly pools: readonly string[];
  readonly from?: number;
  readonly until?: number;
}

/** The form's values of a scope (none: everyone, always). */
export function draftOf(scope: ArchiveScope | undefined): ScopeDraft {
  return {
    everyone: scope === undefined || (scope.users === undefined && scope.pools === undefined),
    users: scope?.users ?? [],
    pools: scope?.pools ?? [],
    ...(scope?.from === undefined ? {} : { from: scope.from }),
    ...(scope?.until === undefined ? {} : { until: scope.until }),
  };
}

/**
 * The scope of the form's values, checked with protocol's `validateArchiveScope`
 * (`ValidationError` naming `archive.scope…`). Not "everyone" with both lists empty is a scope
 * that archives nobody, which the form refuses (`archive.scope`): switching archiving off is
 * the key ceremony's business, not a scope's.
 */
export function scopeOf(draft: ScopeDraft): ArchiveScope | undefined {
  const lists = draft.everyone
    ? {}
    : {
        ...(draft.users.length === 0 ? {} : { users: [...draft.users] }),
        ...(draft.pools.length === 0 ? {} : { pools: [...draft.pools] }),
      };
  if (!draft.everyone && Object.keys(lists).length === 0) {
    throw new ValidationError('archive.scope', 'at least one user or pool, or everyone');
  }
  const scope: ArchiveScope = {
    ...lists,
    ...(draft.from === undefined ? {} : { from: draft.from }),
    ...(draft.until === undefined ? {} : { until: draft.until }),
  };
  if (Object.keys(scope).length === 0) return undefined;
  return validateArchiveScope(scope);
}

/**
 * The tenant document with the archive feature's scope replaced (`undefined`: the scope member
 * removed, everyone always); every other feature and member kept. `ValidationError` when the
 * document has no archive feature that is on.
 */
export function withArchiveScope(
  document: Readonly<Record<string, SignedPolicyFeature>>,
  scope: ArchiveScope | undefined,
): Record<string, SignedPolicyFeature> {
  const feature = document.archive;
  if (feature === undefined || !readArchivePolicy(document).on || !isObject(feature.config)) {
    throw new ValidationError('archive', 'an archive feature that is on');
  }
  const { scope: _old, ...rest } = feature.config as Record<string, unknown>;
  const config = scope === undefined ? rest : { ...rest, scope: { ...scope } };
  return {
    ...document,
    archive: { ...feature, config: config as SignedPolicyFeature['config'] } as SignedPolicyFeature,
  };
}

/** Whether `party` is in the scope (everyone when the scope lists nobody), at `now`. */
export function inScope(scope: ArchiveScope | undefined, party: ArchiveParty): boolean {
  if (scope === undefined || (scope.users === undefined && scope.pools === undefined)) return true;
  return partyInArchiveScope(scope, party);
}

/**
 * What `sender` sees in the 1:1 conversation with `recipient` for a message sent at `now` under
 * `scope` (the policy's, or a draft; `undefined`: everyone, always): the client's
 * `conversationArchive` rule (the key, the window, then sender `self`, recipient `peer`, or `all`
 * when the scope lists nobody). The scope is an explicit argument, never defaulted, so that a
 * draft of "everyone" is not mistaken for the saved scope.
 */
export function indicatorFor(
  policy: ArchivePolicy,
  keyFingerprint: string | undefined,
  sender: ArchiveParty,
  recipient: ArchiveParty,
  now: number,
  scope: ArchiveScope | undefined,
): ConversationArchiveState {
  if (!policy.on || keyFingerprint === undefined) return { on: false };
  const reason = archiveReason(scope, { now, sender, recipients: [recipient] });
  if (reason === null) return { on: false };
  return {
    on: true,
    keyFingerprint,
    reason,
    ...(scope?.until === undefined ? {} : { until: scope.until }),
    ...(policy.auditors === undefined
      ? {}
      : { auditors: { threshold: policy.auditors.threshold, total: policy.auditors.holders.length } }),
  };
}
