/**
 * The organisation area's logic without a browser: a signed layer read into the policy form and
 * the document a form signs (restrictions through the protocol, other features and `archive` kept,
 * malformed entries dropped, invalid values refused before signing), the locks of less specific
 * layers, the pool-rule matrix, the broadcast composer's checks, the sent-broadcast log (a
 * tampered storage entry is dropped) and the error texts (never the error's own message).
 */
import type { PoolView, RestrictionLayer } from '@cloister/admin';
import { ConflictError } from '@cloister/admin';
import { ForbiddenError, RateLimitedError, UsageError, ValidationError } from '@cloister/crypto';
import { type LayerDocument, layerRestrictions } from '@cloister/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { logBroadcast, mergeLogs, readLog } from '../src/areas/organisation/broadcast-log.js';
import {
  audienceProblemOf,
  parseUsers,
  textBytes,
  textProblemOf,
} from '../src/areas/organisation/broadcast-model.js';
import { errorMessage } from '../src/areas/organisation/errors.js';
import {
  documentOfForm,
  durationField,
  durationMs,
  formOfLayer,
  locksAbove,
  mediaFields,
  mediaTypes,
  type PolicyForm,
  rowProblem,
} from '../src/areas/organisation/policy-form.js';
import { rulesOfPools, sameRules } from '../src/areas/organisation/rules-model.js';

/** A stored layer as `admin.restrictions.layers()` gives it. */
function layer(
  kind: RestrictionLayer['layer'],
  target: string | null,
  document: LayerDocument,
): RestrictionLayer {
  const { settings, problems } = layerRestrictions(document, kind);
  return { layer: kind, target, sequence: 3, issuedAtMs: 1, admin: 'adm_x', settings, document, problems };
}

describe('policy form', () => {
  const tenant = layer('tenant', null, {
    'files.download': { enabled: false, locked: true },
    'media.send': { enabled: true, locked: false, config: { types: ['image/*', 'application/zip'] } },
    'disappearing.timer': { enabled: true, locked: false, config: { minMs: 60_000, maxMs: 7 * 86_400_000 } },
    retention: {
      enabled: true,
      locked: false,
      config: {
        rules: { 'message.device': { maxLifetimeMs: 2 * 3_600_000 }, 'message.server': { maxLifetimeMs: 1 } },
      },
    },
    'app.theme': { enabled: true, locked: false, config: { dark: true } },
  });

  it('reads a signed layer into rows, with units and media groups', () => {
    const form = formOfLayer(tenant);
    expect(form.rows['files.download']).toMatchObject({
      set: true,
      locked: true,
      values: { allowed: false },
    });
    expect(form.rows['media.send'].values).toMatchObject({
      allTypes: false,
      groups: ['images'],
      extra: 'application/zip',
    });
    expect(form.rows['disappearing.timer'].values.timerMin).toEqual({ amount: '1', unit: 'minutes' });
    expect(form.rows['disappearing.timer'].values.timerMax).toEqual({ amount: '7', unit: 'days' });
    expect(form.rows['messages.lifetime'].values.lifetime).toEqual({ amount: '2', unit: 'hours' });
    expect(form.rows.screenshots.set).toBe(false);
    expect(form.others).toEqual([{ name: 'app.theme', enabled: true, locked: false, hasConfig: true }]);
  });

  it('signs what the form says and keeps what it does not edit', () => {
    const form = formOfLayer(tenant);
    const edited: PolicyForm = {
      rows: {
        ...form.rows,
        screenshots: { set: true, locked: true, values: { ...form.rows.screenshots.values, allowed: false } },
        'files.download': { ...form.rows['files.download'], set: false },
      },
      others: [{ name: 'app.theme', enabled: false, locked: true, hasConfig: true }],
    };
    const doc = documentOfForm('tenant', edited, tenant.document);
    expect(doc.screenshots).toEqual({ enabled: false, locked: true });
    expect(doc['files.download']).toBeUndefined();
    expect(doc['app.theme']).toEqual({ enabled: false, locked: true, config: { dark: true } });
    // The other retention class is kept beside the lifetime.
    expect((doc.retention!.config as { rules: Record<string, unknown> }).rules['message.server']).toEqual({
      maxLifetimeMs: 1,
    });
    // Reading the signed document back gives the form again.
    expect(formOfLayer(layer('tenant', null, doc)).rows.screenshots).toMatchObject({
      set: true,
      locked: true,
    });
  });

  it('keeps the archive feature of a tenant layer and drops malformed entries when told', () => {
    const archived = {
      archive: { enabled: false, locked: true },
      'files.send': { enabled: 'no', locked: false },
    };
    const stored = layer('tenant', null, archived as unknown as LayerDocument);
    expect(stored.problems.map((p) => p.feature)).toContain('files.send');
    const doc = documentOfForm('tenant', formOfLayer(stored), stored.document, ['files.send']);
    expect(doc.archive).toEqual({ enabled: false, locked: true });
    expect(doc['files.send']).toBeUndefined();
    // A malformed restriction is not a setting of the form (its row is unset), so it is removed anyway.
    expect(formOfLayer(stored).rows['files.send'].set).toBe(false);
    expect(documentOfForm('tenant', formOfLayer(stored), stored.document)['files.send']).toBeUndefined();
  });

  it('refuses values the protocol refuses, before signing', () => {
    const form = formOfLayer(undefined);
    const media = { ...form.rows['media.send'], set: true };
    const bad = { ...media, values: { ...media.values, allTypes: false, extra: 'IMAGE/PNG, */png' } };
    expect(rowProblem('media.send', bad)).toBe('media_pattern');
    expect(() => documentOfForm('pool', { ...form, rows: { ...form.rows, 'media.send': bad } }, {})).toThrow(
      ValidationError,
    );
    const timer = { ...form.rows['disappearing.timer'], set: true };
    const reversed = {
      ...timer,
      values: {
        ...timer.values,
        timerMin: { amount: '2', unit: 'days' as const },
        timerMax: { amount: '1', unit: 'days' as const },
      },
    };
    expect(rowProblem('disappearing.timer', reversed)).toBe('timer_order');
    expect(
      rowProblem('messages.lifetime', {
        ...form.rows['messages.lifetime'],
        set: true,
        values: { ...form.rows['messages.lifetime'].values, lifetime: { amount: '-1', unit: 'days' } },
      }),
    ).toBe('duration');
  });

  it('no type ticked means no media at all', () => {
    const form = formOfLayer(undefined);
    const none = {
      ...form.rows['media.send'],
      set: true,
      values: { ...form.rows['media.send'].values, allTypes: false, groups: [], extra: '' },
    };
    const doc = documentOfForm('user', { ...form, rows: { ...form.rows, 'media.send': none } }, {});
    expect(doc['media.send']).toEqual({ enabled: false, locked: false });
  });

  it('durations and media fields round-trip', () => {
    expect(durationMs(durationField(90 * 60_000))).toBe(90 * 60_000);
    expect(durationField(90 * 60_000)).toEqual({ amount: '90', unit: 'minutes' });
    expect(durationMs({ amount: '1,5', unit: 'hours' })).toBe(5_400_000);
    expect(Number.isNaN(durationMs({ amount: '1e3', unit: 'days' }))).toBe(true);
    expect(durationMs({ amount: ' ', unit: 'days' })).toBeUndefined();
    const types = mediaTypes(mediaFields(['*/*']));
    expect(types).toEqual(['*/*']);
    expect(mediaTypes({ allTypes: false, groups: ['audio'], extra: 'model/*, audio/*' })).toEqual([
      'audio/*',
      'model/*',
    ]);
  });

  it('shows the locks of less specific layers: the tenant for a pool, the tenant and the user’s pools for a user', () => {
    const layers = [
      tenant,
      layer('pool', 'ward', {
        'clipboard.copy': { enabled: false, locked: true },
        'app.x': { enabled: true, locked: true },
      }),
      layer('pool', 'other', { screenshots: { enabled: false, locked: true } }),
    ];
    expect([...locksAbove(layers, { layer: 'tenant' }).keys()]).toEqual([]);
    expect([...locksAbove(layers, { layer: 'pool' }).keys()]).toEqual(['files.download']);
    const user = locksAbove(layers, { layer: 'user', userPools: ['ward'] });
    expect(user.get('files.download')).toEqual({ layer: 'tenant', target: null });
    expect(user.get('clipboard.copy')).toEqual({ layer: 'pool', target: 'ward' });
    expect(user.get('app.x')).toEqual({ layer: 'pool', target: 'ward' });
    expect(user.has('screenshots')).toBe(false);
  });
});

describe('pool rules', () => {
  const pools: PoolView[] = [
    { id: 'a', name: 'A', mayContact: ['a', 'b', 'gone'] },
    { id: 'b', name: 'B', mayContact: [] },
  ];
  it('reads the rules of existing pools without the pool itself', () => {
    expect(rulesOfPools(pools)).toEqual({ a: ['b'], b: [] });
  });
  it('compares rule sets regardless of order', () => {
    expect(sameRules({ a: ['b', 'c'] }, { a: ['c', 'b'], b: [] })).toBe(true);
    expect(sameRules({ a: ['b'] }, { a: [] })).toBe(false);
  });
});

describe('broadcast composer', () => {
  it('parses user ids and checks the audience and the text', () => {
    expect(parseUsers(' alice, bob;alice\ncarol ')).toEqual(['alice', 'bob', 'carol']);
    expect(audienceProblemOf('tenant', [], [])).toBeUndefined();
    expect(audienceProblemOf('pools', [], [])).toBe('pools_empty');
    expect(audienceProblemOf('users', [], ['.alice'])).toBe('users_invalid');
    expect(
      audienceProblemOf(
        'users',
        [],
        Array.from({ length: 65 }, (_, i) => `u${i}`),
      ),
    ).toBe('too_many');
    expect(textProblemOf('  ')).toBe('text_empty');
    expect(textBytes('ä')).toBe(2);
    expect(textProblemOf('ä'.repeat(2049))).toBe('text_long');
    expect(textProblemOf('ä'.repeat(2048))).toBeUndefined();
  });
});

describe('sent-broadcast log', () => {
  const store = new Map<string, string>();
  const fake = {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
  };
  (globalThis as { sessionStorage?: unknown }).sessionStorage = fake;
  afterEach(() => store.clear());
  const id = (n: number) => `${'A'.repeat(21)}${n}`;

  it('keeps what this tab sent, per tenant and administrator, newest first', () => {
    logBroadcast('acme', 'adm_1', {
      broadcastId: id(1),
      sentAt: 1,
      text: 'one',
      audience: { kind: 'tenant' },
    });
    logBroadcast('acme', 'adm_1', {
      broadcastId: id(2),
      sentAt: 2,
      text: 'two',
      audience: { kind: 'pools', pools: ['w'] },
    });
    expect(readLog('acme', 'adm_1').map((e) => e.text)).toEqual(['two', 'one']);
    expect(readLog('acme', 'adm_2')).toEqual([]);
  });

  it('drops entries that are not what it wrote', () => {
    store.set(
      'cloister.portal.broadcasts:acme:adm_1',
      JSON.stringify([
        { broadcastId: '<img src=x>', sentAt: 1, text: 'x' },
        { broadcastId: id(3), sentAt: 'soon' },
        { broadcastId: id(4), sentAt: 4, audience: { kind: 'users', users: [1] } },
      ]),
    );
    expect(readLog('acme', 'adm_1')).toEqual([{ broadcastId: id(4), sentAt: 4 }]);
    store.set('cloister.portal.broadcasts:acme:adm_1', '{not json');
    expect(readLog('acme', 'adm_1')).toEqual([]);
  });

  it('merges the audit log’s broadcasts with this tab’s, the tab’s text kept', () => {
    const merged = mergeLogs(
      [{ broadcastId: id(1), sentAt: 10, text: 'mine' }],
      [
        { broadcastId: id(1), sentAt: 9, actor: 'adm_1' },
        { broadcastId: id(2), sentAt: 20, actor: 'adm_2' },
      ],
    );
    expect(merged).toEqual([
      { broadcastId: id(2), sentAt: 20, actor: 'adm_2' },
      { broadcastId: id(1), sentAt: 9, actor: 'adm_1', text: 'mine' },
    ]);
  });
});

describe('error texts', () => {
  const translate = (key: string, options?: Record<string, unknown>) =>
    `${key}${options ? JSON.stringify(options) : ''}`;
  it('name the field, constraint or wait, never the message', () => {
    expect(errorMessage(translate, new ValidationError('name', 'secret value 123'))).toBe(
      'portal.organisation.errors.validation{"field":"name"}',
    );
    expect(errorMessage(translate, new ConflictError('pool'))).toBe(
      'portal.organisation.errors.conflict_pool',
    );
    expect(errorMessage(translate, new ConflictError('organisation-sequence'))).toBe(
      'portal.organisation.errors.conflict_organisation_sequence',
    );
    expect(errorMessage(translate, new ConflictError('other'))).toBe('portal.organisation.errors.conflict');
    expect(errorMessage(translate, new RateLimitedError(7))).toBe(
      'portal.organisation.errors.rate_limited{"seconds":7}',
    );
    expect(errorMessage(translate, new ForbiddenError('you are adm_1'))).toBe(
      'portal.organisation.errors.forbidden',
    );
    expect(errorMessage(translate, new UsageError('cancelled'))).toBe('portal.organisation.errors.cancelled');
    expect(errorMessage(translate, new Error('{"stack":"at x"}'))).toBe(
      'portal.organisation.errors.unexpected',
    );
    expect(errorMessage(translate, 'boom')).toBe('portal.organisation.errors.unexpected');
  });
});
