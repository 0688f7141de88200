/**
 * The retention policy model (R29): layered maximum lifetimes per data class, server clamps, and
 * the checks that turn an untrusted policy object (from an admin or the network) into a
 * {@link RetentionPolicy} or a `ValidationError` naming the offending field. Semantics:
 * `spec/retention.md`.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/**
 * The kinds of data a retention policy speaks about. New kinds are added here (and to
 * {@link RetentionKind}); every function below iterates this list.
 *
 * @example
 * ```ts
 * console.log(RETENTION_KINDS); // ["message", "attachment"]
 * ```
 */
export const RETENTION_KINDS = ['message', 'attachment'] as const;
/**
 * Where the data is kept: on the user's devices or on the server.
 *
 * @example
 * ```ts
 * console.log(RETENTION_LOCATIONS); // ["device", "server"]
 * ```
 */
export const RETENTION_LOCATIONS = ['device', 'server'] as const;

/**
 * A kind of data (see {@link RETENTION_KINDS}).
 *
 * @example
 * ```ts
 * const kind: RetentionKind = 'attachment';
 * ```
 */
export type RetentionKind = (typeof RETENTION_KINDS)[number];
/**
 * A place data is kept (see {@link RETENTION_LOCATIONS}).
 *
 * @example
 * ```ts
 * const where: RetentionLocation = 'server';
 * ```
 */
export type RetentionLocation = (typeof RETENTION_LOCATIONS)[number];
/**
 * A data class: a kind at a location, such as `message.device`.
 *
 * @example
 * ```ts
 * const cls: RetentionClass = 'attachment.server';
 * resolveRetention(policy, cls).lifetimeMs; // ms, or null for forever
 * ```
 */
export type RetentionClass = `${RetentionKind}.${RetentionLocation}`;

/**
 * Every data class, kinds major: `message.device`, `message.server`, `attachment.device`,
 * `attachment.server`.
 *
 * @example
 * ```ts
 * for (const cls of RETENTION_CLASSES) console.log(cls, resolveRetention(policy, cls).lifetimeMs);
 * ```
 */
export const RETENTION_CLASSES: readonly RetentionClass[] = Object.freeze(
  RETENTION_KINDS.flatMap((k) => RETENTION_LOCATIONS.map((l): RetentionClass => `${k}.${l}`)),
);

/**
 * The policy layers from least to most specific. A policy lists its layers in this order, each
 * at most once.
 *
 * @example
 * ```ts
 * RETENTION_LAYERS.indexOf('tenant'); // 1
 * ```
 */
export const RETENTION_LAYERS = ['server', 'tenant', 'pool', 'group', 'user'] as const;
/**
 * A policy layer (see {@link RETENTION_LAYERS}).
 *
 * @example
 * ```ts
 * const layer: RetentionLayerName = 'tenant';
 * ```
 */
export type RetentionLayerName = (typeof RETENTION_LAYERS)[number];

/**
 * What one layer says about one data class. `maxLifetimeMs` is the longest time data may be kept
 * after it was created, in milliseconds, or `null` to keep it forever. A `locked` rule cannot be
 * lengthened by any more specific layer (they may still shorten it).
 *
 * @example
 * ```ts
 * const rule: RetentionRule = { maxLifetimeMs: 30 * 86_400_000, locked: true }; // 30 days, for every layer below
 * ```
 */
export interface RetentionRule {
  /** Longest time data may be kept after its creation, in ms (a non-negative safe integer); `null`: forever. */
  readonly maxLifetimeMs: number | null;
  /** True when more specific layers may not lengthen the rule (default false). */
  readonly locked?: boolean;
}

/**
 * The rules of one layer; a class without a rule is left to the other layers.
 *
 * @example
 * ```ts
 * const rules: RetentionRules = { 'message.device': { maxLifetimeMs: 90 * 86_400_000 }, 'attachment.server': { maxLifetimeMs: null } };
 * ```
 */
export type RetentionRules = { readonly [C in RetentionClass]?: RetentionRule };

/**
 * One layer of a policy: its name and its rules.
 *
 * @example
 * ```ts
 * const tenantLayer: RetentionLayer = { layer: 'tenant', rules: { 'message.server': { maxLifetimeMs: 7 * 86_400_000 } } };
 * ```
 */
export interface RetentionLayer {
  /** Which layer this is. */
  readonly layer: RetentionLayerName;
  /** Its rules by data class. */
  readonly rules: RetentionRules;
}

/**
 * The server's bounds on every resolved lifetime of one class: at least `minMs`, at most `maxMs`
 * (`null`: no upper bound, so "keep forever" is allowed).
 *
 * @example
 * ```ts
 * const clamp: RetentionClamp = { minMs: 86_400_000, maxMs: 30 * 86_400_000 }; // 1 to 30 days
 * ```
 */
export interface RetentionClamp {
  /** Shortest resolved lifetime, ms. */
  readonly minMs: number;
  /** Longest resolved lifetime, ms; `null`: no upper bound. */
  readonly maxMs: number | null;
}

/**
 * The clamps per data class; a class without one is bounded by `{ minMs: 0, maxMs: null }`.
 *
 * @example
 * ```ts
 * const clamps: RetentionClamps = { 'message.server': { minMs: 0, maxMs: 30 * 86_400_000 } };
 * ```
 */
export type RetentionClamps = { readonly [C in RetentionClass]?: RetentionClamp };

/**
 * A complete retention policy as seen for one user in one conversation: the server's clamps and
 * the layers that apply, least specific first.
 *
 * @example
 * ```ts
 * const DAY = 86_400_000;
 * const policy: RetentionPolicy = {
 *   clamps: { 'message.server': { minMs: 0, maxMs: 30 * DAY } },
 *   layers: [
 *     { layer: 'server', rules: { 'message.device': { maxLifetimeMs: null } } },
 *     { layer: 'tenant', rules: { 'message.device': { maxLifetimeMs: 365 * DAY, locked: true } } },
 *     { layer: 'user', rules: { 'message.device': { maxLifetimeMs: 90 * DAY } } },
 *   ],
 * };
 * ```
 */
export interface RetentionPolicy {
  /** The server's bounds per data class. */
  readonly clamps?: RetentionClamps;
  /** The layers that apply, least specific first, each at most once. */
  readonly layers: readonly RetentionLayer[];
}

/**
 * The clamp of a class without one: no lower and no upper bound.
 *
 * @example
 * ```ts
 * const clamp = policy.clamps?.['message.server'] ?? NO_CLAMP;
 * ```
 */
export const NO_CLAMP: RetentionClamp = Object.freeze({ minMs: 0, maxMs: null });

const CLASS_NAME = /^[a-z][a-z0-9-]{0,31}\.[a-z][a-z0-9-]{0,31}$/;
const MAX_EXTRA_CLASSES = 64;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKnownClass(name: string): name is RetentionClass {
  return (RETENTION_CLASSES as readonly string[]).includes(name);
}

function checkMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, 'a non-negative safe integer of milliseconds');
  }
  return value;
}

function checkLifetime(value: unknown, field: string): number | null {
  return value === null ? null : checkMs(value, field);
}

/**
 * Walks the keys of a per-class map: known classes are handed to `each`, well-formed class names
 * this version does not know are skipped (a newer peer may send them), anything else is an error.
 */
function forEachClass(
  map: unknown,
  field: string,
  each: (cls: RetentionClass, value: unknown) => void,
): void {
  if (!isObject(map)) throw new ValidationError(field, 'an object keyed by data class');
  let extra = 0;
  for (const name of Object.keys(map)) {
    if (isKnownClass(name)) each(name, map[name]);
    else if (!CLASS_NAME.test(name) || ++extra > MAX_EXTRA_CLASSES) {
      throw new ValidationError(`${field}[]`, 'data class names of the form kind.location');
    }
  }
}

function checkRule(value: unknown, field: string): RetentionRule {
  if (!isObject(value)) throw new ValidationError(field, 'an object { maxLifetimeMs, locked? }');
  if (!('maxLifetimeMs' in value))
    throw new ValidationError(`${field}.maxLifetimeMs`, 'null or milliseconds');
  const maxLifetimeMs = checkLifetime(value.maxLifetimeMs, `${field}.maxLifetimeMs`);
  const locked = value.locked;
  if (locked !== undefined && typeof locked !== 'boolean') {
    throw new ValidationError(`${field}.locked`, 'a boolean');
  }
  return Object.freeze({ maxLifetimeMs, locked: locked === true });
}

function checkClamp(value: unknown, field: string): RetentionClamp {
  if (!isObject(value)) throw new ValidationError(field, 'an object { minMs, maxMs }');
  const minMs = checkMs(value.minMs, `${field}.minMs`);
  if (!('maxMs' in value)) throw new ValidationError(`${field}.maxMs`, 'null or milliseconds');
  const maxMs = checkLifetime(value.maxMs, `${field}.maxMs`);
  if (maxMs !== null && minMs > maxMs) throw new ValidationError(field, 'minMs <= maxMs');
  return Object.freeze({ minMs, maxMs });
}

/**
 * Checks an untrusted policy object and returns a frozen, normalised copy (`locked` always
 * present, unknown but well-formed class names dropped). Throws `ValidationError` naming the
 * field on: a non-object, a lifetime or clamp that is negative, fractional, NaN or unsafe, a
 * clamp with `minMs > maxMs`, an unknown layer name, layers out of order or repeated, more than
 * {@link RETENTION_LAYERS}`.length` layers, or a malformed class name.
 *
 * @example
 * ```ts
 * const policy = parseRetentionPolicy(JSON.parse(new TextDecoder().decode(bytes))); // ValidationError when bad
 * const device = resolveRetention(policy, 'message.device');
 * ```
 */
export function parseRetentionPolicy(input: unknown): RetentionPolicy {
  if (!isObject(input)) throw new ValidationError('policy', 'an object { clamps?, layers }');
  const clamps: { [C in RetentionClass]?: RetentionClamp } = {};
  if (input.clamps !== undefined) {
    forEachClass(input.clamps, 'policy.clamps', (cls, value) => {
      clamps[cls] = checkClamp(value, `policy.clamps.${cls}`);
    });
  }
  const rawLayers = input.layers;
  if (!Array.isArray(rawLayers) || rawLayers.length > RETENTION_LAYERS.length) {
    throw new ValidationError('policy.layers', `an array of at most ${RETENTION_LAYERS.length} layers`);
  }
  const layers: RetentionLayer[] = [];
  let previous = -1;
  rawLayers.forEach((raw: unknown, i) => {
    const field = `policy.layers[${i}]`;
    if (!isObject(raw)) throw new ValidationError(field, 'an object { layer, rules }');
    const rank = (RETENTION_LAYERS as readonly unknown[]).indexOf(raw.layer);
    if (rank < 0) throw new ValidationError(`${field}.layer`, `one of ${RETENTION_LAYERS.join(', ')}`);
    if (rank <= previous) {
      throw new ValidationError(
        `${field}.layer`,
        'layers in the order server, tenant, pool, group, user, each once',
      );
    }
    previous = rank;
    const rules: { [C in RetentionClass]?: RetentionRule } = {};
    forEachClass(raw.rules, `${field}.rules`, (cls, value) => {
      rules[cls] = checkRule(value, `${field}.rules.${cls}`);
    });
    layers.push(
      Object.freeze({ layer: RETENTION_LAYERS[rank] as RetentionLayerName, rules: Object.freeze(rules) }),
    );
  });
  return Object.freeze({ clamps: Object.freeze(clamps), layers: Object.freeze(layers) });
}

/**
 * Checks a disappearing-message timer: `undefined` or `null` (no timer) or a positive safe
 * integer of milliseconds.
 *
 * @example
 * ```ts
 * const timer = checkDisappearingTimer(7 * 86_400_000); // 604800000; 0, -1, 1.5, NaN -> ValidationError
 * ```
 */
export function checkDisappearingTimer(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError('timerMs', 'null or a positive safe integer of milliseconds');
  }
  return value;
}
