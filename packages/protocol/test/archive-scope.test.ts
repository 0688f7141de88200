/**
 * The archive scope of the tenant layer (spec/organisation.md §6.1, spec/organisation-client.md
 * §5): strict validation in the policy-layer codec and the restrictions validator (field named,
 * value never echoed), the limits, and who is in scope when.
 */
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  archiveReason,
  archiveWindowHolds,
  MAX_ARCHIVE_SCOPE_POOLS,
  MAX_ARCHIVE_SCOPE_USERS,
  partyInArchiveScope,
  validateArchiveConfig,
  validateArchiveScope,
  validateRestrictionFeature,
} from '../src/index.js';
import { encodePolicyLayer } from '../src/organisation/policy-layer.js';

const KEY = Buffer.alloc(32, 7).toString('base64url');

function layer(config: unknown) {
  return encodePolicyLayer({
    layer: 'tenant',
    target: null,
    document: { archive: { enabled: true, locked: true, config: config as never } },
  });
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).message;
  }
  throw new Error('expected a ValidationError');
}

describe('archive scope validation', () => {
  it('accepts a scope of users, pools and a window, with auditors and a key set id', () => {
    expect(() =>
      layer({
        publicKey: KEY,
        retentionMs: 86_400_000,
        scope: { users: ['ceo@acme.example'], pools: ['trading'], from: 1000, until: 2000 },
        auditors: { threshold: 2, holders: ['dpo', 'audit', 'legal'] },
        keySetId: '00112233445566778899aabbccddeeff',
      }),
    ).not.toThrow();
    // Absent scope: everyone, as before.
    expect(() => layer({ publicKey: KEY })).not.toThrow();
  });

  it('refuses each malformed field by name, without echoing the value', () => {
    const secret = 'secret-user-name';
    const cases: [unknown, string][] = [
      [
        { publicKey: KEY, scope: { users: [`${secret} with spaces`] } },
        'payload.document.archive.config.scope.users[0]',
      ],
      [{ publicKey: KEY, scope: { users: 'ceo' } }, 'payload.document.archive.config.scope.users'],
      [{ publicKey: KEY, scope: { users: ['a', 'a'] } }, 'payload.document.archive.config.scope.users[1]'],
      [{ publicKey: KEY, scope: { pools: [7] } }, 'payload.document.archive.config.scope.pools[0]'],
      [{ publicKey: KEY, scope: { from: 5, until: 5 } }, 'payload.document.archive.config.scope'],
      [{ publicKey: KEY, scope: { from: -1 } }, 'payload.document.archive.config.scope.from'],
      [{ publicKey: KEY, scope: { until: 'soon' } }, 'payload.document.archive.config.scope.until'],
      [{ publicKey: KEY, scope: { groups: ['x'] } }, 'payload.document.archive.config.scope'],
      [
        { publicKey: KEY, auditors: { threshold: 3, holders: ['a', 'b'] } },
        'payload.document.archive.config.auditors.threshold',
      ],
      [
        { publicKey: KEY, auditors: { threshold: 1, holders: [] } },
        'payload.document.archive.config.auditors.holders',
      ],
      [{ publicKey: KEY, keySetId: 'ABCD' }, 'payload.document.archive.config.keySetId'],
      [{ publicKey: KEY, retentionMs: 0 }, 'payload.document.archive.config.retentionMs'],
      [{ scope: {} }, 'payload.document.archive.config.publicKey'],
    ];
    for (const [config, field] of cases) {
      const message = fieldOf(() => layer(config));
      expect(message.startsWith(`${field}:`), `${field} in ${message}`).toBe(true);
      expect(message).not.toContain(secret);
    }
  });

  it('bounds the lists: 10 000 users, 1 000 pools', () => {
    const users = Array.from({ length: MAX_ARCHIVE_SCOPE_USERS + 1 }, (_, i) => `u${i}`);
    const pools = Array.from({ length: MAX_ARCHIVE_SCOPE_POOLS + 1 }, (_, i) => `p${i}`);
    expect(() => validateArchiveScope({ users: users.slice(1) })).not.toThrow();
    expect(fieldOf(() => validateArchiveScope({ users }))).toMatch(/^archive\.scope\.users:/);
    expect(() => validateArchiveScope({ pools: pools.slice(1) })).not.toThrow();
    expect(fieldOf(() => validateArchiveScope({ pools }))).toMatch(/^archive\.scope\.pools:/);
  });

  it('is applied by the restrictions validator (the signer) for the tenant layer, and archive stays tenant-only', () => {
    const bad = { enabled: true, locked: true, config: { publicKey: KEY, scope: { from: 9, until: 1 } } };
    expect(() => validateRestrictionFeature('archive', bad, 'tenant')).toThrow(ValidationError);
    expect(() => validateRestrictionFeature('archive', bad, 'user')).toThrow(ForbiddenError);
    expect(() =>
      validateRestrictionFeature(
        'archive',
        { ...bad, config: { publicKey: KEY, scope: { pools: ['a'] } } },
        'tenant',
      ),
    ).not.toThrow();
    // A disabled archive needs no key, but a scope it carries is still checked.
    expect(() => validateArchiveConfig(undefined, false)).not.toThrow();
    expect(() => validateArchiveConfig({ scope: { users: [''] } }, false)).toThrow(ValidationError);
  });
});

describe('who is in scope', () => {
  const alice = { userId: 'alice', pools: ['sales'] };
  const bob = { userId: 'bob', pools: ['trading'] };
  const carol = { userId: 'carol', pools: [] };

  it('no scope, or a scope naming nobody by list: everyone (all)', () => {
    expect(archiveReason(undefined, { now: 1, sender: alice, recipients: [carol] })).toBe('all');
    expect(archiveReason({ from: 0 }, { now: 1, sender: alice, recipients: [carol] })).toBe('all');
  });

  it('the sender in scope by user or by pool: self; a recipient: peer; nobody: null', () => {
    expect(archiveReason({ users: ['alice'] }, { now: 1, sender: alice, recipients: [carol] })).toBe('self');
    expect(archiveReason({ pools: ['sales'] }, { now: 1, sender: alice, recipients: [carol] })).toBe('self');
    expect(archiveReason({ users: ['carol'] }, { now: 1, sender: alice, recipients: [carol] })).toBe('peer');
    expect(archiveReason({ pools: ['trading'] }, { now: 1, sender: alice, recipients: [carol, bob] })).toBe(
      'peer',
    );
    expect(
      archiveReason({ users: [], pools: ['hr'] }, { now: 1, sender: alice, recipients: [bob] }),
    ).toBeNull();
    expect(archiveReason({ users: [] }, { now: 1, sender: alice, recipients: [bob] })).toBeNull();
  });

  it('the window is [from, until)', () => {
    const scope = { users: ['alice'], from: 10, until: 20 };
    expect(archiveReason(scope, { now: 9, sender: alice, recipients: [] })).toBeNull();
    expect(archiveReason(scope, { now: 10, sender: alice, recipients: [] })).toBe('self');
    expect(archiveReason(scope, { now: 19, sender: alice, recipients: [] })).toBe('self');
    expect(archiveReason(scope, { now: 20, sender: alice, recipients: [] })).toBeNull();
    expect(archiveWindowHolds(undefined, 0)).toBe(true);
  });

  it('unknown pools count as in scope when the scope lists pools (archiving errs towards the signed rule)', () => {
    expect(partyInArchiveScope({ pools: ['trading'] }, { userId: 'dave' })).toBe(true);
    expect(partyInArchiveScope({ users: ['x'] }, { userId: 'dave' })).toBe(false);
  });
});
