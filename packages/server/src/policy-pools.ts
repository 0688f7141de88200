/**
 * Pool rules (R22): which users may reach which. A pool is a closed area (Marketing, Accounting,
 * a ward); its users may reach the users of the same pool and of the pools the pool's
 * `mayContact` list names, nobody else. The rule is one function of the two users' pool lists and
 * the caller's pools' `mayContact` lists, with no I/O, so that every route that decides "may A
 * message B" decides it the same way.
 *
 * The rule, in full (see `spec/server-keys.md`):
 *
 * - A user in no pool is in the open area: they reach every other user in no pool, and no user in
 *   a pool. A user in a pool reaches no user in the open area.
 * - A user in pools `C` reaches a user in pools `T` when some pool `c` of `C` and some pool `t` of
 *   `T` have `c = t` (they share a pool) or `t` is in the `mayContact` list of `c`.
 * - `mayContact` is one-way: "c lists t" lets the users of `c` reach the users of `t`, not the
 *   reverse. Two-way contact needs each pool in the other's list.
 * - A user reaches themselves (their own other devices) whatever their pools.
 *
 * @module
 */

import type { PoolId } from '@cloister/protocol';
import type { Pool } from './store/index.js';

/**
 * The `mayContact` list of each pool, by pool id. A pool missing from the map has an empty list
 * (its users reach only their own pool's users).
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 * const rules: PoolRules = new Map([[poolId('ward-3'), [poolId('pharmacy')]]]);
 * mayContact([poolId('ward-3')], [poolId('pharmacy')], rules); // → true
 * ```
 */
export type PoolRules = ReadonlyMap<PoolId, readonly PoolId[]>;

/**
 * Builds {@link PoolRules} from stored pools (later entries for the same id replace earlier ones).
 *
 * @example
 * ```ts
 * const caller = await ctx.stores.users.get(me.tenant, me.user);
 * const pools = await Promise.all((caller?.pools ?? []).map((p) => ctx.stores.pools.get(me.tenant, p)));
 * const rules = poolRulesFrom(pools.filter((p) => p !== undefined));
 * ```
 */
export function poolRulesFrom(pools: Iterable<Pick<Pool, 'id' | 'mayContact'>>): PoolRules {
  const rules = new Map<PoolId, readonly PoolId[]>();
  for (const pool of pools) rules.set(pool.id, pool.mayContact);
  return rules;
}

/**
 * Whether a user in `callerPools` may reach (fetch the key bundles of, and so message) a user in
 * `targetPools` under `poolRules`. Pure; the order of the lists and repeated entries do not
 * matter. Not symmetric: `mayContact(a, b, r)` may hold while `mayContact(b, a, r)` does not.
 * Only the rules of the caller's pools are consulted.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 * const rules = new Map([[poolId('ward-3'), [poolId('pharmacy')]]]);
 * mayContact([poolId('ward-3')], [poolId('pharmacy')], rules); // true
 * mayContact([poolId('pharmacy')], [poolId('ward-3')], rules); // false: the rule is one-way
 * mayContact([], [], rules); // true: both in the open area
 * mayContact([], [poolId('ward-3')], rules); // false: a pool is closed to the open area
 * ```
 */
export function mayContact(
  callerPools: readonly PoolId[],
  targetPools: readonly PoolId[],
  poolRules: PoolRules,
): boolean {
  if (callerPools.length === 0 || targetPools.length === 0) {
    return callerPools.length === 0 && targetPools.length === 0;
  }
  const targets = new Set<PoolId>(targetPools);
  for (const pool of callerPools) {
    if (targets.has(pool)) return true;
    for (const reachable of poolRules.get(pool) ?? []) {
      if (targets.has(reachable)) return true;
    }
  }
  return false;
}
