/**
 * The effective policy of the calling device's user (R27, R29; spec/server-policy.md):
 * `GET /v1/policy` answers
 *
 *   { "revision": "<opaque>", "features": { "<name>": { "enabled": true, "config": … } },
 *     "retention": { "messageLifetimeMs": 2592000000 },
 *     "revocations": "<base64url>", "reach": "<base64url>" }
 *
 * Features are resolved from the layers server → tenant → the user's pools → user: a layer sets a
 * feature unless a less specific layer locked it; across several pools the most restrictive wins
 * (enabled only when every pool that sets the feature enables it). A feature no layer sets is not
 * listed (clients treat it as enabled). The `retention` feature is reported as `retention`, not as
 * a feature; its lifetime comes from the same resolver the server uses for its own retention.
 * `revocations` and `reach` are the tenant's signed revocation list and the caller's signed reach
 * statement (`../revocations.ts`, spec/revocations.md), with which recipients refuse content from
 * revoked certificates and from senders whose pools may not reach them.
 *
 * @module
 */
import { concatBytes, LimitError, UnauthenticatedError, utf8 } from '@cloister/crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import type { RecordValue } from '@cloister/storage';
import { authenticate } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import { RETENTION_FEATURE, serverLifetime } from '../retention.js';
import { currentRevocationList, reachStatementFor } from '../revocations.js';
import type { PolicyDocument, PolicyFeature, PolicyLayer, StoredPolicy } from '../store/index.js';

/**
 * Well-known feature names clients enforce (spec/server-policy.md §3).
 *
 * @example
 * ```ts
 * if (policy.features[POLICY_FEATURES.filesSend]?.enabled === false) hideAttachButton();
 * ```
 */
export const POLICY_FEATURES = Object.freeze({
  /** R27: may the user send files, images and videos. */
  filesSend: 'files.send',
  /** R27: may the app allow copy and paste out of conversations (the app enforces it). */
  clipboardCopy: 'clipboard.copy',
} as const);

/**
 * One resolved feature.
 *
 * @example
 * ```ts
 * const files: EffectiveFeature | undefined = policy.features['files.send'];
 * ```
 */
export interface EffectiveFeature {
  readonly enabled: boolean;
  readonly config?: RecordValue;
}

/**
 * The answer of `GET /v1/policy`.
 *
 * @example
 * ```ts
 * const policy: EffectivePolicyResponse = res.json;
 * const maySendFiles = policy.features['files.send']?.enabled ?? true;
 * ```
 */
export interface EffectivePolicyResponse {
  /** Changes whenever any contributing layer (or the user's pool list) changes; compare, never parse. */
  readonly revision: string;
  readonly features: { readonly [name: string]: EffectiveFeature };
  readonly retention: {
    /** How long the device may keep a message, ms; `null` for no limit. */
    readonly messageLifetimeMs: number | null;
  };
  /**
   * The tenant's signed revocation list, base64url (spec/revocations.md). Absent only when the
   * tenant has more revoked users and devices than a list holds.
   */
  readonly revocations?: string;
  /** The caller's signed reach statement, base64url. Absent only when too many pools reach the caller. */
  readonly reach?: string;
}

interface Resolved {
  enabled: boolean;
  config?: RecordValue;
  locked: boolean;
}

function setFeature(out: Map<string, Resolved>, name: string, f: PolicyFeature): void {
  if (out.get(name)?.locked === true) return;
  out.set(name, {
    enabled: f.enabled,
    ...(f.config === undefined ? {} : { config: f.config }),
    locked: f.locked,
  });
}

/** Merges the pool documents of one user: the most restrictive pool wins. */
function mergePools(docs: readonly PolicyDocument[]): Map<string, PolicyFeature> {
  const merged = new Map<string, PolicyFeature>();
  for (const doc of docs) {
    for (const [name, f] of Object.entries(doc)) {
      const before = merged.get(name);
      if (before === undefined) {
        merged.set(name, f);
        continue;
      }
      // A disabling pool beats an enabling one (and brings its config); a lock anywhere locks.
      const winner = before.enabled && !f.enabled ? f : before;
      merged.set(name, {
        enabled: before.enabled && f.enabled,
        locked: before.locked || f.locked,
        ...(winner.config === undefined ? {} : { config: winner.config }),
      });
    }
  }
  return merged;
}

/**
 * Resolves the features of a user from the documents of each layer (no I/O).
 *
 * @example
 * ```ts
 * const features = resolveFeatures({
 *   server: { 'files.send': { enabled: true, locked: false } },
 *   tenant: { 'files.send': { enabled: false, locked: true } },
 *   pools: [],
 *   user: { 'files.send': { enabled: true, locked: false } },
 * });
 * // features['files.send'] = { enabled: false }: the tenant locked it
 * ```
 */
export function resolveFeatures(layers: {
  readonly server?: PolicyDocument | undefined;
  readonly tenant?: PolicyDocument | undefined;
  readonly pools: readonly PolicyDocument[];
  readonly user?: PolicyDocument | undefined;
}): { [name: string]: EffectiveFeature } {
  const out = new Map<string, Resolved>();
  for (const doc of [layers.server, layers.tenant]) {
    for (const [name, f] of Object.entries(doc ?? {})) setFeature(out, name, f);
  }
  for (const [name, f] of mergePools(layers.pools)) setFeature(out, name, f);
  for (const [name, f] of Object.entries(layers.user ?? {})) setFeature(out, name, f);
  const features: { [name: string]: EffectiveFeature } = {};
  for (const name of [...out.keys()].sort()) {
    if (name === RETENTION_FEATURE) continue;
    const r = out.get(name) as Resolved;
    features[name] = { enabled: r.enabled, ...(r.config === undefined ? {} : { config: r.config }) };
  }
  return features;
}

async function effectivePolicy(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
): Promise<EffectivePolicyResponse> {
  const caller = await ctx.stores.users.get(tenant, user);
  if (caller === undefined) throw new UnauthenticatedError();
  const pools = [...caller.pools].sort();
  const layers: PolicyLayer[] = [
    { kind: 'server' },
    { kind: 'tenant', tenant },
    ...pools.map((pool) => ({ kind: 'pool', tenant, pool }) as const),
    { kind: 'user', tenant, user },
  ];
  const stored: (StoredPolicy | undefined)[] = await Promise.all(
    layers.map((l) => ctx.stores.policies.get(l)),
  );
  const doc = (i: number) => stored[i]?.document;
  const features = resolveFeatures({
    server: doc(0),
    tenant: doc(1),
    pools: stored.slice(2, 2 + pools.length).flatMap((s) => (s === undefined ? [] : [s.document])),
    user: doc(layers.length - 1),
  });
  // "forever" comes back as the clamp we pass; report it as null.
  const forever = Number.MAX_SAFE_INTEGER;
  const lifetime = await serverLifetime(ctx.stores, tenant, user, 'message.device', forever);
  // The revision digests which layers exist with which revision and write time, and the pool list.
  const facts = JSON.stringify([
    pools,
    layers.map((l, i) => [l.kind, stored[i]?.revision ?? 0, stored[i]?.updatedAt ?? 0]),
  ]);
  const digest = await ctx.provider.sha256(
    concatBytes(utf8('cloister/server/v1/policy-revision'), utf8(facts)),
  );
  // Over the format's bounds the signed object is left out (clients keep the one they hold).
  const orNothing = (e: unknown) => {
    if (e instanceof LimitError) return undefined;
    throw e;
  };
  const revocations = await currentRevocationList(ctx, tenant).catch(orNothing);
  const reach = await reachStatementFor(ctx, tenant, user).catch(orNothing);
  return {
    revision: Buffer.from(digest.subarray(0, 16)).toString('base64url'),
    features,
    retention: { messageLifetimeMs: lifetime >= forever ? null : lifetime },
    ...(revocations === undefined ? {} : { revocations: Buffer.from(revocations).toString('base64url') }),
    ...(reach === undefined ? {} : { reach: Buffer.from(reach).toString('base64url') }),
  };
}

/**
 * Registers `GET /v1/policy`.
 *
 * @example
 * ```ts
 * import { policyRoutes } from './routes/policy.js';
 * await policyRoutes(app, ctx);
 * ```
 */
export const policyRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/policy', async (request): Promise<EffectivePolicyResponse> => {
    const me = await authenticate(ctx, request);
    return effectivePolicy(ctx, me.tenant, me.user);
  });
};
