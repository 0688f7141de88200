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
  policyMessageLifetime,
  resolvePolicyFeatures,
  resolveRestrictions,
  restrictionsFromFeatures,
} from '@cloister/protocol';
import { fromBase64Url, requireBase64Url } from '../_base64.js';
import type { SignedLayers } from './organisation.js';
import type { ClientPolicy } from './types.js';

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
 * `archive` enabled with `config.publicKey`, base64url of 32 bytes).
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
  return {
    revision: `org:${layers.revision}`,
    features,
    messageLifetimeMs: policyMessageLifetime(input),
    signed: true,
    archiveKey: key?.length === 32 ? key : null,
    restrictions: { ...values, archive: key?.length === 32 },
    restrictionProblems: problems,
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
