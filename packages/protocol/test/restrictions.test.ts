/**
 * The restriction feature map (spec/restrictions.md): media type patterns and their intersection
 * (property: a type passes the intersection exactly when it passes both lists), the merge of pool
 * layers (the most restrictive, independent of order), locks, malformed entries left out with a
 * report (never loosening a lock), the typed layer editing round trip, and the target of a
 * conversation group's layer (the base64url of its 1..64-byte id).
 */
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  groupIdOfLayerTarget,
  groupLayerTarget,
  intersectMediaTypes,
  isMediaTypePattern,
  type LayerDocument,
  layerRestrictions,
  mediaTypeAllowed,
  RESTRICTION_DEFAULTS,
  RESTRICTION_NAMES,
  RESTRICTIONS,
  resolveRestrictions,
  restrictionsFromFeatures,
  restrictionsToLayer,
  timerWithinBounds,
} from '../src/index.js';
import { encodePolicyLayer } from '../src/organisation/policy-layer.js';

const types = ['image', 'video', 'audio', 'application', 'text'];
const subtypes = ['png', 'jpeg', 'mp4', 'pdf', 'plain', 'vnd.ms.doc', 'vnd.ms.xls', 'vnd.oasis.text'];
const concrete = fc
  .tuple(fc.constantFrom(...types), fc.constantFrom(...subtypes))
  .map(([t, s]) => `${t}/${s}`);
const pattern = fc.oneof(
  concrete,
  fc.constantFrom(...types).map((t) => `${t}/*`),
  fc.constantFrom(...types).map((t) => `${t}/vnd.ms.*`),
  fc.constant('*/*'),
);
const list = fc.array(pattern, { minLength: 0, maxLength: 5 });

describe('media type patterns', () => {
  it('accepts the pattern forms and refuses others', () => {
    for (const p of ['*/*', 'image/*', 'image/png', 'application/vnd.openxmlformats-officedocument.*']) {
      expect(isMediaTypePattern(p)).toBe(true);
    }
    for (const p of ['*/png', 'image', 'Image/PNG', 'image/png ', '', 'a/b/c', 42])
      expect(isMediaTypePattern(p)).toBe(false);
  });

  it('matches case-insensitively and ignores parameters; a malformed type passes only */*', () => {
    expect(mediaTypeAllowed(['text/plain'], 'Text/Plain; charset=utf-8')).toBe(true);
    expect(mediaTypeAllowed(['image/*'], 'not a type')).toBe(false);
    expect(mediaTypeAllowed(['*/*'], 'not a type')).toBe(true);
    expect(mediaTypeAllowed([], 'image/png')).toBe(false);
  });

  it('intersection allows a type exactly when both lists do, whatever the order', () => {
    fc.assert(
      fc.property(list, list, concrete, (a, b, t) => {
        const both = mediaTypeAllowed(a, t) && mediaTypeAllowed(b, t);
        expect(mediaTypeAllowed(intersectMediaTypes(a, b), t)).toBe(both);
        expect(intersectMediaTypes(a, b)).toEqual(intersectMediaTypes(b, a));
      }),
      { numRuns: 500 },
    );
  });
});

const media = (t: readonly string[], locked = false) => ({
  'media.send': { enabled: t.length > 0, locked, ...(t.length > 0 ? { config: { types: [...t] } } : {}) },
});

describe('resolveRestrictions', () => {
  it('gives the defaults when nothing is set, and the map lists every restriction once', () => {
    expect(resolveRestrictions({ pools: [] })).toEqual({ values: RESTRICTION_DEFAULTS, problems: [] });
    expect(RESTRICTION_NAMES).toHaveLength(10);
    expect(RESTRICTIONS['messages.lifetime'].feature).toBe('retention');
    expect(RESTRICTIONS.archive.layers).toBe('tenant');
  });

  it('pools: the intersection of types, the lowest preview, the narrowest bounds, any pool disabling', () => {
    fc.assert(
      fc.property(fc.array(list, { minLength: 1, maxLength: 4 }), concrete, (lists, t) => {
        const pools = lists.map((l) => media(l) as LayerDocument);
        const v = resolveRestrictions({ pools }).values;
        expect(mediaTypeAllowed(v['media.send'], t)).toBe(lists.every((l) => mediaTypeAllowed(l, t)));
        const reversed = resolveRestrictions({ pools: [...pools].reverse() }).values;
        expect(reversed['media.send']).toEqual(v['media.send']);
      }),
      { numRuns: 200 },
    );
    const v = resolveRestrictions({
      pools: [
        {
          'notifications.preview': { enabled: true, locked: false, config: { show: 'sender' } },
          'disappearing.timer': { enabled: true, locked: false, config: { minMs: 1000, maxMs: 90_000 } },
          'clipboard.copy': { enabled: true, locked: false },
        },
        {
          'notifications.preview': { enabled: true, locked: false, config: { show: 'full' } },
          'disappearing.timer': { enabled: true, locked: false, config: { minMs: 5000 } },
          'clipboard.copy': { enabled: false, locked: false },
        },
      ],
    }).values;
    expect(v['notifications.preview']).toBe('sender');
    expect(v['disappearing.timer']).toEqual({ minMs: 5000, maxMs: 90_000 });
    expect(v['clipboard.copy']).toBe(false);
  });

  it('a group layer combines with the pools, the most restrictive winning', () => {
    const v = resolveRestrictions({
      pools: [media(['image/*', 'application/pdf'])],
      groups: [media(['image/png', 'video/*'])],
    }).values;
    expect(v['media.send']).toEqual(['image/png']);
  });

  it('a tenant lock stops the pool and user layers; without a lock the user layer decides', () => {
    const tenant: LayerDocument = { screenshots: { enabled: false, locked: true }, ...media(['image/*']) };
    const user: LayerDocument = { screenshots: { enabled: true, locked: false }, ...media(['*/*']) };
    const v = resolveRestrictions({ tenant, pools: [], user }).values;
    expect(v.screenshots).toBe(false);
    expect(v['media.send']).toEqual(['*/*']);
  });

  it('a malformed entry is left out with a report and cannot loosen a lock', () => {
    const tenant: LayerDocument = { ...media(['image/*'], true) };
    const user = {
      'media.send': { enabled: true, locked: false, config: { types: ['*/png'] } },
      'notifications.preview': { enabled: true, locked: false, config: { show: 'everything' } },
    } as LayerDocument;
    const { values, problems } = resolveRestrictions({ tenant, pools: [], user });
    expect(values['media.send']).toEqual(['image/*']);
    expect(values['notifications.preview']).toBe('full');
    expect(problems.map((p) => `${p.layer}:${p.feature}`)).toEqual([
      'user:media.send',
      'user:notifications.preview',
    ]);
    // An archive member outside the tenant layer is left out too.
    const bad = resolveRestrictions({ pools: [{ archive: { enabled: true, locked: true } }] });
    expect(bad.values.archive).toBe(false);
    expect(bad.problems[0]?.feature).toBe('archive');
  });

  it('reads the message lifetime from the retention feature', () => {
    const document = restrictionsToLayer('tenant', {
      'messages.lifetime': { value: 86_400_000, locked: true },
    });
    expect(resolveRestrictions({ tenant: document, pools: [] }).values['messages.lifetime']).toBe(86_400_000);
  });
});

describe('restrictionsToLayer / layerRestrictions', () => {
  it('round-trips every restriction', () => {
    const settings = {
      'files.send': { value: false, locked: true },
      'media.send': { value: ['image/*', 'application/pdf'], locked: false },
      'files.download': { value: false, locked: false },
      'clipboard.copy': { value: false, locked: true },
      'messages.forward': { value: false, locked: false },
      screenshots: { value: false, locked: true },
      'notifications.preview': { value: 'sender' as const, locked: false },
      'messages.lifetime': { value: 3_600_000, locked: true },
      'disappearing.timer': { value: { minMs: 60_000, maxMs: 86_400_000 }, locked: false },
    };
    const document = restrictionsToLayer('pool', settings);
    expect(layerRestrictions(document, 'pool')).toEqual({
      settings: { ...settings, 'media.send': { value: ['application/pdf', 'image/*'], locked: false } },
      problems: [],
    });
  });

  it('keeps other features and retention classes; null removes', () => {
    const base: LayerDocument = {
      custom: { enabled: true, locked: false },
      retention: {
        enabled: true,
        locked: false,
        config: { rules: { 'message.server': { maxLifetimeMs: 5 } } },
      },
    };
    const doc = restrictionsToLayer(
      'user',
      { 'messages.lifetime': { value: 7 }, screenshots: { value: false } },
      base as never,
    );
    expect(doc.custom).toEqual({ enabled: true, locked: false });
    expect(doc.retention?.config).toEqual({ rules: expect.anything() });
    expect((doc.retention?.config as { rules: object } | undefined)?.rules).toEqual({
      'message.server': { maxLifetimeMs: 5 },
      'message.device': { maxLifetimeMs: 7 },
    });
    const removed = restrictionsToLayer('user', { screenshots: null, 'messages.lifetime': null }, doc);
    expect(removed.screenshots).toBeUndefined();
    expect((removed.retention?.config as { rules: object } | undefined)?.rules).toEqual({
      'message.server': { maxLifetimeMs: 5 },
    });
  });

  it('refuses malformed values with a typed error', () => {
    const bad: unknown[] = [
      { 'media.send': { value: ['*/png'] } },
      { 'media.send': { value: 'image/*' } },
      { screenshots: { value: 'no' } },
      { 'notifications.preview': { value: 'some' } },
      { 'disappearing.timer': { value: { minMs: 10, maxMs: 5 } } },
      { 'disappearing.timer': { value: { minMs: -1 } } },
      { 'messages.lifetime': { value: 1.5 } },
      { 'clipboard.copy': { value: true, locked: 'yes' } },
      { 'clipboard.copy': true },
      { archive: { value: true } },
      { 'files.upload': { value: true } },
    ];
    for (const settings of bad) {
      expect(() => restrictionsToLayer('tenant', settings as never)).toThrow(ValidationError);
    }
  });

  it('refuses archive outside the tenant layer (ForbiddenError)', () => {
    expect(() => layerRestrictions({ archive: { enabled: false, locked: true } }, 'user')).not.toThrow();
    expect(layerRestrictions({ archive: { enabled: false, locked: true } }, 'user').problems).toHaveLength(1);
    expect(() => restrictionsToLayer('user', {}, { archive: { enabled: false, locked: false } })).toThrow(
      ForbiddenError,
    );
    expect(restrictionsToLayer('tenant', {}, { archive: { enabled: false, locked: false } })).toEqual({
      archive: { enabled: false, locked: false },
    });
  });
});

describe('restrictionsFromFeatures and timers', () => {
  it('reads the server-resolved features; a malformed one gives its default and a report', () => {
    const { values, problems } = restrictionsFromFeatures(
      { 'files.download': { enabled: false }, 'media.send': { enabled: true, config: { types: 'all' } } },
      1000,
    );
    expect(values['files.download']).toBe(false);
    expect(values['media.send']).toEqual(['*/*']);
    expect(values['messages.lifetime']).toBe(1000);
    expect(problems).toHaveLength(1);
  });

  it('bounds a set timer; no timer is within any bounds', () => {
    expect(timerWithinBounds({ minMs: 10, maxMs: 20 }, 15)).toBe(true);
    expect(timerWithinBounds({ minMs: 10, maxMs: 20 }, 21)).toBe(false);
    expect(timerWithinBounds({ minMs: 10, maxMs: null }, 5)).toBe(false);
    expect(timerWithinBounds({ minMs: 10, maxMs: 20 }, null)).toBe(true);
  });
});

describe('group layer targets', () => {
  it('are the canonical base64url of a 1..64-byte group id, a valid layer target, and read back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (id) => {
        const target = groupLayerTarget(id);
        expect(groupIdOfLayerTarget(target)).toEqual(id);
        // The identifier rules of a layer target accept it.
        encodePolicyLayer({ layer: 'group', target, document: {} });
      }),
    );
    expect(groupLayerTarget(Uint8Array.of(1, 2, 3))).toBe('AQID');
    for (const bad of [new Uint8Array(0), new Uint8Array(65)]) {
      expect(() => groupLayerTarget(bad)).toThrow(ValidationError);
    }
    // Not a group id: padding, another alphabet, non-zero spare bits, too long, empty.
    for (const target of ['AQ==', 'g:0102', 'AR', 'A'.repeat(88), '']) {
      expect(groupIdOfLayerTarget(target)).toBeUndefined();
    }
  });
});
