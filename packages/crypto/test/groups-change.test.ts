/**
 * Group state changes: canonical encoding, signatures by the identity key, and the laws of
 * applyGroupChange (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyGroupChange,
  decodeGroupChange,
  encodeGroupChange,
  type GroupAction,
  type GroupChange,
  GroupChangeRejected,
  type GroupState,
  signGroupChange,
  verifyGroupChange,
} from '../src/groups/index.js';
import { CloisterError, type CryptoProvider, toHex, utf8 } from '../src/index.js';
import { generateDeviceIdentity, toPublicIdentity } from '../src/v2/index.js';
import { PROVIDERS } from './providers.js';

const G = utf8('group-1');

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof GroupChangeRejected) {
      expect(e.code).toBe('ERR_VALIDATION');
      return e.reason;
    }
    if (e instanceof CloisterError) return e.code;
    throw e;
  }
  return 'accepted';
}

function created(): GroupState {
  return applyGroupChange(
    undefined,
    {
      groupId: G,
      version: 1,
      action: 'create',
      members: [
        { userId: 'alice', deviceIds: [1, 2] },
        { userId: 'bob', deviceIds: [1] },
      ],
    },
    'alice',
  );
}

describe('group change encoding and signatures', () => {
  it('encodes canonically: member and device order do not matter', () => {
    const a = encodeGroupChange({
      groupId: G,
      version: 2,
      action: 'add',
      members: [
        { userId: 'carol', deviceIds: [3, 1] },
        { userId: 'bob', deviceIds: [2] },
      ],
    });
    const b = encodeGroupChange({
      groupId: G,
      version: 2,
      action: 'add',
      members: [
        { userId: 'bob', deviceIds: [2] },
        { userId: 'carol', deviceIds: [1, 3] },
      ],
    });
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(a.subarray(0, 24))).toBe(toHex(utf8('cloister/v1/group/change')));
  });

  it('rejects malformed changes with ERR_VALIDATION naming the field', () => {
    const good: GroupChange = {
      groupId: G,
      version: 2,
      action: 'add',
      members: [{ userId: 'c', deviceIds: [1] }],
    };
    const cases: [string, unknown][] = [
      ['change', null],
      ['change.groupId', { ...good, groupId: new Uint8Array(0) }],
      ['change.groupId', { ...good, groupId: new Uint8Array(65) }],
      ['change.version', { ...good, version: 0 }],
      ['change.version', { ...good, version: 2 ** 32 }],
      ['change.action', { ...good, action: 'ban' }],
      ['change.action', { ...good, action: 'toString' }],
      ['change.members', { ...good, members: 'c' }],
      ['change.members[0].userId', { ...good, members: [{ userId: '', deviceIds: [] }] }],
      ['change.members[1].userId', { ...good, members: [good.members[0], good.members[0]] }],
      ['change.members[0].deviceIds', { ...good, members: [{ userId: 'c', deviceIds: [1, 1] }] }],
      ['change.members[0].deviceIds[0]', { ...good, members: [{ userId: 'c', deviceIds: [-1] }] }],
    ];
    for (const [field, change] of cases) {
      let err: unknown;
      try {
        encodeGroupChange(change as GroupChange);
      } catch (e) {
        err = e;
      }
      expect((err as CloisterError).code, field).toBe('ERR_VALIDATION');
      expect((err as { field?: string }).field, field).toBe(field);
    }
  });

  describe.each(PROVIDERS.map((p) => [p.name, p] as const))('(%s)', (_name, p: CryptoProvider) => {
    it('verifies a signed change and rejects any other change, key or signature', async () => {
      const alice = await generateDeviceIdentity(p);
      const mallory = await generateDeviceIdentity(p);
      const change: GroupChange = {
        groupId: G,
        version: 2,
        action: 'remove',
        members: [{ userId: 'bob', deviceIds: [] }],
      };
      const signature = await signGroupChange(p, alice, change);
      expect(await verifyGroupChange(p, toPublicIdentity(alice), change, signature)).toBe(true);
      expect(await verifyGroupChange(p, toPublicIdentity(mallory), change, signature)).toBe(false);
      for (const other of [
        { ...change, version: 3 },
        { ...change, action: 'demote' as const },
        { ...change, groupId: utf8('group-2') },
        { ...change, members: [{ userId: 'bob', deviceIds: [1] }] },
      ]) {
        expect(await verifyGroupChange(p, toPublicIdentity(alice), other, signature)).toBe(false);
      }
      const flipped = signature.slice();
      flipped[10] = (flipped[10] as number) ^ 1;
      expect(await verifyGroupChange(p, toPublicIdentity(alice), change, flipped)).toBe(false);
      let err: unknown;
      try {
        await verifyGroupChange(p, toPublicIdentity(alice), change, new Uint8Array(63));
      } catch (e) {
        err = e;
      }
      expect((err as CloisterError).code).toBe('ERR_VALIDATION');
    });
  });
});

describe('applyGroupChange rules', () => {
  it('makes the creator the first admin and requires the creator to be a member', () => {
    const s = created();
    expect(s.version).toBe(1);
    expect(s.admins).toEqual(['alice']);
    expect(s.members.map((m) => m.userId)).toEqual(['alice', 'bob']);
    expect(
      rejection(() =>
        applyGroupChange(undefined, { groupId: G, version: 1, action: 'create', members: [] }, 'alice'),
      ),
    ).toBe('creator-not-member');
    expect(
      rejection(() =>
        applyGroupChange(s, { groupId: G, version: 2, action: 'create', members: [] }, 'alice'),
      ),
    ).toBe('exists');
    expect(
      rejection(() =>
        applyGroupChange(undefined, { groupId: G, version: 2, action: 'add', members: [] }, 'alice'),
      ),
    ).toBe('not-created');
  });

  it('enforces version, group id, admin, membership and last-admin rules', () => {
    const s = created();
    const add = (version: number, actor: string, groupId = G): string =>
      rejection(() =>
        applyGroupChange(
          s,
          { groupId, version, action: 'add', members: [{ userId: 'carol', deviceIds: [1] }] },
          actor,
        ),
      );
    expect(add(2, 'alice')).toBe('accepted');
    expect(add(1, 'alice')).toBe('version');
    expect(add(3, 'alice')).toBe('version');
    expect(add(2, 'bob')).toBe('not-admin');
    expect(add(2, 'carol')).toBe('not-admin');
    expect(add(2, 'alice', utf8('group-2'))).toBe('group-id');
    expect(
      rejection(() =>
        applyGroupChange(
          s,
          { groupId: G, version: 2, action: 'promote', members: [{ userId: 'zed', deviceIds: [] }] },
          'alice',
        ),
      ),
    ).toBe('not-member');
    expect(
      rejection(() =>
        applyGroupChange(
          s,
          { groupId: G, version: 2, action: 'demote', members: [{ userId: 'alice', deviceIds: [] }] },
          'alice',
        ),
      ),
    ).toBe('last-admin');
  });

  const action = fc.constantFrom<GroupAction>('add', 'remove', 'promote', 'demote');
  const user = fc.constantFrom('alice', 'bob', 'carol', 'dave', 'erin');
  const step = fc.record({
    action,
    actor: user,
    users: fc.uniqueArray(user, { maxLength: 3 }),
    devices: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }),
    versionOffset: fc.constantFrom(1, 1, 1, 0, 2),
  });

  it('laws: versions strictly increase, non-admin changes are rejected, removed members are absent', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        let s = created();
        for (const st of steps) {
          const change: GroupChange = {
            groupId: G,
            version: s.version + st.versionOffset,
            action: st.action,
            members: st.users.map((userId) => ({ userId, deviceIds: st.devices })),
          };
          let next: GroupState | undefined;
          try {
            next = applyGroupChange(s, change, st.actor);
          } catch (e) {
            expect(e).toBeInstanceOf(GroupChangeRejected);
            expect((e as GroupChangeRejected).code).toBe('ERR_VALIDATION');
            if (!s.admins.includes(st.actor) && st.versionOffset === 1) {
              expect((e as GroupChangeRejected).reason).toBe('not-admin');
            }
            continue;
          }
          expect(st.versionOffset).toBe(1);
          expect(s.admins).toContain(st.actor);
          expect(next.version).toBe(s.version + 1);
          const names = next.members.map((m) => m.userId);
          expect(names).toEqual([...names].sort());
          for (const a of next.admins) expect(names).toContain(a);
          if (st.action === 'remove') for (const u of st.users) expect(names).not.toContain(u);
          if (st.action === 'add') for (const u of st.users) expect(names).toContain(u);
          if (st.action === 'promote') for (const u of st.users) expect(next.admins).toContain(u);
          if (next.members.length > 0) expect(next.admins.length).toBeGreaterThan(0);
          s = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeGroupChange', () => {
  const change: GroupChange = {
    groupId: G,
    version: 3,
    action: 'add',
    members: [
      { userId: 'bob', deviceIds: [1, 7] },
      { userId: 'carol', deviceIds: [] },
    ],
  };

  it('inverts encodeGroupChange', () => {
    const bytes = encodeGroupChange(change);
    const back = decodeGroupChange(bytes);
    expect(toHex(encodeGroupChange(back))).toBe(toHex(bytes));
    expect(back.action).toBe('add');
    expect(back.members.map((m) => m.userId)).toEqual(['bob', 'carol']);
    expect(back.members[0]!.deviceIds).toEqual([1, 7]);
  });

  it('refuses truncation, trailing bytes, unknown actions and non-canonical order', () => {
    const bytes = encodeGroupChange(change);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeGroupChange(bytes.subarray(0, n))).toThrow(
        expect.objectContaining({ code: 'ERR_DECODE' }),
      );
    }
    expect(() => decodeGroupChange(Uint8Array.of(...bytes, 0))).toThrow(/trailing/);
    const actionAt = utf8('cloister/v1/group/change').length + 1 + G.length + 4;
    const badAction = bytes.slice();
    badAction[actionAt] = 99;
    expect(() => decodeGroupChange(badAction)).toThrow(/action/);
    // Swap the two members: same content, not the canonical order.
    const label = utf8('cloister/v1/group/change').length + 1 + G.length + 7;
    const bob = bytes.subarray(label, label + 1 + 3 + 1 + 8);
    const carol = bytes.subarray(label + bob.length);
    const swapped = Uint8Array.of(...bytes.subarray(0, label), ...carol, ...bob);
    expect(() => decodeGroupChange(swapped)).toThrow(/canonical/);
  });

  it('round-trips every valid change (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.constantFrom<GroupAction>('create', 'add', 'remove', 'promote', 'demote'),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 }),
        (groupId, version, action, users) => {
          const c: GroupChange = {
            groupId,
            version,
            action,
            members: users.map((userId) => ({ userId, deviceIds: [1] })),
          };
          const bytes = encodeGroupChange(c);
          expect(toHex(encodeGroupChange(decodeGroupChange(bytes)))).toBe(toHex(bytes));
        },
      ),
      { numRuns: 200 },
    );
  });
});
