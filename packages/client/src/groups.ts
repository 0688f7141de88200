/**
 * Groups as the app drives them: creating one, adding and removing members (signed changes made
 * and queued by the core, `core/outgoing.ts`), and reading what this device knows of a group.
 *
 * @module
 */
import type { GroupChange, GroupState } from '@cloister/crypto';
import { UsageError, utf8, ValidationError } from '@cloister/crypto';
import { type ConversationId, userId as toUserId, type UserId } from '@cloister/protocol';
import type { ClientContext } from './context.js';
import { composeGroupChange, groupHex, loadGroup } from './core/index.js';

/** Group administration of one client; `kickOutbox` wakes the outbox loop after a commit. */
export class Groups {
  readonly #ctx: ClientContext;
  readonly #kickOutbox: () => void;
  readonly #checkKnown: (users: readonly UserId[]) => Promise<void>;

  /** `checkKnown` rejects with `UnknownRecipientError` for a user the server's directory does not know. */
  constructor(
    ctx: ClientContext,
    kickOutbox: () => void,
    checkKnown: (users: readonly UserId[]) => Promise<void>,
  ) {
    this.#ctx = ctx;
    this.#kickOutbox = kickOutbox;
    this.#checkKnown = checkKnown;
  }

  /** Creates a group with this user and `members`. */
  async create(
    name: string,
    members: readonly string[],
  ): Promise<{ conversationId: ConversationId; groupId: string; state: GroupState }> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    if (typeof name !== 'string' || name.length === 0 || utf8(name).length > 256) {
      throw new ValidationError('name', 'a group name of 1 to 256 UTF-8 bytes');
    }
    const users = [...new Set([u.registration.userId as string, ...members.map((m) => toUserId(m))])];
    await this.#checkKnown(users.filter((m) => m !== u.registration.userId) as UserId[]);
    const groupId = await ctx.provider.randomBytes(32);
    return this.#change(
      { groupId, version: 1, action: 'create', members: users.map((userId) => ({ userId, deviceIds: [] })) },
      name,
      [],
    );
  }

  /** Adds or removes members of a group this user administers; removed members get the change too. */
  async changeMembers(
    group: string,
    action: 'add' | 'remove',
    members: readonly string[],
  ): Promise<GroupState> {
    const u = this.#ctx.ready();
    const hex = group.startsWith('g:') ? group.slice(2) : group;
    const stored = await u.adapter.transaction((tx) => loadGroup(tx, hex));
    if (stored === undefined) throw new UsageError('unknown group');
    const users = [...new Set(members.map((m) => toUserId(m) as string))];
    if (users.length === 0) throw new ValidationError('members', 'at least one user id');
    if (action === 'add') await this.#checkKnown(users as UserId[]);
    const result = await this.#change(
      {
        groupId: stored.state.groupId,
        version: stored.state.version + 1,
        action,
        members: users.map((userId) => ({ userId, deviceIds: [] })),
      },
      stored.name,
      action === 'remove' ? users : [],
    );
    return result.state;
  }

  /** A group this device knows: its name, members, admins and whether this user is still in it. */
  async get(
    group: string,
  ): Promise<{ readonly name: string; readonly state: GroupState; readonly active: boolean } | undefined> {
    const u = this.#ctx.ready();
    const hex = groupHex(group);
    const stored = await u.adapter.transaction((tx) => loadGroup(tx, hex));
    return stored === undefined
      ? undefined
      : { name: stored.name, state: stored.state, active: stored.active };
  }

  async #change(change: GroupChange, name: string, alsoTo: readonly string[]) {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const now = ctx.now();
    const result = await u.stores.transaction((t) =>
      composeGroupChange(u.self, t, { change, name, alsoTo, now }),
    );
    this.#kickOutbox();
    return result;
  }
}
