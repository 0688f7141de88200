/**
 * The pool-rules matrix without React: the rules the pools state (their `mayContact`), and whether
 * two rule sets say the same.
 *
 * @module
 */
import type { PoolView } from '@cloister/admin';

/** Rules as the screen edits them: for each pool, the other pools its members may contact. */
export type RuleMatrix = { readonly [pool: string]: readonly string[] };

/** The rules the pools state now (their `mayContact`, the pool itself left out). */
export function rulesOfPools(pools: readonly PoolView[]): RuleMatrix {
  const ids = new Set(pools.map((p) => p.id));
  const out: Record<string, string[]> = {};
  for (const p of pools) out[p.id] = p.mayContact.filter((c) => c !== p.id && ids.has(c)).sort();
  return out;
}

/** Whether two rule sets say the same. */
export function sameRules(a: RuleMatrix, b: RuleMatrix): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = [...(a[k] ?? [])].sort().join('\n');
    const y = [...(b[k] ?? [])].sort().join('\n');
    if (x !== y) return false;
  }
  return true;
}
