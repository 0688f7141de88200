/**
 * Resolving a user's effective policy from its layers (`spec/organisation-client.md` §4, the same
 * rules as the server's `resolveFeatures`, spec/server-policy.md): tenant → the user's pools →
 * user, each layer setting a feature unless a less specific layer locked it; across several pools
 * the most restrictive wins (enabled only when every pool that sets the feature enables it, a lock
 * in any pool locks). The `retention` feature is not a feature of the result: its rules give the
 * message lifetime ({@link policyMessageLifetime}). No I/O; a root-pinned client feeds it the
 * signed layers it verified.
 *
 * @module
 */
import { parseRetentionPolicy, type RetentionLayer, resolveRetention } from '../retention/index.js';

/**
 * The feature whose `config.rules` hold retention rules by class (as the server's `RETENTION_FEATURE`).
 *
 * @example
 * ```ts
 * const tenantLayer: LayerDocument = {
 *   [RETENTION_POLICY_FEATURE]: { enabled: true, locked: true, config: { rules: { 'message.device': { maxLifetimeMs: 86_400_000 } } } },
 * };
 * ```
 */
export const RETENTION_POLICY_FEATURE = 'retention';

/**
 * One feature of one layer.
 *
 * @example
 * ```ts
 * const feature: LayerFeature = { enabled: false, locked: true };
 * ```
 */
export interface LayerFeature<C = unknown> {
  /** Whether the layer turns the feature on. */
  readonly enabled: boolean;
  /** True when more specific layers may not change the feature. */
  readonly locked: boolean;
  /** The feature's settings, as the layer gives them. */
  readonly config?: C;
}

/**
 * One layer's document: features by name.
 *
 * @example
 * ```ts
 * const user: LayerDocument = { 'files.send': { enabled: true, locked: false } };
 * ```
 */
export type LayerDocument<C = unknown> = { readonly [feature: string]: LayerFeature<C> };

/**
 * A resolved feature.
 *
 * @example
 * ```ts
 * const { enabled }: ResolvedFeature = resolvePolicyFeatures({ pools: [] })['files.send'] ?? { enabled: true };
 * ```
 */
export interface ResolvedFeature<C = unknown> {
  /** Whether the feature is on for the user. */
  readonly enabled: boolean;
  /** The settings of the layer that decided the feature. */
  readonly config?: C;
}

/**
 * The layers of one user, least specific first; an absent layer sets nothing.
 *
 * @example
 * ```ts
 * const layers: PolicyLayers = {
 *   tenant: { 'files.send': { enabled: true, locked: false } },
 *   pools: [{ 'files.send': { enabled: false, locked: false } }],
 * };
 * resolvePolicyFeatures(layers)['files.send']; // { enabled: false }
 * ```
 */
export interface PolicyLayers<C = unknown> {
  /** The server operator's default layer (unsigned). */
  readonly server?: LayerDocument<C> | undefined;
  /** The tenant's layer. */
  readonly tenant?: LayerDocument<C> | undefined;
  /** The layers of each pool the user is in (the most restrictive wins). */
  readonly pools: readonly LayerDocument<C>[];
  /** The user's own layer. */
  readonly user?: LayerDocument<C> | undefined;
}

function mergePools<C>(docs: readonly LayerDocument<C>[]): Map<string, LayerFeature<C>> {
  const merged = new Map<string, LayerFeature<C>>();
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
 * The effective features of a user from the documents of each layer, sorted by name, without
 * `retention`. A feature no layer sets is absent (clients treat it as enabled).
 *
 * @example
 * ```ts
 * import { resolvePolicyFeatures } from '@cloister/protocol';
 * const features = resolvePolicyFeatures({
 *   tenant: { 'files.send': { enabled: false, locked: true } },
 *   pools: [],
 *   user: { 'files.send': { enabled: true, locked: false } },
 * });
 * // features['files.send'] = { enabled: false }: the tenant locked it
 * ```
 */
export function resolvePolicyFeatures<C>(layers: PolicyLayers<C>): { [name: string]: ResolvedFeature<C> } {
  const out = new Map<string, LayerFeature<C>>();
  const set = (name: string, f: LayerFeature<C>) => {
    if (out.get(name)?.locked === true) return;
    out.set(name, f);
  };
  for (const doc of [layers.server, layers.tenant]) {
    for (const [name, f] of Object.entries(doc ?? {})) set(name, f);
  }
  for (const [name, f] of mergePools(layers.pools)) set(name, f);
  for (const [name, f] of Object.entries(layers.user ?? {})) set(name, f);
  const features: { [name: string]: ResolvedFeature<C> } = {};
  for (const name of [...out.keys()].sort()) {
    if (name === RETENTION_POLICY_FEATURE) continue;
    const r = out.get(name) as LayerFeature<C>;
    features[name] = { enabled: r.enabled, ...(r.config === undefined ? {} : { config: r.config }) };
  }
  return features;
}

function retentionLayer(
  doc: LayerDocument | undefined,
  name: 'server' | 'tenant' | 'user',
): RetentionLayer | undefined {
  const feature = doc?.[RETENTION_POLICY_FEATURE];
  if (feature === undefined || !feature.enabled) return undefined;
  const config = feature.config as { rules?: unknown } | undefined;
  const given = config?.rules;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return undefined;
  const rules: Record<string, { maxLifetimeMs: unknown; locked: boolean }> = {};
  for (const [cls, rule] of Object.entries(given as Record<string, unknown>)) {
    const r = (typeof rule === 'object' && rule !== null ? rule : {}) as {
      maxLifetimeMs?: unknown;
      locked?: unknown;
    };
    rules[cls] = { maxLifetimeMs: r.maxLifetimeMs ?? null, locked: feature.locked || r.locked === true };
  }
  const layer = { layer: name, rules } as RetentionLayer;
  try {
    parseRetentionPolicy({ layers: [layer] });
    return layer;
  } catch {
    // A malformed layer cannot lengthen anything: it is left out.
    return undefined;
  }
}

/**
 * How long a device may keep a message (class `message.device`, ms; `null` for no limit) from the
 * `retention` feature of the server, tenant and user layers — `config.rules` keyed by retention
 * class, `{ maxLifetimeMs, locked? }`, a locked feature locking each of its rules — as the
 * server's retention resolver reads them (pool layers are not consulted). A malformed layer is
 * left out, never widened.
 *
 * @example
 * ```ts
 * import { policyMessageLifetime } from '@cloister/protocol';
 * policyMessageLifetime({
 *   tenant: { retention: { enabled: true, locked: true, config: { rules: { 'message.device': { maxLifetimeMs: 86_400_000 } } } } },
 *   pools: [],
 * }); // 86400000
 * ```
 */
export function policyMessageLifetime(layers: PolicyLayers): number | null {
  const found = [
    retentionLayer(layers.server, 'server'),
    retentionLayer(layers.tenant, 'tenant'),
    retentionLayer(layers.user, 'user'),
  ].filter((l): l is RetentionLayer => l !== undefined);
  return resolveRetention({ layers: found }, 'message.device').lifetimeMs;
}
