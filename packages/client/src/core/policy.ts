/**
 * The effective policy as the client reads it: for a device that pinned an organisation root,
 * resolved from the signed layers it verified ({@link signedPolicy}); for one without, the
 * server's `GET /v1/policy` answer ({@link parsePolicy}), which never turns archiving on. And what
 * the policy decides for one message (the archive key to seal to, when it expires). No I/O.
 *
 * @module
 */
import {
  ARCHIVE_FEATURE,
  type ConversationId,
  policyMessageLifetime,
  resolvePolicyFeatures,
  resolveRestrictions,
  restrictionsFromFeatures,
  validateArchiveAuditors,
  validateArchiveScope,
} from '@cloister/protocol';
import { fromBase64Url, requireBase64Url } from '../_base64.js';
import type { SignedLayers } from './organisation.js';
import type { ClientPolicy, GroupPolicy } from './types.js';

/**
 * The policy from the body of `GET /v1/policy`, for a device without an organisation root: the
 * server's features and lifetime, and no archive key whatever the answer says (an unsigned
 * archive key is the operator's, issue 14 attack 1).
 *
 * @example
 * ```ts
 * parsePolicy({ revision: '7', features: { 'files.send': { enabled: false } } });
 * // { revision: '7', features: { 'files.send': { enabled: false } }, messageLifetimeMs: null, signed: false,
 * //   archiveKey: null, restrictions: { 'files.send': false, … }, restrictionProblems: [] }
 * ```
 */
export function parsePolicy(body: {
  readonly revision: string | number;
  readonly features?: Record<string, { enabled: boolean; config?: unknown }>;
  readonly retention?: { readonly messageLifetimeMs: number | null };
}): ClientPolicy {
  const features = body.features ?? {};
  const messageLifetimeMs = body.retention?.messageLifetimeMs ?? null;
  // No archive from the unsigned answer, so the archive restriction is off whatever it says.
  const { values, problems } = restrictionsFromFeatures(features, messageLifetimeMs, false);
  return {
    revision: String(body.revision),
    features,
    messageLifetimeMs,
    signed: false,
    archiveKey: null,
    restrictions: values,
    restrictionProblems: problems,
  };
}

/**
 * The policy of a root-pinned device from the signed layers it verified (tenant → pools → user,
 * locks, the most restrictive pool; `core/organisation.ts`): the features, the message lifetime
 * from the signed `retention` feature, and the archive key from the **tenant layer only** (feature
 * `archive` enabled with `config.publicKey`, base64url of 32 bytes) with its scope, auditors and
 * key set id (`archiveScope`, `archiveAuditors`, `archiveKeySetId`). Each held group layer gives
 * the features and restrictions of its group's conversation (`groups`, by the group id's hex): the
 * same walk with the group layer combined with the pool layers, the most restrictive winning
 * (`spec/restrictions.md` §1.2); the lifetime and the archive key stay the user's.
 *
 * @example
 * ```ts
 * const policy = signedPolicy(layers); // layers from acceptPolicyLayers
 * if (policy.archiveKey !== null) sealTo(policy.archiveKey);
 * ```
 */
export function signedPolicy(layers: SignedLayers): ClientPolicy {
  const input = { tenant: layers.tenant, pools: layers.pools, user: layers.user };
  const features = resolvePolicyFeatures(input);
  const archive = layers.tenant?.[ARCHIVE_FEATURE];
  const key =
    archive?.enabled === true
      ? fromBase64Url((archive.config as { publicKey?: unknown } | undefined)?.publicKey)
      : undefined;
  // The typed restrictions: each layer's malformed entries left out, the pools combined the most
  // restrictive way per restriction (type intersection, narrowest bounds), then the same locks.
  const { values, problems } = resolveRestrictions(input);
  const archiving = key?.length === 32;
  // The scope and the descriptions, from the same signed tenant layer (its decoder validated them).
  const settings = archiving ? archiveSettings(archive?.config) : {};
  const groups: { [groupHex: string]: GroupPolicy } = {};
  for (const [hex, doc] of Object.entries(layers.groups ?? {})) {
    const inGroup = resolveRestrictions({ ...input, groups: [doc] });
    groups[hex] = {
      features: resolvePolicyFeatures({ ...input, pools: [...input.pools, doc] }),
      restrictions: { ...inGroup.values, archive: archiving },
      restrictionProblems: inGroup.problems,
    };
  }
  return {
    revision: `org:${layers.revision}`,
    features,
    messageLifetimeMs: policyMessageLifetime(input),
    signed: true,
    archiveKey: archiving ? (key as Uint8Array) : null,
    ...settings,
    restrictions: { ...values, archive: archiving },
    restrictionProblems: problems,
    ...(Object.keys(groups).length === 0 ? {} : { groups }),
  };
}

/** The scope, auditors and key set id of a tenant layer's archive config; a malformed one is left out. */
function archiveSettings(
  config: unknown,
): Pick<ClientPolicy, 'archiveScope' | 'archiveAuditors' | 'archiveKeySetId'> {
  const c = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  const out: { -readonly [K in 'archiveScope' | 'archiveAuditors' | 'archiveKeySetId']?: ClientPolicy[K] } =
    {};
  const scope = c.scope;
  if (scope !== undefined) {
    try {
      out.archiveScope = validateArchiveScope(scope);
    } catch {
      // A malformed scope never decodes from a signed layer; should one reach here, archive everyone.
    }
  }
  try {
    if (c.auditors !== undefined) out.archiveAuditors = validateArchiveAuditors(c.auditors);
  } catch {
    // informative only
  }
  if (typeof c.keySetId === 'string' && /^[0-9a-f]{32}$/.test(c.keySetId)) out.archiveKeySetId = c.keySetId;
  return out;
}

/**
 * The hex of the group id of a group conversation id (`g:<hex>`), or undefined for any other
 * conversation id (a 1:1 conversation, or no conversation).
 *
 * @example
 * ```ts
 * conversationGroupHex('g:abab'); // 'abab'
 * conversationGroupHex('d:bob'); // undefined
 * ```
 */
export function conversationGroupHex(conversationId: string | undefined): string | undefined {
  if (typeof conversationId !== 'string' || !conversationId.startsWith('g:')) return undefined;
  const hex = conversationId.slice(2);
  return /^(?:[0-9a-f]{2}){1,64}$/.test(hex) ? hex : undefined;
}

/**
 * The policy that applies in one conversation: in the conversation of a group that has a held
 * group layer, the policy with that group's features and restrictions (`signedPolicy`'s
 * `groups`); otherwise (a 1:1 conversation, a group without a layer, no conversation) `policy`
 * itself. The revision, lifetime and archive key are always the user's.
 *
 * @example
 * ```ts
 * checkFileSend(policyForConversation(client.policy, 'g:abab…'), 'image/png'); // the group's files.send
 * ```
 */
export function policyForConversation(
  policy: ClientPolicy | undefined,
  conversationId: ConversationId | string | undefined,
): ClientPolicy | undefined {
  const hex = conversationGroupHex(conversationId);
  const group = hex === undefined ? undefined : policy?.groups?.[hex];
  if (policy === undefined || group === undefined) return policy;
  return {
    ...policy,
    features: group.features,
    restrictions: group.restrictions,
    restrictionProblems: group.restrictionProblems,
  };
}

/**
 * The signed objects of a `GET /v1/policy` answer (spec/revocations.md): the tenant's revocation
 * list and this user's reach statement, as bytes; an absent field is undefined (nothing is pinned
 * from it), one that is not canonical base64url a `DecodeError`.
 *
 * @example
 * ```ts
 * signedPolicyParts({ revocations: 'AQ…' }); // { revocations: Uint8Array, reach: undefined }
 * ```
 */
export function signedPolicyParts(body: { readonly revocations?: unknown; readonly reach?: unknown }): {
  readonly revocations: Uint8Array | undefined;
  readonly reach: Uint8Array | undefined;
} {
  const bytes = (v: unknown, f: string) => (v === undefined ? undefined : requireBase64Url(v, f));
  return {
    revocations: bytes(body.revocations, 'policy.revocations'),
    reach: bytes(body.reach, 'policy.reach'),
  };
}

/** Content type of an archived message: the encoded `Content`. */
export const ARCHIVE_CONTENT_TYPE = 'application/x-cloister-content';

/**
 * The archive public key to seal to: the policy's `archiveKey`, which only a verified tenant
 * layer sets ({@link signedPolicy}); otherwise undefined.
 *
 * @example
 * ```ts
 * archivePublicKey(undefined); // undefined: no policy, no archive
 * ```
 */
export function archivePublicKey(policy: ClientPolicy | undefined): Uint8Array | undefined {
  const key = policy?.archiveKey;
  return key instanceof Uint8Array && key.length === 32 ? key : undefined;
}

/**
 * When a message expires: the earlier of its disappearing timer and the policy's lifetime, or
 * `null` when neither applies.
 *
 * @example
 * ```ts
 * messageExpiry(1000, 5, 60_000); // 6000
 * ```
 */
export function messageExpiry(
  now: number,
  timerSeconds: number | undefined,
  lifetimeMs: number | null,
): number | null {
  const expiries = [
    timerSeconds === undefined ? null : now + timerSeconds * 1000,
    lifetimeMs === null ? null : now + lifetimeMs,
  ].filter((x): x is number => x !== null);
  return expiries.length === 0 ? null : Math.min(...expiries);
}
