/**
 * The effective policy as the client reads it: the server's `GET /v1/policy` answer turned into a
 * {@link ClientPolicy}, and what the policy decides for one message (the archive key to seal to,
 * when it expires). No I/O.
 *
 * @module
 */
import { fromBase64Url, requireBase64Url } from '../_base64.js';
import type { ClientPolicy } from './types.js';

/**
 * The policy from the body of `GET /v1/policy`.
 *
 * @example
 * ```ts
 * parsePolicy({ revision: '7', features: { 'files.send': { enabled: false } } });
 * // { revision: '7', features: { 'files.send': { enabled: false } }, messageLifetimeMs: null }
 * ```
 */
export function parsePolicy(body: {
  readonly revision: string | number;
  readonly features?: Record<string, { enabled: boolean; config?: unknown }>;
  readonly retention?: { readonly messageLifetimeMs: number | null };
}): ClientPolicy {
  return {
    revision: String(body.revision),
    features: body.features ?? {},
    messageLifetimeMs: body.retention?.messageLifetimeMs ?? null,
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
 * The tenant's archive public key when the policy turns archiving on: feature `archive`
 * explicitly enabled with `config.publicKey` (base64url of 32 bytes); otherwise undefined.
 *
 * @example
 * ```ts
 * archivePublicKey(undefined); // undefined: no policy, no archive
 * ```
 */
export function archivePublicKey(policy: ClientPolicy | undefined): Uint8Array | undefined {
  const feature = policy?.features.archive;
  if (feature?.enabled !== true) return undefined;
  const key = (feature.config as { publicKey?: unknown } | undefined)?.publicKey;
  const bytes = fromBase64Url(key);
  return bytes?.length === 32 ? bytes : undefined;
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
