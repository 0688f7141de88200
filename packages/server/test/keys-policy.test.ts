import { type PoolId, poolId } from '@cloister/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayContact, type PoolRules, poolRulesFrom } from '../src/policy-pools.js';

const mkt = poolId('marketing');
const ops = poolId('operations');
const acc = poolId('accounting');
const board = poolId('board');

const rules = poolRulesFrom([
  { id: mkt, mayContact: [ops] },
  { id: ops, mayContact: [] },
  { id: acc, mayContact: [] },
  { id: board, mayContact: [mkt, ops, acc] },
]);

describe('mayContact: examples', () => {
  it('lets users of one pool reach each other', () => {
    expect(mayContact([mkt], [mkt], rules)).toBe(true);
    expect(mayContact([acc], [acc], rules)).toBe(true);
  });

  it('keeps different pools apart unless a rule allows it', () => {
    expect(mayContact([mkt], [acc], rules)).toBe(false);
    expect(mayContact([acc], [mkt], rules)).toBe(false);
    expect(mayContact([ops], [acc], rules)).toBe(false);
  });

  it('treats mayContact as one-way', () => {
    expect(mayContact([mkt], [ops], rules)).toBe(true);
    expect(mayContact([ops], [mkt], rules)).toBe(false);
    expect(mayContact([board], [acc], rules)).toBe(true);
    expect(mayContact([acc], [board], rules)).toBe(false);
  });

  it('lets the open area reach only the open area', () => {
    expect(mayContact([], [], rules)).toBe(true);
    expect(mayContact([], [mkt], rules)).toBe(false);
    expect(mayContact([mkt], [], rules)).toBe(false);
    expect(mayContact([board], [], rules)).toBe(false);
  });

  it('lets a user in several pools use any of them, on either side', () => {
    expect(mayContact([acc, ops], [acc], rules)).toBe(true);
    expect(mayContact([acc], [acc, ops], rules)).toBe(true);
    expect(mayContact([mkt], [acc, ops], rules)).toBe(true);
    expect(mayContact([acc, ops], [mkt], rules)).toBe(false);
    expect(mayContact([acc, mkt], [ops], rules)).toBe(true);
  });

  it('gives a pool without rules, or one missing from the map, only its own members', () => {
    const stray = poolId('stray');
    expect(mayContact([stray], [stray], rules)).toBe(true);
    expect(mayContact([stray], [mkt], rules)).toBe(false);
    expect(mayContact([mkt], [stray], new Map())).toBe(false);
  });

  it('consults only the caller pools rules', () => {
    // The target's pool lists the caller's pool: that does not open the caller's way.
    const r = poolRulesFrom([{ id: ops, mayContact: [acc] }]);
    expect(mayContact([acc], [ops], r)).toBe(false);
    expect(mayContact([ops], [acc], r)).toBe(true);
  });
});

const POOLS = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'].map((p) => poolId(p));
const poolArb = fc.constantFrom(...POOLS);
const poolsArb = fc.array(poolArb, { maxLength: 4 });
const rulesArb = fc
  .array(fc.tuple(poolArb, fc.array(poolArb, { maxLength: 4 })), { maxLength: 8 })
  .map((entries): PoolRules => new Map(entries));

/** The rule written out as a formula over all pairs, independent of the implementation's loops. */
function model(c: readonly PoolId[], t: readonly PoolId[], r: PoolRules): boolean {
  if (c.length === 0 && t.length === 0) return true;
  return c.some((cp) => t.some((tp) => cp === tp || (r.get(cp) ?? []).includes(tp)));
}

describe('mayContact: properties', () => {
  it('matches the rule over all pool pairs', () => {
    fc.assert(
      fc.property(poolsArb, poolsArb, rulesArb, (c, t, r) => {
        expect(mayContact(c, t, r)).toBe(model(c, t, r));
      }),
    );
  });

  it('always lets a user reach their own pools (and the open area itself)', () => {
    fc.assert(
      fc.property(poolsArb, rulesArb, (p, r) => {
        expect(mayContact(p, p, r)).toBe(true);
      }),
    );
  });

  it('never connects the open area with a pool, whatever the rules', () => {
    fc.assert(
      fc.property(fc.array(poolArb, { minLength: 1, maxLength: 4 }), rulesArb, (p, r) => {
        expect(mayContact([], p, r)).toBe(false);
        expect(mayContact(p, [], r)).toBe(false);
      }),
    );
  });

  it('with no rules at all is symmetric and means "share a pool"', () => {
    fc.assert(
      fc.property(poolsArb, poolsArb, (c, t) => {
        const empty = new Map<PoolId, readonly PoolId[]>();
        expect(mayContact(c, t, empty)).toBe(mayContact(t, c, empty));
        if (c.length > 0 && t.length > 0) {
          expect(mayContact(c, t, empty)).toBe(c.some((p) => t.includes(p)));
        }
      }),
    );
  });

  it('does not depend on order or repetition of the pool lists', () => {
    fc.assert(
      fc.property(poolsArb, poolsArb, rulesArb, (c, t, r) => {
        const want = mayContact(c, t, r);
        expect(mayContact([...c].reverse(), [...t, ...t].reverse(), r)).toBe(want);
        expect(mayContact([...c, ...c], t, r)).toBe(want);
      }),
    );
  });

  it('only widens when a pool (with its rules) is added to either side', () => {
    fc.assert(
      fc.property(
        fc.array(poolArb, { minLength: 1, maxLength: 4 }),
        fc.array(poolArb, { minLength: 1, maxLength: 4 }),
        poolArb,
        poolArb,
        rulesArb,
        (c, t, x, y, r) => {
          if (mayContact(c, t, r)) {
            expect(mayContact([...c, x], t, r)).toBe(true);
            expect(mayContact(c, [...t, y], r)).toBe(true);
          }
        },
      ),
    );
  });

  it('ignores the rules of pools the caller is not in', () => {
    fc.assert(
      fc.property(poolsArb, poolsArb, rulesArb, rulesArb, (c, t, r1, r2) => {
        // r2's entries for pools outside the caller's list may differ arbitrarily.
        const merged = new Map(r2);
        for (const p of c) {
          const own = r1.get(p);
          if (own === undefined) merged.delete(p);
          else merged.set(p, own);
        }
        expect(mayContact(c, t, merged)).toBe(mayContact(c, t, r1));
      }),
    );
  });

  it('a one-way rule is not returned (not symmetric in general)', () => {
    fc.assert(
      fc.property(poolArb, poolArb, (a, b) => {
        fc.pre(a !== b);
        const r: PoolRules = new Map([[a, [b]]]);
        expect(mayContact([a], [b], r)).toBe(true);
        expect(mayContact([b], [a], r)).toBe(false);
      }),
    );
  });
});
