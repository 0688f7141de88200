/**
 * The policy editor's model, without React: a signed layer's document read into form rows (one per
 * well-known restriction, `spec/restrictions.md` §1, plus the layer's other features), the checks
 * of each row, and the document a form stands for (the restrictions written with the protocol's
 * `restrictionsToLayer`, the other features with their signed config kept). Also which settings a
 * less specific layer locks for a target.
 *
 * @module
 */
import type { RestrictionChange, RestrictionLayer } from '@cloister/admin';
import {
  ARCHIVE_FEATURE,
  isMediaTypePattern,
  type LayerDocument,
  MAX_MEDIA_TYPE_PATTERNS,
  MEDIA_TYPE_GROUPS,
  type NotificationPreview,
  RESTRICTION_NAMES,
  RESTRICTIONS,
  type RestrictionName,
  restrictionsToLayer,
  type SignedPolicyFeature,
} from '@cloister/protocol';

/** The restrictions the editor sets (`archive` has its own ceremony in the compliance area). */
export type EditableRestriction = Exclude<RestrictionName, 'archive'>;

/** The editable restrictions, in the protocol's order. */
export const EDITABLE_RESTRICTIONS = RESTRICTION_NAMES.filter(
  (n): n is EditableRestriction => n !== 'archive',
);

/** The on/off restrictions. */
export const BOOLEAN_RESTRICTIONS = EDITABLE_RESTRICTIONS.filter((n) => RESTRICTIONS[n].type === 'boolean');

/** A time unit of a duration field. */
export type DurationUnit = 'minutes' | 'hours' | 'days';

/** Milliseconds per unit. */
export const UNIT_MS: Readonly<Record<DurationUnit, number>> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};

/** A duration as typed: an amount (text, may be empty) and its unit. */
export interface DurationField {
  readonly amount: string;
  readonly unit: DurationUnit;
}

/** The named media type groups the editor offers (`MEDIA_TYPE_GROUPS` without `all`). */
export const MEDIA_GROUPS = ['images', 'video', 'audio', 'documents'] as const;

/** A media group name. */
export type MediaGroup = (typeof MEDIA_GROUPS)[number];

/** The value fields of each restriction. */
export interface RowValues {
  /** On/off restrictions: allowed. */
  readonly allowed: boolean;
  /** `media.send`: every type (`*\/*`). */
  readonly allTypes: boolean;
  /** `media.send`: the named groups. */
  readonly groups: readonly MediaGroup[];
  /** `media.send`: further patterns, comma separated. */
  readonly extra: string;
  /** `notifications.preview`. */
  readonly preview: NotificationPreview;
  /** `messages.lifetime`: none (no limit) or the duration. */
  readonly lifetime: DurationField;
  /** `disappearing.timer`: shortest timer (empty: no minimum). */
  readonly timerMin: DurationField;
  /** `disappearing.timer`: longest timer (empty: no maximum). */
  readonly timerMax: DurationField;
}

/** One restriction's row: whether this layer sets it, its lock and its values. */
export interface RestrictionRow {
  readonly set: boolean;
  readonly locked: boolean;
  readonly values: RowValues;
}

/** A feature of the layer that is not a well-known restriction (an app's own): on/off and lock. */
export interface OtherFeatureRow {
  readonly name: string;
  readonly enabled: boolean;
  readonly locked: boolean;
  /** The feature carries settings of its own (kept as signed). */
  readonly hasConfig: boolean;
}

/** The whole form of one layer. */
export interface PolicyForm {
  readonly rows: { readonly [N in EditableRestriction]: RestrictionRow };
  readonly others: readonly OtherFeatureRow[];
}

const EMPTY_DURATION: DurationField = { amount: '', unit: 'days' };

/** The field of a duration in ms (the largest unit that divides it). */
export function durationField(ms: number | null | undefined): DurationField {
  if (ms === null || ms === undefined) return EMPTY_DURATION;
  for (const unit of ['days', 'hours', 'minutes'] as const) {
    if (ms % UNIT_MS[unit] === 0) return { amount: String(ms / UNIT_MS[unit]), unit };
  }
  return { amount: String(ms / UNIT_MS.minutes), unit: 'minutes' };
}

/** The ms of a duration field: undefined when empty, NaN when not a non-negative number. */
export function durationMs(field: DurationField): number | undefined {
  const text = field.amount.trim().replace(',', '.');
  if (text === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) return Number.NaN;
  const ms = Math.round(Number(text) * UNIT_MS[field.unit]);
  return Number.isSafeInteger(ms) ? ms : Number.NaN;
}

const DEFAULT_VALUES: RowValues = {
  allowed: true,
  allTypes: true,
  groups: [],
  extra: '',
  preview: 'full',
  lifetime: EMPTY_DURATION,
  timerMin: EMPTY_DURATION,
  timerMax: EMPTY_DURATION,
};

/** The media fields of a list of patterns: the `all` flag, the named groups fully present, the rest. */
export function mediaFields(types: readonly string[]): Pick<RowValues, 'allTypes' | 'groups' | 'extra'> {
  const left = new Set(types);
  const allTypes = left.delete('*/*');
  const groups: MediaGroup[] = [];
  for (const g of MEDIA_GROUPS) {
    const patterns = MEDIA_TYPE_GROUPS[g] as readonly string[];
    if (patterns.every((p) => left.has(p))) {
      groups.push(g);
      for (const p of patterns) left.delete(p);
    }
  }
  return { allTypes, groups, extra: [...left].join(', ') };
}

/** The patterns the media fields stand for (deduplicated, in a stable order). */
export function mediaTypes(values: Pick<RowValues, 'allTypes' | 'groups' | 'extra'>): string[] {
  if (values.allTypes) return ['*/*'];
  const out: string[] = [];
  for (const g of values.groups) out.push(...(MEDIA_TYPE_GROUPS[g] as readonly string[]));
  for (const p of values.extra.split(/[,\s]+/)) if (p !== '') out.push(p.trim().toLowerCase());
  return [...new Set(out)];
}

/** The form of a stored layer (or of a layer not published yet). */
export function formOfLayer(layer: RestrictionLayer | undefined): PolicyForm {
  const rows = {} as { [N in EditableRestriction]: RestrictionRow };
  for (const name of EDITABLE_RESTRICTIONS) {
    const s = layer?.settings[name] as { value: unknown; locked?: boolean } | undefined;
    let values: RowValues = DEFAULT_VALUES;
    if (s !== undefined) {
      const v = s.value;
      switch (name) {
        case 'media.send':
          values = { ...values, ...mediaFields(v as readonly string[]) };
          break;
        case 'notifications.preview':
          values = { ...values, preview: v as NotificationPreview };
          break;
        case 'messages.lifetime':
          values = { ...values, lifetime: durationField(v as number | null) };
          break;
        case 'disappearing.timer': {
          const b = v as { minMs: number; maxMs: number | null };
          values = {
            ...values,
            timerMin: b.minMs > 0 ? durationField(b.minMs) : EMPTY_DURATION,
            timerMax: durationField(b.maxMs),
          };
          break;
        }
        default:
          values = { ...values, allowed: v as boolean };
      }
    }
    rows[name] = { set: s !== undefined, locked: s?.locked === true, values };
  }
  return { rows, others: otherFeatures(layer?.document ?? {}) };
}

const RESTRICTION_FEATURES = new Set<string>([
  ...EDITABLE_RESTRICTIONS.map((n) => RESTRICTIONS[n].feature),
  ARCHIVE_FEATURE,
]);

/** The features of a document that are not well-known restrictions nor `archive`, by name. */
export function otherFeatures(document: LayerDocument): OtherFeatureRow[] {
  return Object.entries(document)
    .filter(([name]) => !RESTRICTION_FEATURES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, f]) => ({
      name,
      enabled: f.enabled === true,
      locked: f.locked === true,
      hasConfig: f.config !== undefined,
    }));
}

/** Why a row's values cannot be signed (a message key under `…policies.invalid.`), or undefined. */
export function rowProblem(name: EditableRestriction, row: RestrictionRow): string | undefined {
  if (!row.set) return undefined;
  const v = row.values;
  switch (name) {
    case 'media.send': {
      if (v.allTypes) return undefined;
      const types = mediaTypes(v);
      if (types.some((p) => !isMediaTypePattern(p))) return 'media_pattern';
      if (types.length > MAX_MEDIA_TYPE_PATTERNS) return 'media_count';
      return undefined;
    }
    case 'messages.lifetime': {
      const ms = durationMs(v.lifetime);
      return ms !== undefined && (Number.isNaN(ms) || ms < 1) ? 'duration' : undefined;
    }
    case 'disappearing.timer': {
      const min = durationMs(v.timerMin);
      const max = durationMs(v.timerMax);
      if ((min !== undefined && Number.isNaN(min)) || (max !== undefined && Number.isNaN(max)))
        return 'duration';
      if (min !== undefined && max !== undefined && min > max) return 'timer_order';
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The typed change a form stands for: a setting per row this layer sets, `null` for the others. */
export function changeOfForm(form: PolicyForm): RestrictionChange {
  const change: Record<string, unknown> = {};
  for (const name of EDITABLE_RESTRICTIONS) {
    const row = form.rows[name];
    if (!row.set) {
      change[name] = null;
      continue;
    }
    const v = row.values;
    let value: unknown;
    switch (name) {
      case 'media.send':
        value = mediaTypes(v);
        break;
      case 'notifications.preview':
        value = v.preview;
        break;
      case 'messages.lifetime':
        value = durationMs(v.lifetime) ?? null;
        break;
      case 'disappearing.timer':
        value = { minMs: durationMs(v.timerMin) ?? 0, maxMs: durationMs(v.timerMax) ?? null };
        break;
      default:
        value = v.allowed;
    }
    change[name] = { value, locked: row.locked };
  }
  return change as RestrictionChange;
}

/**
 * The document to sign for `form` over the stored `document`: the other features with their new
 * on/off and lock (config kept as signed), entries the stored layer had malformed (`dropped`, their
 * feature names) left out, and the restrictions written by `restrictionsToLayer`, which validates
 * every feature (`ValidationError`; `ForbiddenError` for `archive` outside the tenant layer).
 */
export function documentOfForm(
  layer: 'tenant' | 'pool' | 'group' | 'user',
  form: PolicyForm,
  document: LayerDocument,
  dropped: readonly string[] = [],
): { [feature: string]: SignedPolicyFeature } {
  const base: Record<string, SignedPolicyFeature> = {};
  for (const [name, f] of Object.entries(document)) {
    if (dropped.includes(name)) continue;
    base[name] = f as SignedPolicyFeature;
  }
  for (const o of form.others) {
    const f = base[o.name];
    if (f !== undefined) base[o.name] = { ...f, enabled: o.enabled, locked: o.locked };
  }
  return restrictionsToLayer(
    layer,
    changeOfForm(form),
    base as Parameters<typeof restrictionsToLayer>[2],
  ) as {
    [feature: string]: SignedPolicyFeature;
  };
}

/** Where a lock comes from: the layer kind and its target (`null` for the tenant). */
export interface LockSource {
  readonly layer: 'tenant' | 'pool';
  readonly target: string | null;
}

/**
 * The restrictions and other features that less specific layers lock for a target: for a pool or
 * group layer the tenant layer, for a user layer the tenant layer and the layers of the user's
 * pools. By restriction name (or feature name for other features).
 */
export function locksAbove(
  layers: readonly RestrictionLayer[],
  target: { readonly layer: 'tenant' | 'pool' | 'group' | 'user'; readonly userPools?: readonly string[] },
): Map<string, LockSource> {
  const out = new Map<string, LockSource>();
  if (target.layer === 'tenant') return out;
  const above = layers.filter(
    (l) =>
      l.layer === 'tenant' ||
      (target.layer === 'user' && l.layer === 'pool' && (target.userPools ?? []).includes(l.target ?? '')),
  );
  for (const l of above) {
    const source: LockSource = { layer: l.layer === 'tenant' ? 'tenant' : 'pool', target: l.target };
    for (const name of EDITABLE_RESTRICTIONS) {
      if (l.settings[name]?.locked === true && !out.has(name)) out.set(name, source);
    }
    for (const [name, f] of Object.entries(l.document)) {
      if (!RESTRICTION_FEATURES.has(name) && f.locked === true && !out.has(name)) out.set(name, source);
    }
  }
  return out;
}
