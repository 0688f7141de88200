/**
 * The bridge's plan (`planSync`), a pure function: the joiner and leaver rules of
 * `spec/directory.md` §1.1 and §3 on hand-made directory and server snapshots. Identity is the
 * immutable id; a directory never gives back what it took away.
 */
import { describe, expect, it } from 'vitest';
import type { DirectorySnapshot, DirectoryUser, ScimUser, ServerSnapshot } from '../src/node.js';
import { planSync } from '../src/node.js';

const SOURCE = 'ldap:corp';

function dir(id: string, extra: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    externalId: id,
    dn: `uid=${id},ou=people,dc=example,dc=org`,
    userName: id,
    displayName: `User ${id}`,
    email: `${id}@example.org`,
    disabled: false,
    ...extra,
  };
}

function srv(
  id: string,
  externalId: string,
  extra: {
    state?: 'active' | 'disabled' | 'left';
    blocked?: boolean;
    reenable?: boolean;
  } & Partial<ScimUser> = {},
): ScimUser {
  const state = extra.state ?? 'active';
  return {
    id,
    externalId,
    userName: `${externalId}@example.org`,
    displayName: extra.displayName ?? `User ${externalId}`,
    email: extra.email === undefined ? `${externalId}@example.org` : extra.email,
    active: state === 'active',
    cloister: {
      source: SOURCE,
      directoryState: state,
      blocked: extra.blocked ?? state !== 'active',
      reenableRequested: extra.reenable ?? false,
    },
  };
}

const full = (users: DirectoryUser[], groups: DirectorySnapshot['groups'] = []): DirectorySnapshot => ({
  complete: true,
  users,
  removed: [],
  groups,
});
const server = (users: ScimUser[], pools: ServerSnapshot['pools'] = []): ServerSnapshot => ({ users, pools });

describe('planSync', () => {
  it('creates a new user in scope, with the e-mail as user name', () => {
    const plan = planSync(full([dir('a')]), server([]));
    expect(plan.actions).toEqual([
      {
        kind: 'create',
        externalId: 'a',
        userName: 'a@example.org',
        displayName: 'User a',
        email: 'a@example.org',
      },
    ]);
    expect(plan.counts.create).toBe(1);
    expect(plan.removals).toBe(0);
  });

  it('does not create a user the directory has disabled', () => {
    expect(planSync(full([dir('a', { disabled: true })]), server([])).actions).toEqual([]);
  });

  it('renames and changes the e-mail of the same id (not a new user)', () => {
    const plan = planSync(
      full([
        dir('a', { displayName: 'Alice Renamed', email: 'alice.new@example.org', dn: 'uid=alice2,ou=x' }),
      ]),
      server([srv('u1', 'a')]),
    );
    expect(plan.actions).toEqual([
      {
        kind: 'update',
        id: 'u1',
        externalId: 'a',
        displayName: 'Alice Renamed',
        email: 'alice.new@example.org',
      },
    ]);
  });

  it('compares e-mail addresses without case and leaves an unchanged user alone', () => {
    const plan = planSync(full([dir('a', { email: 'A@Example.org' })]), server([srv('u1', 'a')]));
    expect(plan.actions).toEqual([]);
  });

  it('disables a user the directory disabled', () => {
    const plan = planSync(full([dir('a', { disabled: true })]), server([srv('u1', 'a')]));
    expect(plan.actions).toEqual([{ kind: 'disable', id: 'u1', externalId: 'a' }]);
    expect(plan.removals).toBe(1);
  });

  it('marks as left a managed user absent from a full read, and only once', () => {
    const plan = planSync(full([]), server([srv('u1', 'a'), srv('u2', 'b', { state: 'left' })]));
    expect(plan.actions).toEqual([{ kind: 'leave', id: 'u1', externalId: 'a', reason: 'not-in-scope' }]);
    expect(plan.removals).toBe(1);
  });

  it('an incremental read leaves absent users alone and applies the removals it lists', () => {
    const snapshot: DirectorySnapshot = {
      complete: false,
      users: [dir('b', { displayName: 'B2' })],
      removed: [
        { externalId: 'c', reason: 'deleted' },
        { externalId: 'd', reason: 'out-of-scope' },
        { externalId: 'not-managed', reason: 'deleted' },
      ],
      groups: [],
    };
    const plan = planSync(snapshot, server([srv('u1', 'a'), srv('u2', 'b'), srv('u3', 'c'), srv('u4', 'd')]));
    expect(plan.actions).toEqual([
      { kind: 'update', id: 'u2', externalId: 'b', displayName: 'B2' },
      { kind: 'leave', id: 'u3', externalId: 'c', reason: 'deleted' },
      { kind: 'leave', id: 'u4', externalId: 'd', reason: 'out-of-scope' },
    ]);
  });

  it('never re-enables: a directory re-enable or a reappearance is a reenable-requested', () => {
    const plan = planSync(
      full([dir('a'), dir('b')]),
      server([srv('u1', 'a', { state: 'disabled' }), srv('u2', 'b', { state: 'left' })]),
    );
    expect(plan.actions).toEqual([
      { kind: 'reenable-requested', id: 'u1', externalId: 'a' },
      { kind: 'reenable-requested', id: 'u2', externalId: 'b' },
    ]);
    expect(plan.actions.some((a) => a.kind === 'create')).toBe(false);
  });

  it('does not repeat a re-enable request the server already records; reports it as kept-blocked', () => {
    const plan = planSync(full([dir('a')]), server([srv('u1', 'a', { state: 'disabled', reenable: true })]));
    expect(plan.actions).toEqual([{ kind: 'kept-blocked', id: 'u1', externalId: 'a' }]);
  });

  it("keeps an administrator's block: an active directory user blocked in Cloister is only reported", () => {
    const plan = planSync(full([dir('a')]), server([srv('u1', 'a', { blocked: true })]));
    expect(plan.actions).toEqual([{ kind: 'kept-blocked', id: 'u1', externalId: 'a' }]);
    expect(plan.removals).toBe(0);
  });

  it('follows group membership into pools, for managed users only', () => {
    const pools = [
      { name: 'staff', id: 'p1', members: ['u1', 'other-source-user'] },
      { name: 'sales', id: 'p2', members: [] },
    ];
    const plan = planSync(
      full(
        [dir('a'), dir('b'), dir('n')],
        [
          { pool: 'staff', members: ['b', 'n'] },
          { pool: 'sales', members: ['a', 'unknown'] },
        ],
      ),
      server([srv('u1', 'a'), srv('u2', 'b')], pools),
    );
    expect(plan.actions.filter((a) => a.kind.endsWith('member'))).toEqual([
      { kind: 'add-member', pool: 'staff', poolId: 'p1', externalId: 'b', id: 'u2' },
      { kind: 'add-member', pool: 'staff', poolId: 'p1', externalId: 'n' },
      { kind: 'remove-member', pool: 'staff', poolId: 'p1', externalId: 'a', id: 'u1' },
      { kind: 'add-member', pool: 'sales', poolId: 'p2', externalId: 'a', id: 'u1' },
    ]);
    expect(plan.counts.create).toBe(1);
  });

  it('counts disables and leaves together for the threshold', () => {
    const plan = planSync(
      full([dir('a', { disabled: true }), dir('b', { disabled: true })]),
      server([srv('u1', 'a'), srv('u2', 'b'), srv('u3', 'c')]),
    );
    expect(plan.counts.disable).toBe(2);
    expect(plan.counts.leave).toBe(1);
    expect(plan.removals).toBe(3);
  });

  it('matches ids without case (GUID strings) and keeps the order stable', () => {
    const users = [dir('B', { displayName: 'User b', email: 'b@example.org' }), dir('a')];
    const one = planSync(full(users), server([srv('u1', 'b')]));
    const two = planSync(full([...users].reverse()), server([srv('u1', 'b')]));
    expect(one).toEqual(two);
    expect(one.actions.map((a) => a.kind)).toEqual(['create']);
  });
});
