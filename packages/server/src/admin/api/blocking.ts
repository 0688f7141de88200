/**
 * Blocking and unblocking a user: the one path the admin API and the directory (SCIM and the
 * LDAP/AD bridge, `spec/directory.md` §1.1) share. Inside the caller's transaction: the flag, the
 * delivery-token epochs of the user and of their class (bumped by the user store), and the audit
 * record; after the commit the caller wakes the user's connected devices ({@link wakeUserDevices})
 * so that their sockets re-read the flag and close.
 *
 * @module
 */
import type { MailboxId, TenantId, UserId } from '@cloister/protocol';
import type { ServerContext } from '../../context.js';
import { ConflictError, NotFoundError, type ServerStoreSet, type User } from '../../store/index.js';

/**
 * Who blocks or unblocks, for the audit record: an administrator's id or `directory:<source>`,
 * and the record's details.
 *
 * @example
 * ```ts
 * const by: BlockActor = { actor: 'directory:scim', details: { reason: 'directory-disabled' } };
 * ```
 */
export interface BlockActor {
  /** The audit record's actor. */
  readonly actor: string;
  /** The audit record's details (no user data). */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * Sets a user's block flag in the transaction of `s` and appends `user.block` or `user.unblock`.
 * An unblock of a user whose directory record says `left` is refused with
 * `ConflictError('left-directory')` (detach first); an unblock clears the directory record's
 * `reenableRequested`. `NotFoundError('user')` for an unknown user. The directory record itself is
 * left to the caller.
 *
 * @example
 * ```ts
 * const after = await ctx.stores.transaction((s) => setUserBlocked(s, tenant, user, true, { actor: admin.id }));
 * await wakeUserDevices(ctx, tenant, user);
 * ```
 */
export async function setUserBlocked(
  s: ServerStoreSet,
  tenant: TenantId,
  user: UserId,
  blocked: boolean,
  by: BlockActor,
  extra: { readonly directory?: User['directory'] } = {},
): Promise<User> {
  const before = await s.users.get(tenant, user);
  if (before === undefined) throw new NotFoundError('user');
  let directory = extra.directory === undefined ? before.directory : extra.directory;
  if (!blocked && directory !== null) {
    if (directory.state === 'left') throw new ConflictError('left-directory', 'the user left the directory');
    if (directory.reenableRequested) directory = { ...directory, reenableRequested: false };
  }
  const after = await s.users.update(tenant, user, {
    blocked,
    ...(directory === before.directory ? {} : { directory }),
  });
  await s.audit.append(tenant, {
    actor: by.actor,
    action: blocked ? 'user.block' : 'user.unblock',
    target: user,
    outcome: 'success',
    ...(by.details === undefined ? {} : { details: { ...by.details } }),
  });
  return after;
}

/**
 * Wakes every connected device of a user so that its socket re-reads the user and device (and
 * closes when refused). Call it after the transaction that blocked the user committed.
 *
 * @example
 * ```ts
 * await wakeUserDevices(ctx, tenant, user);
 * ```
 */
export async function wakeUserDevices(
  ctx: ServerContext,
  tenant: TenantId,
  user: UserId,
  mailboxes?: readonly MailboxId[],
): Promise<void> {
  const list = mailboxes ?? (await ctx.stores.devices.list(tenant, user)).map((d) => d.mailbox);
  for (const m of list) await ctx.bus.notify(m, 'recheck').catch(() => undefined);
}
