/**
 * The retention resolver: one pure function from a policy, a data class and an optional
 * disappearing-message timer to the lifetime that applies and the layer that decided it. No I/O,
 * no clock. The algorithm and its laws are in `spec/retention.md` §3–§4.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import {
  checkDisappearingTimer,
  NO_CLAMP,
  parseRetentionPolicy,
  RETENTION_CLASSES,
  RETENTION_LAYERS,
  type RetentionClass,
  type RetentionLayerName,
  type RetentionPolicy,
} from './policy.js';

/**
 * Who decided a resolved lifetime: a policy layer, the server clamps, or the timer.
 *
 * @example
 * ```ts
 * const who: RetentionDecider = resolveRetention(policy, 'message.device').decidedBy; // e.g. 'tenant'
 * ```
 */
export type RetentionDecider = RetentionLayerName | 'clamp' | 'timer';

/**
 * A resolved lifetime: how long data of one class may be kept after it was created (ms, `null`
 * for forever) and who decided it, for display and audit.
 *
 * @example
 * ```ts
 * const { lifetimeMs, decidedBy }: RetentionResolution = resolveRetention(policy, 'message.device');
 * ```
 */
export interface RetentionResolution {
  /** How long data may be kept after its creation, in ms; `null`: forever. */
  readonly lifetimeMs: number | null;
  /** The layer, the clamp or the timer that set `lifetimeMs`. */
  readonly decidedBy: RetentionDecider;
}

/**
 * Options of {@link resolveRetention}.
 *
 * @example
 * ```ts
 * const options: ResolveRetentionOptions = { timerMs: 86_400_000 }; // a one-day disappearing timer
 * resolveRetention(policy, 'message.device', options).lifetimeMs; // at most 86400000
 * ```
 */
export interface ResolveRetentionOptions {
  /**
   * The conversation's disappearing-message timer in ms (a positive integer), or `null` or
   * absent for none. It can only shorten the result.
   */
  readonly timerMs?: number | null;
}

/** `a` is strictly longer than `b`, where `null` is forever. */
function longer(a: number | null, b: number | null): boolean {
  if (a === null) return b !== null;
  return b !== null && a > b;
}

function checkClass(cls: unknown): RetentionClass {
  if (typeof cls !== 'string' || !(RETENTION_CLASSES as readonly string[]).includes(cls)) {
    throw new ValidationError('class', `one of ${RETENTION_CLASSES.join(', ')}`);
  }
  return cls as RetentionClass;
}

/**
 * Resolves the lifetime of one data class. Step by step (`spec/retention.md` §3):
 *
 * 1. Start with forever, decided by `server` (the implicit server default).
 * 2. Walk the layers from least to most specific. A layer with a rule for the class replaces
 *    the value with its own, except that it cannot go above the shortest lifetime of a locked
 *    rule seen so far: then that locked value stays, decided by its layer. A locked rule lowers
 *    the cap to the (possibly capped) value it leaves behind.
 * 3. Clamp into the server bounds `[minMs, maxMs]`; if that changes the value, `clamp` decided.
 * 4. A timer shorter than the value replaces it (`timer`).
 *
 * Ties never change who decided. The policy is checked on every call (`ValidationError`).
 *
 * @example
 * ```ts
 * const DAY = 86_400_000;
 * const r = resolveRetention(
 *   {
 *     layers: [
 *       { layer: 'tenant', rules: { 'message.device': { maxLifetimeMs: 30 * DAY, locked: true } } },
 *       { layer: 'user', rules: { 'message.device': { maxLifetimeMs: 90 * DAY } } },
 *     ],
 *   },
 *   'message.device',
 * );
 * // r = { lifetimeMs: 30 * DAY, decidedBy: 'tenant' }: the user cannot lengthen a locked rule
 * ```
 */
export function resolveRetention(
  policy: RetentionPolicy,
  cls: RetentionClass,
  options: ResolveRetentionOptions = {},
): RetentionResolution {
  const checked = parseRetentionPolicy(policy);
  const c = checkClass(cls);
  const timer = checkDisappearingTimer(options.timerMs);
  let value: number | null = null;
  let decidedBy: RetentionDecider = 'server';
  let cap: number | null = null;
  let capBy: RetentionDecider = 'server';
  for (const { layer, rules } of checked.layers) {
    const rule = rules[c];
    if (rule === undefined) continue;
    if (longer(rule.maxLifetimeMs, cap)) {
      value = cap;
      decidedBy = capBy;
    } else {
      value = rule.maxLifetimeMs;
      decidedBy = layer;
    }
    if (rule.locked === true) {
      cap = value;
      capBy = decidedBy;
    }
  }
  const clamp = checked.clamps?.[c] ?? NO_CLAMP;
  if (longer(value, clamp.maxMs)) {
    value = clamp.maxMs;
    decidedBy = 'clamp';
  } else if (value !== null && value < clamp.minMs) {
    value = clamp.minMs;
    decidedBy = 'clamp';
  }
  if (timer !== null && longer(value, timer)) {
    value = timer;
    decidedBy = 'timer';
  }
  return Object.freeze({ lifetimeMs: value, decidedBy });
}

/**
 * Resolves every data class at once.
 *
 * @example
 * ```ts
 * const all = resolveRetentionAll(policy, { timerMs: 7 * 86_400_000 });
 * all['attachment.server'].lifetimeMs;
 * ```
 */
export function resolveRetentionAll(
  policy: RetentionPolicy,
  options: ResolveRetentionOptions = {},
): Readonly<Record<RetentionClass, RetentionResolution>> {
  const checked = parseRetentionPolicy(policy);
  const out = {} as Record<RetentionClass, RetentionResolution>;
  for (const cls of RETENTION_CLASSES) out[cls] = resolveRetention(checked, cls, options);
  return Object.freeze(out);
}

/**
 * The longest lifetime a rule at `layer` could obtain for `cls`: what the policy resolves to when
 * `layer` asks for forever and the layers more specific than it are left out, that is the
 * shortest locked rule of the less specific layers, then the clamps. A settings screen shows it
 * as the upper end of what that layer may choose; any longer choice resolves to the ceiling.
 *
 * @example
 * ```ts
 * retentionCeiling(policy, 'message.device', 'user'); // e.g. 30 days, decidedBy 'tenant' (locked)
 * ```
 */
export function retentionCeiling(
  policy: RetentionPolicy,
  cls: RetentionClass,
  layer: RetentionLayerName,
): RetentionResolution {
  const checked = parseRetentionPolicy(policy);
  const c = checkClass(cls);
  const rank = (RETENTION_LAYERS as readonly unknown[]).indexOf(layer);
  if (rank < 0) throw new ValidationError('layer', `one of ${RETENTION_LAYERS.join(', ')}`);
  const layers = checked.layers.filter((l) => RETENTION_LAYERS.indexOf(l.layer) < rank);
  layers.push({
    layer: RETENTION_LAYERS[rank] as RetentionLayerName,
    rules: { [c]: { maxLifetimeMs: null } },
  });
  const clamps = checked.clamps;
  return resolveRetention(clamps === undefined ? { layers } : { clamps, layers }, c);
}

/**
 * When data created at `createdAt` (ms since the epoch) expires under `resolution`: `null` when
 * it is kept forever, otherwise `createdAt + lifetimeMs`, saturated at
 * `Number.MAX_SAFE_INTEGER` (never overflows, always a valid row `expiresAt`).
 *
 * @example
 * ```ts
 * const at = expiresAt(Date.now(), resolveRetention(policy, 'message.server')); // ms since the epoch, or null
 * ```
 */
export function expiresAt(createdAt: number, resolution: RetentionResolution): number | null {
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    throw new ValidationError('createdAt', 'a non-negative safe integer (ms since the epoch)');
  }
  const lifetime = (resolution as { lifetimeMs?: unknown } | null)?.lifetimeMs;
  if (lifetime === null) return null;
  if (typeof lifetime !== 'number' || !Number.isSafeInteger(lifetime) || lifetime < 0) {
    throw new ValidationError('resolution.lifetimeMs', 'null or a non-negative safe integer');
  }
  return lifetime > Number.MAX_SAFE_INTEGER - createdAt ? Number.MAX_SAFE_INTEGER : createdAt + lifetime;
}
