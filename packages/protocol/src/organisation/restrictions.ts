/**
 * The typed feature map of restrictions (R27, `spec/restrictions.md`): the well-known features an
 * organisation sets per tenant, pool or user layer, with their value types, defaults, how several
 * pools combine, and who enforces each (the SDK, or the app the SDK reports it to). A layer
 * document stays the generic `{ enabled, locked, config? }` map of `policy-layer.ts`; this module
 * translates typed values to and from it, validates each config, and resolves the layers of one
 * user with {@link resolvePolicyFeatures} (locks) after combining the pool layers feature by
 * feature (the most restrictive: a type list is the intersection, bounds the narrowest, a preview
 * level the lowest). No I/O.
 *
 * @module
 */
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import { fromBase64Url, toBase64Url } from './_codec.js';
import { validateArchiveConfig } from './archive-scope.js';
import type { CanonicalJson } from './canonical-json.js';
import { ARCHIVE_FEATURE } from './policy-layer.js';
import {
  type LayerDocument,
  type LayerFeature,
  type PolicyLayers,
  policyMessageLifetime,
  RETENTION_POLICY_FEATURE,
  resolvePolicyFeatures,
} from './policy-resolve.js';

/**
 * Who enforces a restriction: the SDK itself, or the app (the SDK can only report it).
 *
 * @example
 * ```ts
 * const who: RestrictionEnforcer = RESTRICTIONS.screenshots.enforcedBy; // 'app'
 * ```
 */
export type RestrictionEnforcer = 'sdk' | 'app';

/**
 * How much of a message a notification may show.
 *
 * @example
 * ```ts
 * const level: NotificationPreview = 'sender'; // "New message from Alice", no text
 * ```
 */
export type NotificationPreview = 'none' | 'sender' | 'full';

/**
 * Preview levels from the most restrictive to the least.
 *
 * @example
 * ```ts
 * NOTIFICATION_PREVIEWS.indexOf('sender'); // 1
 * ```
 */
export const NOTIFICATION_PREVIEWS = ['none', 'sender', 'full'] as const;

/**
 * Bounds of a disappearing-message timer, ms: a timer that is set must lie in `[minMs, maxMs]`
 * (`maxMs` `null`: no upper bound). Setting no timer is always allowed (the message lifetime
 * governs such messages).
 *
 * @example
 * ```ts
 * const bounds: TimerBounds = { minMs: 60_000, maxMs: 7 * 86_400_000 }; // 1 minute .. 1 week
 * ```
 */
export interface TimerBounds {
  /** Shortest timer, ms (0: no lower bound). */
  readonly minMs: number;
  /** Longest timer, ms; `null`: no upper bound. */
  readonly maxMs: number | null;
}

/**
 * The value of each well-known restriction, as an app reads it.
 *
 * @example
 * ```ts
 * const values: RestrictionValues = { ...RESTRICTION_DEFAULTS, 'clipboard.copy': false };
 * ```
 */
export interface RestrictionValues {
  /** May the user send files at all (attachments of any type). */
  readonly 'files.send': boolean;
  /** The media types (patterns `type/subtype`, `type/*`, `*\/*`) the user may send; `[]`: none. */
  readonly 'media.send': readonly string[];
  /** May the user download (open) received files. */
  readonly 'files.download': boolean;
  /** May the app let the user copy text out of a conversation. */
  readonly 'clipboard.copy': boolean;
  /** May the user forward a message to another conversation. */
  readonly 'messages.forward': boolean;
  /** May the app allow screenshots and screen recording of its windows. */
  readonly screenshots: boolean;
  /** How much a notification may show. */
  readonly 'notifications.preview': NotificationPreview;
  /** How long a device may keep a message, ms; `null`: no limit (the `retention` feature). */
  readonly 'messages.lifetime': number | null;
  /** Bounds of the disappearing-message timers the user may set. */
  readonly 'disappearing.timer': TimerBounds;
  /** Whether messages are sealed to the organisation's archive key (tenant layer only). */
  readonly archive: boolean;
}

/**
 * The name of a well-known restriction.
 *
 * @example
 * ```ts
 * const name: RestrictionName = 'media.send';
 * ```
 */
export type RestrictionName = keyof RestrictionValues;

/**
 * The description of one restriction in {@link RESTRICTIONS}.
 *
 * @example
 * ```ts
 * const spec: RestrictionSpec = RESTRICTIONS['files.download'];
 * console.log(spec.feature, spec.enforcedBy); // files.download sdk
 * ```
 */
export interface RestrictionSpec {
  /** The feature name in a layer document (`messages.lifetime` is stored as `retention`). */
  readonly feature: string;
  /** The value's type, in words. */
  readonly type: string;
  /** Who enforces it. */
  readonly enforcedBy: RestrictionEnforcer;
  /** Which layers may set it. */
  readonly layers: 'any' | 'tenant';
  /** How several pool layers that set it combine (the most restrictive). */
  readonly merge: string;
}

/**
 * The feature map: every well-known restriction with its type, who enforces it and its merge rule.
 *
 * @example
 * ```ts
 * for (const [name, spec] of Object.entries(RESTRICTIONS)) console.log(name, spec.enforcedBy);
 * ```
 */
export const RESTRICTIONS: { readonly [N in RestrictionName]: RestrictionSpec } = {
  'files.send': { feature: 'files.send', type: 'boolean', enforcedBy: 'sdk', layers: 'any', merge: 'and' },
  'media.send': {
    feature: 'media.send',
    type: 'media type patterns',
    enforcedBy: 'sdk',
    layers: 'any',
    merge: 'intersection of the allowed types',
  },
  'files.download': {
    feature: 'files.download',
    type: 'boolean',
    enforcedBy: 'sdk',
    layers: 'any',
    merge: 'and',
  },
  'clipboard.copy': {
    feature: 'clipboard.copy',
    type: 'boolean',
    enforcedBy: 'app',
    layers: 'any',
    merge: 'and',
  },
  'messages.forward': {
    feature: 'messages.forward',
    type: 'boolean',
    enforcedBy: 'sdk',
    layers: 'any',
    merge: 'and',
  },
  screenshots: { feature: 'screenshots', type: 'boolean', enforcedBy: 'app', layers: 'any', merge: 'and' },
  'notifications.preview': {
    feature: 'notifications.preview',
    type: 'none | sender | full',
    enforcedBy: 'app',
    layers: 'any',
    merge: 'the lowest level',
  },
  'messages.lifetime': {
    feature: RETENTION_POLICY_FEATURE,
    type: 'ms or null',
    enforcedBy: 'sdk',
    layers: 'any',
    merge: 'retention rules (pools not consulted; a locked rule may be shortened, never lengthened)',
  },
  'disappearing.timer': {
    feature: 'disappearing.timer',
    type: '{ minMs, maxMs }',
    enforcedBy: 'sdk',
    layers: 'any',
    merge: 'the narrowest bounds (largest minimum, smallest maximum)',
  },
  archive: {
    feature: ARCHIVE_FEATURE,
    type: 'boolean',
    enforcedBy: 'sdk',
    layers: 'tenant',
    merge: 'tenant only',
  },
};

/**
 * The names of the well-known restrictions, in the order of {@link RESTRICTIONS}.
 *
 * @example
 * ```ts
 * RESTRICTION_NAMES.includes('screenshots'); // true
 * ```
 */
export const RESTRICTION_NAMES = Object.keys(RESTRICTIONS) as readonly RestrictionName[];

/**
 * The value of each restriction no layer sets: everything allowed, no lifetime, no archive.
 *
 * @example
 * ```ts
 * RESTRICTION_DEFAULTS['media.send']; // ['*\/*']
 * ```
 */
export const RESTRICTION_DEFAULTS: RestrictionValues = {
  'files.send': true,
  'media.send': ['*/*'],
  'files.download': true,
  'clipboard.copy': true,
  'messages.forward': true,
  screenshots: true,
  'notifications.preview': 'full',
  'messages.lifetime': null,
  'disappearing.timer': { minMs: 0, maxMs: null },
  archive: false,
};

/**
 * Named groups of media types, for editing tools.
 *
 * @example
 * ```ts
 * const types = [...MEDIA_TYPE_GROUPS.images, ...MEDIA_TYPE_GROUPS.documents];
 * ```
 */
export const MEDIA_TYPE_GROUPS = {
  images: ['image/*'],
  video: ['video/*'],
  audio: ['audio/*'],
  documents: [
    'application/pdf',
    'text/*',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.*',
    'application/vnd.oasis.opendocument.*',
  ],
  all: ['*/*'],
} as const satisfies { readonly [group: string]: readonly string[] };

/**
 * Most media type patterns in one `media.send` list.
 *
 * @example
 * ```ts
 * const fits = ['image/*', 'application/pdf'].length <= MAX_MEDIA_TYPE_PATTERNS; // 64
 * ```
 */
export const MAX_MEDIA_TYPE_PATTERNS = 64;

const TOKEN = '[a-z0-9][a-z0-9!#$&^_+.-]{0,126}';
const PATTERN = new RegExp(`^(?:\\*/\\*|${TOKEN}/\\*|${TOKEN}/(?:${TOKEN}\\.)?(?:\\*|${TOKEN}))$`);
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/**
 * Whether `pattern` is a media type pattern: `*\/*`, `type/*`, `type/subtype`, or
 * `type/prefix.*` (every subtype starting with `prefix.`), lower case.
 *
 * @example
 * ```ts
 * isMediaTypePattern('image/*'); // true
 * isMediaTypePattern('*\/png'); // false
 * ```
 */
export function isMediaTypePattern(pattern: unknown): pattern is string {
  return typeof pattern === 'string' && pattern.length <= 255 && PATTERN.test(pattern);
}

function normaliseMediaType(mediaType: string): string | undefined {
  const bare = mediaType.split(';')[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPE.test(bare) && bare.length <= 255 ? bare : undefined;
}

/** The prefix a wildcard pattern allows (`''` for `*\/*`); undefined for an exact type. */
function prefixOf(pattern: string): string | undefined {
  if (pattern === '*/*') return '';
  return pattern.endsWith('*') ? pattern.slice(0, -1) : undefined;
}

function patternMatches(pattern: string, type: string): boolean {
  const prefix = prefixOf(pattern);
  return prefix === undefined ? pattern === type : type.startsWith(prefix);
}

/** Whether every type `p` allows is allowed by `q`. */
function covers(q: string, p: string): boolean {
  const pq = prefixOf(q);
  if (pq === undefined) return p === q;
  return (prefixOf(p) ?? p).startsWith(pq);
}

/**
 * Whether a media type (parameters after `;` ignored, case-insensitive) is allowed by a list of
 * patterns. A media type that is not `type/subtype` is allowed only by `*\/*`.
 *
 * @example
 * ```ts
 * mediaTypeAllowed(['image/*', 'application/pdf'], 'image/png'); // true
 * mediaTypeAllowed(['image/*'], 'video/mp4'); // false
 * ```
 */
export function mediaTypeAllowed(patterns: readonly string[], mediaType: string): boolean {
  const type = normaliseMediaType(mediaType);
  if (type === undefined) return patterns.includes('*/*');
  return patterns.some((p) => patternMatches(p, type));
}

/** The pattern allowing exactly what both allow, or undefined when they share nothing. */
function meet(a: string, b: string): string | undefined {
  if (covers(a, b)) return b;
  if (covers(b, a)) return a;
  return undefined;
}

/**
 * The patterns allowing exactly the media types both lists allow (sorted, without duplicates or
 * patterns another one covers).
 *
 * @example
 * ```ts
 * intersectMediaTypes(['image/*', 'application/pdf'], ['image/png', 'video/*']); // ['image/png']
 * ```
 */
export function intersectMediaTypes(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      const m = meet(x, y);
      if (m !== undefined) out.add(m);
    }
  }
  return simplifyMediaTypes([...out]);
}

function simplifyMediaTypes(list: readonly string[]): string[] {
  const unique = [...new Set(list)];
  return unique.filter((p) => !unique.some((q) => q !== p && covers(q, p))).sort();
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks one feature of a layer document against its restriction's format. `ValidationError`
 * (field `document.<feature>…`) for a malformed value; `ForbiddenError` for `archive` outside the
 * tenant layer. Unknown features pass (apps may define their own).
 *
 * @example
 * ```ts
 * validateRestrictionFeature('media.send', { enabled: true, locked: false, config: { types: ['image/*'] } }, 'pool');
 * ```
 */
export function validateRestrictionFeature(
  feature: string,
  value: LayerFeature,
  layer: 'server' | 'tenant' | 'pool' | 'group' | 'user',
): void {
  const at = `document.${feature}`;
  if (!isObject(value) || typeof value.enabled !== 'boolean' || typeof value.locked !== 'boolean') {
    throw new ValidationError(at, '{ enabled, locked, config? }');
  }
  const config = value.config as unknown;
  switch (feature) {
    case 'files.send':
    case 'files.download':
    case 'clipboard.copy':
    case 'messages.forward':
    case 'screenshots':
      // An on/off feature: a config is the app's (e.g. `files.send`'s `maxBytes`), not checked here.
      return;
    case 'media.send': {
      if (!value.enabled && config === undefined) return;
      const types = isObject(config) ? config.types : undefined;
      if (!isObject(config) || Object.keys(config).some((k) => k !== 'types') || !Array.isArray(types)) {
        throw new ValidationError(`${at}.config`, '{ types: [media type patterns] }');
      }
      if (types.length === 0 || types.length > MAX_MEDIA_TYPE_PATTERNS) {
        throw new ValidationError(`${at}.config.types`, `1..${MAX_MEDIA_TYPE_PATTERNS} patterns`);
      }
      for (const t of types) {
        if (!isMediaTypePattern(t)) {
          throw new ValidationError(
            `${at}.config.types`,
            'patterns type/subtype, type/*, type/prefix.* or */*',
          );
        }
      }
      return;
    }
    case 'notifications.preview': {
      const show = isObject(config) ? config.show : undefined;
      if (
        !isObject(config) ||
        Object.keys(config).length !== 1 ||
        !NOTIFICATION_PREVIEWS.includes(show as never)
      ) {
        throw new ValidationError(`${at}.config`, '{ show: none | sender | full }');
      }
      if ((show === 'none') === value.enabled) {
        throw new ValidationError(`${at}.enabled`, 'false exactly when show is none');
      }
      return;
    }
    case 'disappearing.timer': {
      if (!isObject(config) || Object.keys(config).some((k) => k !== 'minMs' && k !== 'maxMs')) {
        throw new ValidationError(`${at}.config`, '{ minMs?, maxMs? }');
      }
      const { minMs, maxMs } = config;
      if (minMs !== undefined && !isMs(minMs))
        throw new ValidationError(`${at}.config.minMs`, 'ms (integer >= 0)');
      if (maxMs !== undefined && !isMs(maxMs))
        throw new ValidationError(`${at}.config.maxMs`, 'ms (integer >= 0)');
      if (isMs(minMs) && isMs(maxMs) && minMs > maxMs) {
        throw new ValidationError(`${at}.config`, 'minMs at most maxMs');
      }
      return;
    }
    case RETENTION_POLICY_FEATURE: {
      const rules = isObject(config) ? config.rules : undefined;
      if (!value.enabled && config === undefined) return;
      if (!isObject(rules)) throw new ValidationError(`${at}.config.rules`, 'rules by retention class');
      for (const [cls, rule] of Object.entries(rules)) {
        const r = isObject(rule) ? rule : undefined;
        if (r === undefined || (r.maxLifetimeMs !== null && !isMs(r.maxLifetimeMs))) {
          throw new ValidationError(`${at}.config.rules.${cls}.maxLifetimeMs`, 'ms (integer >= 0) or null');
        }
        if (r.locked !== undefined && typeof r.locked !== 'boolean') {
          throw new ValidationError(`${at}.config.rules.${cls}.locked`, 'a boolean');
        }
      }
      return;
    }
    case ARCHIVE_FEATURE:
      if (layer !== 'tenant' && layer !== 'server') {
        throw new ForbiddenError('document.archive: only the tenant layer may set the archive feature');
      }
      // The key when enabled; the scope, auditors and key set id whenever given (archive-scope.ts).
      if (layer === 'tenant') validateArchiveConfig(config, value.enabled, `${at}.config`);
      return;
    default:
      return;
  }
}

/**
 * A layer entry the resolver left out because it was malformed.
 *
 * @example
 * ```ts
 * const { problems } = resolveRestrictions({ pools: [] });
 * for (const p of problems) console.warn(`${p.layer} ${p.feature}: ${p.reason}`);
 * ```
 */
export interface RestrictionProblem {
  /** The layer that set it (`pool` and `group` with their index in the input). */
  readonly layer: string;
  /** The feature name in the layer document. */
  readonly feature: string;
  /** What was wrong (the validation message, no value). */
  readonly reason: string;
}

/**
 * The layers of one user for {@link resolveRestrictions}: those of {@link PolicyLayers} and,
 * optionally, the group layers of the conversation group a restriction is resolved for (combined
 * with the pool layers, the most restrictive wins; `spec/restrictions.md` §1.2).
 *
 * @example
 * ```ts
 * const layers: RestrictionLayers = { tenant: {}, pools: [], groups: [] };
 * ```
 */
export interface RestrictionLayers extends PolicyLayers {
  /** The layers of the conversation group being resolved for (none for a 1:1 conversation). */
  readonly groups?: readonly LayerDocument[];
}

function cleanLayer(
  doc: LayerDocument | undefined,
  layer: 'server' | 'tenant' | 'pool' | 'group' | 'user',
  label: string,
  problems: RestrictionProblem[],
): LayerDocument | undefined {
  if (doc === undefined) return undefined;
  const out: { [feature: string]: LayerFeature } = {};
  for (const [name, f] of Object.entries(doc)) {
    try {
      validateRestrictionFeature(name, f, layer);
      out[name] = f;
    } catch (e) {
      problems.push({ layer: label, feature: name, reason: e instanceof Error ? e.message : 'malformed' });
    }
  }
  return out;
}

function previewOf(f: LayerFeature): NotificationPreview {
  return f.enabled ? ((f.config as { show: NotificationPreview }).show ?? 'full') : 'none';
}

function typesOf(f: LayerFeature): readonly string[] {
  if (!f.enabled) return [];
  return (f.config as { types: string[] } | undefined)?.types ?? ['*/*'];
}

function boundsOf(f: LayerFeature | { enabled: boolean; config?: unknown } | undefined): TimerBounds {
  if (f === undefined || !f.enabled) return RESTRICTION_DEFAULTS['disappearing.timer'];
  const c = f.config as { minMs?: number; maxMs?: number };
  return { minMs: c.minMs ?? 0, maxMs: c.maxMs ?? null };
}

/** Combines the pool (and group) layers feature by feature, the most restrictive winning. */
function mergeRestrictive(docs: readonly LayerDocument[]): LayerDocument {
  const merged: { [feature: string]: LayerFeature } = {};
  for (const doc of docs) {
    for (const [name, f] of Object.entries(doc)) {
      const before = merged[name];
      if (before === undefined) {
        merged[name] = f;
        continue;
      }
      const locked = before.locked || f.locked;
      const enabled = before.enabled && f.enabled;
      let config: unknown;
      if (name === 'media.send') {
        const types = intersectMediaTypes(typesOf(before), typesOf(f));
        merged[name] =
          types.length === 0 ? { enabled: false, locked } : { enabled: true, locked, config: { types } };
        continue;
      }
      if (name === 'notifications.preview') {
        const show = NOTIFICATION_PREVIEWS[
          Math.min(
            NOTIFICATION_PREVIEWS.indexOf(previewOf(before)),
            NOTIFICATION_PREVIEWS.indexOf(previewOf(f)),
          )
        ] as NotificationPreview;
        merged[name] = { enabled: show !== 'none', locked, config: { show } };
        continue;
      }
      if (name === 'disappearing.timer') {
        const a = boundsOf(before);
        const b = boundsOf(f);
        const maxes = [a.maxMs, b.maxMs].filter((x): x is number => x !== null);
        const minMs = Math.max(a.minMs, b.minMs);
        const maxMs = maxes.length === 0 ? null : Math.min(...maxes);
        // Bounds that leave nothing: no timer may be set within them, which the client refuses.
        config = maxMs === null ? { minMs } : { minMs, maxMs };
        merged[name] = { enabled: before.enabled || f.enabled, locked, config };
        continue;
      }
      // On/off features (and unknown ones): as resolvePolicyFeatures combines pools.
      const winner = before.enabled && !f.enabled ? f : before;
      merged[name] = {
        enabled,
        locked,
        ...(winner.config === undefined ? {} : { config: winner.config }),
      };
    }
  }
  return merged;
}

/**
 * The typed values of the resolved features (as `resolvePolicyFeatures` or the server's
 * `GET /v1/policy` give them) and the message lifetime. A malformed resolved feature gives its
 * default and a problem.
 *
 * @example
 * ```ts
 * const { values } = restrictionsFromFeatures({ 'files.download': { enabled: false } }, null);
 * values['files.download']; // false
 * ```
 */
export function restrictionsFromFeatures(
  features: { readonly [name: string]: { readonly enabled: boolean; readonly config?: unknown } },
  messageLifetimeMs: number | null,
  archive = false,
): { readonly values: RestrictionValues; readonly problems: readonly RestrictionProblem[] } {
  const problems: RestrictionProblem[] = [];
  const values: { -readonly [N in RestrictionName]: RestrictionValues[N] } = { ...RESTRICTION_DEFAULTS };
  for (const name of RESTRICTION_NAMES) {
    const spec = RESTRICTIONS[name];
    if (name === 'messages.lifetime' || name === 'archive') continue;
    const f = features[spec.feature];
    if (f === undefined) continue;
    try {
      validateRestrictionFeature(spec.feature, { ...f, locked: false } as LayerFeature, 'user');
    } catch (e) {
      problems.push({
        layer: 'resolved',
        feature: spec.feature,
        reason: e instanceof Error ? e.message : 'malformed',
      });
      continue;
    }
    const lf = { ...f, locked: false } as LayerFeature;
    switch (name) {
      case 'media.send':
        values[name] = typesOf(lf);
        break;
      case 'notifications.preview':
        values[name] = previewOf(lf);
        break;
      case 'disappearing.timer':
        values[name] = boundsOf(lf);
        break;
      default:
        values[name] = f.enabled;
    }
  }
  values['messages.lifetime'] = messageLifetimeMs;
  values.archive = archive;
  return { values, problems };
}

/**
 * The restrictions of one user from the documents of each layer: each layer's malformed entries
 * are left out (reported in `problems`, so a less specific layer decides), the pool and group
 * layers are combined (the most restrictive: see {@link RESTRICTIONS}' `merge`), and the layers
 * walked with {@link resolvePolicyFeatures} (a lock stops more specific layers). The message
 * lifetime is {@link policyMessageLifetime}; `archive` is the tenant layer's.
 *
 * @example
 * ```ts
 * const { values } = resolveRestrictions({
 *   tenant: { 'media.send': { enabled: true, locked: false, config: { types: ['image/*', 'application/pdf'] } } },
 *   pools: [{ 'media.send': { enabled: true, locked: false, config: { types: ['image/png', 'video/*'] } } }],
 * });
 * values['media.send']; // ['image/png', 'video/*']: the tenant did not lock it, the pool layer replaces it
 * ```
 */
export function resolveRestrictions(layers: RestrictionLayers): {
  readonly values: RestrictionValues;
  readonly problems: readonly RestrictionProblem[];
} {
  const problems: RestrictionProblem[] = [];
  const server = cleanLayer(layers.server, 'server', 'server', problems);
  const tenant = cleanLayer(layers.tenant, 'tenant', 'tenant', problems);
  const pools = layers.pools.map((d, i) => cleanLayer(d, 'pool', `pool[${i}]`, problems) ?? {});
  const groups = (layers.groups ?? []).map((d, i) => cleanLayer(d, 'group', `group[${i}]`, problems) ?? {});
  const user = cleanLayer(layers.user, 'user', 'user', problems);
  const combined = [...pools, ...groups];
  const walk: PolicyLayers = {
    server,
    tenant,
    pools: combined.length === 0 ? [] : [mergeRestrictive(combined)],
    user,
  };
  const features = resolvePolicyFeatures(walk);
  const archive = tenant?.[ARCHIVE_FEATURE]?.enabled === true;
  const out = restrictionsFromFeatures(features, policyMessageLifetime(walk), archive);
  return { values: out.values, problems: [...problems, ...out.problems] };
}

/**
 * One restriction as a layer sets it: its value and whether more specific layers are locked out.
 *
 * @example
 * ```ts
 * const setting: RestrictionSetting<boolean> = { value: false, locked: true }; // e.g. for screenshots
 * ```
 */
export interface RestrictionSetting<V> {
  /** The value this layer gives. */
  readonly value: V;
  /** True when more specific layers may not change it (default false). */
  readonly locked?: boolean;
}

/**
 * The restrictions one layer sets, typed; `archive` is not set this way (the archive key has its
 * own ceremony, `spec/compliance-seal.md`).
 *
 * @example
 * ```ts
 * const settings: RestrictionSettings = {
 *   'clipboard.copy': { value: false, locked: true },
 *   'media.send': { value: ['image/*', 'application/pdf'] },
 * };
 * ```
 */
export type RestrictionSettings = {
  readonly [N in Exclude<RestrictionName, 'archive'>]?: RestrictionSetting<RestrictionValues[N]>;
};

function featureOf(name: RestrictionName, value: unknown, locked: boolean): LayerFeature<CanonicalJson> {
  switch (name) {
    case 'media.send': {
      if (!Array.isArray(value))
        throw new ValidationError(`restrictions.${name}`, 'a list of media type patterns');
      const types = simplifyMediaTypes(value as string[]);
      return types.length === 0 ? { enabled: false, locked } : { enabled: true, locked, config: { types } };
    }
    case 'notifications.preview':
      return { enabled: value !== 'none', locked, config: { show: value as string } };
    case 'disappearing.timer': {
      const b = (isObject(value) ? value : {}) as { minMs?: unknown; maxMs?: unknown };
      const config: Record<string, CanonicalJson> = {};
      if (b.minMs !== undefined) config.minMs = b.minMs as number;
      if (b.maxMs !== undefined && b.maxMs !== null) config.maxMs = b.maxMs as number;
      return { enabled: true, locked, config };
    }
    case 'messages.lifetime':
      return {
        enabled: true,
        locked,
        config: { rules: { 'message.device': { maxLifetimeMs: value as number | null } } },
      };
    default:
      if (typeof value !== 'boolean') throw new ValidationError(`restrictions.${name}`, 'a boolean');
      return { enabled: value, locked };
  }
}

/**
 * Writes typed restrictions into a layer document: each setting replaces its feature in `base`
 * (other features, and other retention classes of `retention`, are kept); `null` for a setting
 * removes the feature from the layer. Every feature of the result is validated
 * ({@link validateRestrictionFeature}): `ValidationError` for a malformed value, `ForbiddenError`
 * for `archive` outside the tenant layer; nothing is returned then.
 *
 * @example
 * ```ts
 * const document = restrictionsToLayer('pool', { 'files.download': { value: false, locked: true } });
 * // { 'files.download': { enabled: false, locked: true } }
 * ```
 */
export function restrictionsToLayer(
  layer: 'tenant' | 'pool' | 'group' | 'user',
  settings: {
    readonly [N in Exclude<RestrictionName, 'archive'>]?: RestrictionSetting<RestrictionValues[N]> | null;
  },
  base: LayerDocument<CanonicalJson> = {},
): { [feature: string]: LayerFeature<CanonicalJson> } {
  if (!isObject(settings)) throw new ValidationError('restrictions', 'an object');
  const out: { [feature: string]: LayerFeature<CanonicalJson> } = { ...base };
  for (const [name, setting] of Object.entries(settings)) {
    if (!(RESTRICTION_NAMES as readonly string[]).includes(name) || name === 'archive') {
      throw new ValidationError(`restrictions.${name}`, 'a well-known restriction (not archive)');
    }
    const n = name as RestrictionName;
    const feature = RESTRICTIONS[n].feature;
    if (setting === null || setting === undefined) {
      if (n === 'messages.lifetime') {
        const rules = {
          ...((out[feature]?.config as { rules?: Record<string, CanonicalJson> })?.rules ?? {}),
        };
        delete rules['message.device'];
        if (Object.keys(rules).length === 0) delete out[feature];
        else out[feature] = { ...(out[feature] as LayerFeature<CanonicalJson>), config: { rules } };
      } else delete out[feature];
      continue;
    }
    if (!isObject(setting) || !('value' in setting)) {
      throw new ValidationError(`restrictions.${name}`, '{ value, locked? }');
    }
    const locked = setting.locked ?? false;
    if (typeof locked !== 'boolean') throw new ValidationError(`restrictions.${name}.locked`, 'a boolean');
    let f = featureOf(n, setting.value, locked);
    // An on/off feature keeps the config the layer gave it (the app's, e.g. `files.send`'s `maxBytes`).
    const kept = out[feature]?.config;
    if (RESTRICTIONS[n].type === 'boolean' && kept !== undefined && n !== 'archive')
      f = { ...f, config: kept };
    if (n === 'messages.lifetime') {
      const before = out[feature]?.config as { rules?: Record<string, CanonicalJson> } | undefined;
      const rules = {
        ...(before?.rules ?? {}),
        ...(f.config as { rules: Record<string, CanonicalJson> }).rules,
      };
      f = { enabled: true, locked, config: { rules } };
    }
    out[feature] = f;
  }
  for (const [name, f] of Object.entries(out)) validateRestrictionFeature(name, f, layer);
  return out;
}

/**
 * The typed restrictions a layer document sets (the reverse of {@link restrictionsToLayer}); a
 * malformed entry is left out and reported.
 *
 * @example
 * ```ts
 * const { settings } = layerRestrictions({ screenshots: { enabled: false, locked: true } }, 'tenant');
 * settings.screenshots; // { value: false, locked: true }
 * ```
 */
export function layerRestrictions(
  document: LayerDocument,
  layer: 'tenant' | 'pool' | 'group' | 'user',
): { readonly settings: RestrictionSettings; readonly problems: readonly RestrictionProblem[] } {
  const problems: RestrictionProblem[] = [];
  const clean = cleanLayer(document, layer, layer, problems) ?? {};
  const settings: { [name: string]: RestrictionSetting<unknown> } = {};
  for (const name of RESTRICTION_NAMES) {
    if (name === 'archive') continue;
    const f = clean[RESTRICTIONS[name].feature];
    if (f === undefined) continue;
    let value: unknown;
    switch (name) {
      case 'media.send':
        value = typesOf(f);
        break;
      case 'notifications.preview':
        value = previewOf(f);
        break;
      case 'disappearing.timer':
        value = boundsOf(f);
        break;
      case 'messages.lifetime': {
        const rule = (f.config as { rules?: Record<string, { maxLifetimeMs?: number | null }> } | undefined)
          ?.rules?.['message.device'];
        if (rule === undefined || !f.enabled) continue;
        value = rule.maxLifetimeMs ?? null;
        break;
      }
      default:
        value = f.enabled;
    }
    settings[name] = { value, locked: f.locked };
  }
  return { settings: settings as RestrictionSettings, problems };
}

/**
 * Whether a disappearing timer (ms; `null`: none) lies within the bounds. No timer is always
 * within them.
 *
 * @example
 * ```ts
 * timerWithinBounds({ minMs: 60_000, maxMs: 86_400_000 }, 30_000); // false
 * ```
 */
export function timerWithinBounds(bounds: TimerBounds, timerMs: number | null): boolean {
  if (timerMs === null) return true;
  return timerMs >= bounds.minMs && (bounds.maxMs === null || timerMs <= bounds.maxMs);
}

/**
 * Most group policy layers one tenant keeps (`spec/restrictions.md` §1.2): the server serves every
 * one of them to every device of the tenant, and refuses to store another beyond this.
 *
 * @example
 * ```ts
 * console.log(MAX_GROUP_LAYERS); // 256
 * ```
 */
export const MAX_GROUP_LAYERS = 256;

/**
 * The target of a group policy layer for a conversation group: the base64url (no padding) of its
 * group id, 1..64 bytes (`spec/restrictions.md` §1.2). `ValidationError` for another length.
 *
 * @example
 * ```ts
 * groupLayerTarget(new Uint8Array(32).fill(0xab)); // 'q6ur…': 43 characters
 * ```
 */
export function groupLayerTarget(groupId: Uint8Array): string {
  if (!(groupId instanceof Uint8Array) || groupId.length < 1 || groupId.length > 64) {
    throw new ValidationError('groupId', 'a group id of 1..64 bytes');
  }
  return toBase64Url(groupId);
}

/**
 * The group id a group policy layer's target names (the reverse of {@link groupLayerTarget}), or
 * undefined when the target is not the canonical base64url of 1..64 bytes (such a layer names no
 * conversation group and applies to none).
 *
 * @example
 * ```ts
 * groupIdOfLayerTarget(groupLayerTarget(Uint8Array.of(1, 2, 3))); // Uint8Array [1, 2, 3]
 * ```
 */
export function groupIdOfLayerTarget(target: string): Uint8Array | undefined {
  if (typeof target !== 'string') return undefined;
  const bytes = fromBase64Url(target);
  return bytes === undefined || bytes.length < 1 || bytes.length > 64 ? undefined : bytes;
}
