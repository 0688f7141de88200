/**
 * Retention policy resolution (R29): worked examples, the laws of spec/retention.md §4 as
 * fast-check properties against an independent closed-form model, validation of hostile
 * policies, and the expiry helper.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expiresAt,
  parseRetentionPolicy,
  RETENTION_CLASSES,
  RETENTION_LAYERS,
  type RetentionClamp,
  type RetentionClass,
  type RetentionLayer,
  type RetentionLayerName,
  type RetentionPolicy,
  type RetentionRule,
  resolveRetention,
  resolveRetentionAll,
  retentionCeiling,
} from '../src/retention/index.js';

const DAY = 86_400_000;
const CLS: RetentionClass = 'message.device';

async function code(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (e) {
    const c = (e as { code?: unknown } | null)?.code;
    if (typeof c === 'string') return c;
    throw e;
  }
  return 'accepted';
}

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return String((e as { field?: unknown }).field);
  }
  return 'accepted';
}

/** `a <= b` where null is forever. */
function notLonger(a: number | null, b: number | null): boolean {
  return b === null || (a !== null && a <= b);
}
function minLife(a: number | null, b: number | null): number | null {
  return notLonger(a, b) ? a : b;
}
function clampValue(v: number | null, c: RetentionClamp | undefined): number | null {
  if (c === undefined) return v;
  if (!notLonger(v, c.maxMs)) return c.maxMs;
  return v !== null && v < c.minMs ? c.minMs : v;
}

/**
 * The closed form of spec/retention.md §3: the most specific rule, bounded by every locked rule
 * less specific than it, then clamped, then the timer. Written independently of the walk in
 * `resolveRetention`.
 */
function model(policy: RetentionPolicy, cls: RetentionClass, timer: number | null): number | null {
  const rules = policy.layers.map((l) => l.rules[cls]).filter((r): r is RetentionRule => r !== undefined);
  const last = rules[rules.length - 1];
  let value: number | null = last === undefined ? null : last.maxLifetimeMs;
  for (const r of rules.slice(0, -1)) if (r.locked === true) value = minLife(value, r.maxLifetimeMs);
  value = clampValue(value, policy.clamps?.[cls]);
  return timer === null ? value : minLife(value, timer);
}

function policy(
  layers: [RetentionLayerName, RetentionRule | undefined][],
  clamp?: RetentionClamp,
): RetentionPolicy {
  return {
    ...(clamp === undefined ? {} : { clamps: { [CLS]: clamp } }),
    layers: layers.map(([layer, rule]) => ({ layer, rules: rule === undefined ? {} : { [CLS]: rule } })),
  };
}

const d = (days: number | null, locked = false): RetentionRule => ({
  maxLifetimeMs: days === null ? null : days * DAY,
  locked,
});

describe('worked examples (spec/retention.md §3.2)', () => {
  const rows: {
    name: string;
    layers: [RetentionLayerName, RetentionRule | undefined][];
    clamp?: RetentionClamp;
    timer?: number;
    lifetime: number | null;
    by: string;
  }[] = [
    { name: 'no layers: forever, server default', layers: [], lifetime: null, by: 'server' },
    { name: 'server default only', layers: [['server', d(365)]], lifetime: 365 * DAY, by: 'server' },
    {
      name: 'unlocked tenant lengthened by user',
      layers: [
        ['tenant', d(30)],
        ['user', d(90)],
      ],
      lifetime: 90 * DAY,
      by: 'user',
    },
    {
      name: 'locked tenant not lengthened by user',
      layers: [
        ['tenant', d(30, true)],
        ['user', d(90)],
      ],
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'locked tenant shortened by user',
      layers: [
        ['tenant', d(30, true)],
        ['user', d(7)],
      ],
      lifetime: 7 * DAY,
      by: 'user',
    },
    {
      name: 'user asks forever under a lock',
      layers: [
        ['tenant', d(30, true)],
        ['user', d(null)],
      ],
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'pool shortens, user lengthens back up to the tenant lock',
      layers: [
        ['server', d(null)],
        ['tenant', d(30, true)],
        ['pool', d(7)],
        ['user', d(90)],
      ],
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'locked pool below a locked tenant wins over user',
      layers: [
        ['tenant', d(30, true)],
        ['pool', d(14, true)],
        ['user', d(20)],
      ],
      lifetime: 14 * DAY,
      by: 'pool',
    },
    {
      name: 'locked pool cannot loosen a locked tenant; its lock keeps the tenant value',
      layers: [
        ['tenant', d(30, true)],
        ['pool', d(60, true)],
        ['group', d(45)],
      ],
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'tie with the lock is credited to the more specific layer',
      layers: [
        ['tenant', d(30, true)],
        ['user', d(30)],
      ],
      lifetime: 30 * DAY,
      by: 'user',
    },
    {
      name: 'layer without a rule is skipped',
      layers: [
        ['tenant', d(30)],
        ['pool', undefined],
        ['user', undefined],
      ],
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'clamp max bounds forever',
      layers: [['user', d(null)]],
      clamp: { minMs: 0, maxMs: 180 * DAY },
      lifetime: 180 * DAY,
      by: 'clamp',
    },
    {
      name: 'clamp min lifts a too-short lifetime',
      layers: [['tenant', d(1, true)]],
      clamp: { minMs: 2 * DAY, maxMs: null },
      lifetime: 2 * DAY,
      by: 'clamp',
    },
    {
      name: 'value equal to the clamp stays with its layer',
      layers: [['group', d(180)]],
      clamp: { minMs: 0, maxMs: 180 * DAY },
      lifetime: 180 * DAY,
      by: 'group',
    },
    {
      name: 'timer shortens',
      layers: [['tenant', d(30, true)]],
      timer: DAY,
      lifetime: DAY,
      by: 'timer',
    },
    {
      name: 'timer below the clamp min still applies',
      layers: [['tenant', d(30)]],
      clamp: { minMs: 7 * DAY, maxMs: null },
      timer: 3_600_000,
      lifetime: 3_600_000,
      by: 'timer',
    },
    {
      name: 'timer longer than the policy changes nothing',
      layers: [['tenant', d(30)]],
      timer: 60 * DAY,
      lifetime: 30 * DAY,
      by: 'tenant',
    },
    {
      name: 'timer on forever',
      layers: [],
      timer: 5_000,
      lifetime: 5_000,
      by: 'timer',
    },
  ];
  it.each(rows)('$name', (row) => {
    const p = policy(row.layers, row.clamp);
    const r = resolveRetention(p, CLS, row.timer === undefined ? {} : { timerMs: row.timer });
    expect(r).toEqual({ lifetimeMs: row.lifetime, decidedBy: row.by });
    expect(r.lifetimeMs).toBe(model(p, CLS, row.timer ?? null));
  });

  it('resolves each class independently', () => {
    const all = resolveRetentionAll({
      clamps: { 'attachment.server': { minMs: 0, maxMs: 30 * DAY } },
      layers: [
        {
          layer: 'tenant',
          rules: {
            'message.device': d(365, true),
            'message.server': d(14),
            'attachment.device': d(90),
          },
        },
        { layer: 'user', rules: { 'message.device': d(null), 'message.server': d(60) } },
      ],
    });
    expect(all).toEqual({
      'message.device': { lifetimeMs: 365 * DAY, decidedBy: 'tenant' },
      'message.server': { lifetimeMs: 60 * DAY, decidedBy: 'user' },
      'attachment.device': { lifetimeMs: 90 * DAY, decidedBy: 'tenant' },
      'attachment.server': { lifetimeMs: 30 * DAY, decidedBy: 'clamp' },
    });
    expect(Object.keys(all)).toEqual([...RETENTION_CLASSES]);
  });

  it('reports the ceiling a layer may choose up to', () => {
    const p = policy(
      [
        ['tenant', d(30, true)],
        ['pool', d(7, true)],
        ['user', d(1)],
      ],
      {
        minMs: 0,
        maxMs: 20 * DAY,
      },
    );
    expect(retentionCeiling(p, CLS, 'tenant')).toEqual({ lifetimeMs: 20 * DAY, decidedBy: 'clamp' });
    expect(retentionCeiling(p, CLS, 'pool')).toEqual({ lifetimeMs: 20 * DAY, decidedBy: 'clamp' });
    expect(retentionCeiling(p, CLS, 'group')).toEqual({ lifetimeMs: 7 * DAY, decidedBy: 'pool' });
    expect(retentionCeiling(p, CLS, 'user')).toEqual({ lifetimeMs: 7 * DAY, decidedBy: 'pool' });
    expect(retentionCeiling(policy([]), CLS, 'user')).toEqual({ lifetimeMs: null, decidedBy: 'user' });
  });
});

// ---- properties ----

const lifetimeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);
const ruleArb: fc.Arbitrary<RetentionRule> = fc.record({ maxLifetimeMs: lifetimeArb, locked: fc.boolean() });
const rulesArb = fc
  .dictionary(fc.constantFrom(...RETENTION_CLASSES), ruleArb, { maxKeys: 4 })
  .map((r) => r as RetentionLayer['rules']);
const clampArb: fc.Arbitrary<RetentionClamp> = fc
  .tuple(fc.integer({ min: 0, max: 60 }), fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }))
  .map(([a, b]) =>
    b === null ? { minMs: a, maxMs: null } : { minMs: Math.min(a, b), maxMs: Math.max(a, b) },
  );
const policyArb: fc.Arbitrary<RetentionPolicy> = fc
  .record({
    present: fc.subarray([...RETENTION_LAYERS]),
    rules: fc.array(rulesArb, { minLength: 5, maxLength: 5 }),
    clamps: fc.option(fc.dictionary(fc.constantFrom(...RETENTION_CLASSES), clampArb, { maxKeys: 4 }), {
      nil: undefined,
    }),
  })
  .map(({ present, rules, clamps }) => ({
    ...(clamps === undefined ? {} : { clamps }),
    layers: present.map((layer, i) => ({ layer, rules: rules[i] ?? {} })),
  }));
const classArb = fc.constantFrom(...RETENTION_CLASSES);
const timerArb = fc.option(fc.integer({ min: 1, max: 70 }), { nil: null });
const rank = (l: string) => RETENTION_LAYERS.indexOf(l as RetentionLayerName);

/** The policy with `layer` (a name not yet present) inserted in its place. */
function withLayer(p: RetentionPolicy, layer: RetentionLayer): RetentionPolicy {
  const layers = [...p.layers.filter((l) => rank(l.layer) < rank(layer.layer)), layer];
  layers.push(...p.layers.filter((l) => rank(l.layer) > rank(layer.layer)));
  return { ...p, layers };
}
function without(p: RetentionPolicy, name: RetentionLayerName): RetentionPolicy {
  return { ...p, layers: p.layers.filter((l) => l.layer !== name) };
}
function lockedRules(
  p: RetentionPolicy,
  cls: RetentionClass,
): { layer: RetentionLayerName; rule: RetentionRule }[] {
  return p.layers.flatMap((l) => {
    const rule = l.rules[cls];
    return rule?.locked === true ? [{ layer: l.layer, rule }] : [];
  });
}

describe('laws (spec/retention.md §4)', () => {
  const runs = { numRuns: 400 };

  it('matches the closed-form model and names a decider that explains the value', () => {
    fc.assert(
      fc.property(policyArb, classArb, timerArb, (p, cls, timer) => {
        const r = resolveRetention(p, cls, { timerMs: timer });
        expect(r.lifetimeMs).toBe(model(p, cls, timer));
        const clamp = p.clamps?.[cls];
        if (r.decidedBy === 'timer') expect(r.lifetimeMs).toBe(timer);
        else if (r.decidedBy === 'clamp') expect([clamp?.minMs, clamp?.maxMs]).toContain(r.lifetimeMs);
        else {
          const rule = p.layers.find((l) => l.layer === r.decidedBy)?.rules[cls];
          if (rule === undefined) {
            // The implicit server default: forever.
            expect(r.decidedBy).toBe('server');
            expect(r.lifetimeMs).toBeNull();
          } else expect(rule.maxLifetimeMs).toBe(r.lifetimeMs);
        }
      }),
      runs,
    );
  });

  it('L1: a locked rule is never loosened by a more specific layer', () => {
    fc.assert(
      fc.property(policyArb, classArb, timerArb, (p, cls, timer) => {
        const r = resolveRetention(p, cls, { timerMs: timer });
        for (const { rule } of lockedRules(p, cls)) {
          expect(notLonger(r.lifetimeMs, clampValue(rule.maxLifetimeMs, p.clamps?.[cls]))).toBe(true);
        }
      }),
      runs,
    );
  });

  it('L2: adding a more specific layer never lengthens a locked maximum', () => {
    fc.assert(
      fc.property(
        policyArb,
        classArb,
        fc.constantFrom(...RETENTION_LAYERS),
        rulesArb,
        ruleArb,
        (p, cls, name, rules, rule) => {
          const before = resolveRetention(without(p, name), cls);
          const after = resolveRetention(
            withLayer(without(p, name), { layer: name, rules: { ...rules, [cls]: rule } }),
            cls,
          );
          for (const locked of lockedRules(without(p, name), cls)) {
            if (rank(locked.layer) >= rank(name)) continue;
            expect(notLonger(after.lifetimeMs, clampValue(locked.rule.maxLifetimeMs, p.clamps?.[cls]))).toBe(
              true,
            );
          }
          // When a locked layer decided, nothing added below it lengthens the result.
          const decider = without(p, name).layers.find((l) => l.layer === before.decidedBy);
          if (decider?.rules[cls]?.locked === true && rank(decider.layer) < rank(name)) {
            expect(notLonger(after.lifetimeMs, before.lifetimeMs)).toBe(true);
          }
        },
      ),
      runs,
    );
  });

  it('L3: without a timer the result is within the clamps; with one, at most the clamp max', () => {
    fc.assert(
      fc.property(policyArb, classArb, timerArb, (p, cls, timer) => {
        const clamp = p.clamps?.[cls] ?? { minMs: 0, maxMs: null };
        const r = resolveRetention(p, cls, { timerMs: timer });
        expect(notLonger(r.lifetimeMs, clamp.maxMs)).toBe(true);
        if (r.decidedBy !== 'timer') expect(notLonger(clamp.minMs, r.lifetimeMs)).toBe(true);
      }),
      runs,
    );
  });

  it('L4: the timer only shortens, and only to itself', () => {
    fc.assert(
      fc.property(policyArb, classArb, fc.integer({ min: 1, max: 70 }), (p, cls, timer) => {
        const plain = resolveRetention(p, cls);
        const timed = resolveRetention(p, cls, { timerMs: timer });
        expect(notLonger(timed.lifetimeMs, plain.lifetimeMs)).toBe(true);
        expect(timed.lifetimeMs).toBe(minLife(plain.lifetimeMs, timer));
        if (notLonger(plain.lifetimeMs, timer)) expect(timed).toEqual(plain);
      }),
      runs,
    );
  });

  it('L5: removing a layer never lowers a ceiling set by locked ancestors, nor lifts a result above one', () => {
    fc.assert(
      fc.property(
        policyArb,
        classArb,
        fc.constantFrom(...RETENTION_LAYERS),
        timerArb,
        (p, cls, removed, timer) => {
          const q = without(p, removed);
          for (const at of RETENTION_LAYERS) {
            const before = retentionCeiling(p, cls, at).lifetimeMs;
            expect(notLonger(before, retentionCeiling(q, cls, at).lifetimeMs)).toBe(true);
          }
          const r = resolveRetention(q, cls, { timerMs: timer });
          for (const { rule } of lockedRules(q, cls)) {
            expect(notLonger(r.lifetimeMs, clampValue(rule.maxLifetimeMs, p.clamps?.[cls]))).toBe(true);
          }
          // With every layer below the most specific locked one removed, that rule applies in full.
          const locks = lockedRules(p, cls);
          const deepest = locks[locks.length - 1];
          if (deepest !== undefined) {
            const truncated = { ...p, layers: p.layers.filter((l) => rank(l.layer) <= rank(deepest.layer)) };
            const cap = retentionCeiling(p, cls, deepest.layer).lifetimeMs;
            expect(resolveRetention(truncated, cls).lifetimeMs).toBe(
              clampValue(minLife(deepest.rule.maxLifetimeMs, cap), p.clamps?.[cls]),
            );
          }
        },
      ),
      runs,
    );
  });

  it('a result never exceeds the ceiling of its most specific layer', () => {
    fc.assert(
      fc.property(policyArb, classArb, (p, cls) => {
        const last = p.layers.filter((l) => l.rules[cls] !== undefined).at(-1);
        if (last === undefined) return;
        const r = resolveRetention(p, cls);
        expect(notLonger(r.lifetimeMs, retentionCeiling(p, cls, last.layer).lifetimeMs)).toBe(true);
      }),
      runs,
    );
  });

  it('L6: deterministic, pure, and unchanged by a JSON round trip', () => {
    fc.assert(
      fc.property(policyArb, classArb, timerArb, (p, cls, timer) => {
        const snapshot = JSON.stringify(p);
        const a = resolveRetention(p, cls, { timerMs: timer });
        const b = resolveRetention(JSON.parse(snapshot) as RetentionPolicy, cls, { timerMs: timer });
        expect(b).toEqual(a);
        expect(resolveRetention(parseRetentionPolicy(p), cls, { timerMs: timer })).toEqual(a);
        expect(JSON.stringify(p)).toBe(snapshot);
        expect(Object.isFrozen(a)).toBe(true);
      }),
      runs,
    );
  });
});

describe('validation', () => {
  const good = { maxLifetimeMs: DAY };
  const bad: [string, unknown, string][] = [
    ['not an object', 42, 'policy'],
    ['null', null, 'policy'],
    ['layers missing', {}, 'policy.layers'],
    ['layers not an array', { layers: {} }, 'policy.layers'],
    [
      'too many layers',
      { layers: Array.from({ length: 6 }, () => ({ layer: 'user', rules: {} })) },
      'policy.layers',
    ],
    ['layer not an object', { layers: ['tenant'] }, 'policy.layers[0]'],
    ['unknown layer', { layers: [{ layer: 'department', rules: {} }] }, 'policy.layers[0].layer'],
    [
      'layers out of order',
      {
        layers: [
          { layer: 'user', rules: {} },
          { layer: 'tenant', rules: {} },
        ],
      },
      'policy.layers[1].layer',
    ],
    [
      'layer repeated',
      {
        layers: [
          { layer: 'pool', rules: {} },
          { layer: 'pool', rules: {} },
        ],
      },
      'policy.layers[1].layer',
    ],
    ['rules missing', { layers: [{ layer: 'tenant' }] }, 'policy.layers[0].rules'],
    ['rules an array', { layers: [{ layer: 'tenant', rules: [] }] }, 'policy.layers[0].rules'],
    [
      'malformed class',
      { layers: [{ layer: 'tenant', rules: { 'Message!': good } }] },
      'policy.layers[0].rules[]',
    ],
    [
      '__proto__ class',
      JSON.parse('{"layers":[{"layer":"tenant","rules":{"__proto__":{}}}]}'),
      'policy.layers[0].rules[]',
    ],
    ...(
      [
        ['negative', -1],
        ['NaN', Number.NaN],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['fractional', 1.5],
        ['unsafe', 2 ** 53],
        ['string', '86400000'],
        ['missing', undefined],
      ] as const
    ).map(([name, v]): [string, unknown, string] => [
      `lifetime ${name}`,
      {
        layers: [
          { layer: 'tenant', rules: { 'message.server': v === undefined ? {} : { maxLifetimeMs: v } } },
        ],
      },
      'policy.layers[0].rules.message.server.maxLifetimeMs',
    ]),
    [
      'rule not an object',
      { layers: [{ layer: 'user', rules: { 'message.device': 5 } }] },
      'policy.layers[0].rules.message.device',
    ],
    [
      'locked not a boolean',
      { layers: [{ layer: 'user', rules: { 'message.device': { maxLifetimeMs: 1, locked: 'yes' } } }] },
      'policy.layers[0].rules.message.device.locked',
    ],
    ['clamps not an object', { clamps: 3, layers: [] }, 'policy.clamps'],
    [
      'clamp min > max',
      { clamps: { 'message.device': { minMs: 10, maxMs: 5 } }, layers: [] },
      'policy.clamps.message.device',
    ],
    [
      'clamp min negative',
      { clamps: { 'message.device': { minMs: -1, maxMs: 5 } }, layers: [] },
      'policy.clamps.message.device.minMs',
    ],
    [
      'clamp min NaN',
      { clamps: { 'message.device': { minMs: Number.NaN, maxMs: null } }, layers: [] },
      'policy.clamps.message.device.minMs',
    ],
    [
      'clamp max missing',
      { clamps: { 'message.device': { minMs: 0 } }, layers: [] },
      'policy.clamps.message.device.maxMs',
    ],
    [
      'clamp max fractional',
      { clamps: { 'message.device': { minMs: 0, maxMs: 0.5 } }, layers: [] },
      'policy.clamps.message.device.maxMs',
    ],
  ];

  it.each(bad)('rejects %s', async (_name, input, field) => {
    expect(await code(() => parseRetentionPolicy(input))).toBe('ERR_VALIDATION');
    expect(fieldOf(() => parseRetentionPolicy(input))).toBe(field);
    expect(await code(() => resolveRetention(input as RetentionPolicy, CLS))).toBe('ERR_VALIDATION');
  });

  it('keeps forward compatibility: well-formed unknown classes are dropped, known ones kept', () => {
    const parsed = parseRetentionPolicy({
      clamps: { 'call.server': { minMs: 0, maxMs: 1 } },
      layers: [{ layer: 'tenant', rules: { 'call.device': { maxLifetimeMs: 1 }, 'message.device': good } }],
    });
    expect(parsed).toEqual({
      clamps: {},
      layers: [{ layer: 'tenant', rules: { 'message.device': { maxLifetimeMs: DAY, locked: false } } }],
    });
    expect(Object.isFrozen(parsed.layers[0]?.rules)).toBe(true);
  });

  it('rejects a bad class, timer or layer argument', async () => {
    const p = policy([['tenant', d(30)]]);
    expect(await code(() => resolveRetention(p, 'call.device' as RetentionClass))).toBe('ERR_VALIDATION');
    for (const timerMs of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(await code(() => resolveRetention(p, CLS, { timerMs: timerMs as number }))).toBe(
        'ERR_VALIDATION',
      );
    }
    expect(await code(() => resolveRetention(p, CLS, { timerMs: 1 }))).toBe('accepted');
    expect(await code(() => retentionCeiling(p, CLS, 'org' as RetentionLayerName))).toBe('ERR_VALIDATION');
  });
});

describe('expiresAt', () => {
  it('adds the lifetime, keeps forever as null, saturates instead of overflowing', () => {
    expect(expiresAt(1_000, { lifetimeMs: 500, decidedBy: 'user' })).toBe(1_500);
    expect(expiresAt(1_000, { lifetimeMs: 0, decidedBy: 'clamp' })).toBe(1_000);
    expect(expiresAt(1_000, { lifetimeMs: null, decidedBy: 'server' })).toBeNull();
    const max = Number.MAX_SAFE_INTEGER;
    expect(expiresAt(max - 10, { lifetimeMs: 10, decidedBy: 'user' })).toBe(max);
    expect(expiresAt(max - 10, { lifetimeMs: 11, decidedBy: 'user' })).toBe(max);
    expect(expiresAt(max, { lifetimeMs: max, decidedBy: 'user' })).toBe(max);
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (created, life) => {
        const at = expiresAt(created, { lifetimeMs: life, decidedBy: 'tenant' }) as number;
        expect(Number.isSafeInteger(at)).toBe(true);
        expect(at).toBe(Math.min(created + life, Number.MAX_SAFE_INTEGER));
        expect(at >= created).toBe(true);
      }),
    );
  });

  it('rejects bad inputs', async () => {
    for (const created of [-1, 1.5, Number.NaN, 2 ** 53, '1']) {
      expect(await code(() => expiresAt(created as number, { lifetimeMs: 1, decidedBy: 'user' }))).toBe(
        'ERR_VALIDATION',
      );
    }
    for (const lifetimeMs of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, undefined]) {
      expect(await code(() => expiresAt(0, { lifetimeMs, decidedBy: 'user' } as never))).toBe(
        'ERR_VALIDATION',
      );
    }
    expect(await code(() => expiresAt(0, null as never))).toBe('ERR_VALIDATION');
  });
});
