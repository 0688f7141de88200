/**
 * Who gets delivery tokens, and for what: the authenticated caller of a directory or bundle route
 * may reach a target user (`contactableUser`: same tenant, target not blocked, pool rules), and
 * receives tokens bound to its **sender class** and to the epochs current when that was decided
 * (`store/delivery-epochs.ts`, `delivery-token.ts`).
 *
 * The epochs are read **before** the state they guard (the target user, the pool rules, the
 * caller's pools and blocked flags), and every change of that state bumps its epoch in the same
 * transaction. So a change that committed before the epochs were read is seen by the checks, and
 * one that committed after makes the token's epochs stale: no token outlives the access decision
 * it was issued on. The caller's class is known only from its pools, so the caller is read once
 * to name the class and once more after the epochs; if its pools changed in between, the decision
 * is taken again.
 *
 * @module
 */
import { ForbiddenError, UnauthenticatedError } from '@cloister/crypto';
import { type MailboxId, mailboxId, type UserId, userId } from '@cloister/protocol';
import type { DeviceAuth } from './auth.js';
import type { ServerContext } from './context.js';
import { contactableUser } from './routes/keys.js';
import {
  ConflictError,
  type DeliveryEpochs,
  NotFoundError,
  type ServerStoreSet,
  senderClassOf,
  type User,
} from './store/index.js';

/**
 * A decided access: the target user, and what the tokens for its devices are bound to.
 *
 * @example
 * ```ts
 * const access: DeliveryAccess = await deliveryAccess(ctx, me, 'bob');
 * for (const d of await ctx.stores.devices.list(access.user.tenant, access.user.id)) {
 *   const token = await issueDeliveryToken(ctx, access, d.mailbox);
 * }
 * ```
 */
export interface DeliveryAccess {
  /** The target (recipient) user. */
  readonly user: User;
  /** The caller's sender class (16 bytes). */
  readonly senderClass: Uint8Array;
  /** The epochs read before the decision. */
  readonly epochs: DeliveryEpochs;
}

const samePools = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i]);

/**
 * Decides whether the caller `me` may reach `target` (as `contactableUser`: `NotFoundError`,
 * `ForbiddenError`) and returns what its delivery tokens are bound to. A blocked caller device
 * or user is `ForbiddenError`.
 *
 * @example
 * ```ts
 * const caller = await authenticate(ctx, request);
 * const access = await deliveryAccess(ctx, caller, 'bob'); // NotFoundError when bob is out of reach
 * access.user.id; // → 'bob'
 * ```
 */
export async function deliveryAccess(
  ctx: ServerContext,
  me: DeviceAuth,
  target: string,
): Promise<DeliveryAccess> {
  const stores = ctx.stores;
  const targetId = userId(target);
  let caller = await stores.users.get(me.tenant, me.user);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (caller === undefined) throw new UnauthenticatedError();
    const senderClass = senderClassOf(me.tenant, caller.pools);
    // Epochs first, then every piece of state they guard.
    const epochs = await stores.deliveryEpochs.get(me.tenant, targetId, senderClass);
    const user = await contactableUser(ctx, me, target);
    const device = await stores.devices.get(me.tenant, me.user, me.device);
    if (device === undefined) throw new UnauthenticatedError();
    if (device.blocked) throw new ForbiddenError('this device is blocked');
    const now = await stores.users.get(me.tenant, me.user);
    if (now === undefined) throw new UnauthenticatedError();
    if (now.blocked) throw new ForbiddenError('this user is blocked');
    if (samePools(now.pools, caller.pools)) return { user, senderClass, epochs };
    caller = now; // moved while deciding: decide again with the new class
  }
  throw new ConflictError('user.pools', 'the caller kept changing pools; try again');
}

/**
 * A delivery token for `mailbox` (a device of `access.user`) under `access`: bound to the
 * recipient's tenant and user, the mailbox, the caller's sender class and the epochs of the
 * decision, valid for the server's delivery token lifetime.
 *
 * @example
 * ```ts
 * const access = await deliveryAccess(ctx, me, 'bob');
 * const [first] = await ctx.stores.devices.list(access.user.tenant, access.user.id);
 * if (first !== undefined) {
 *   const token = await issueDeliveryToken(ctx, access, first.mailbox);
 * }
 * ```
 */
export function issueDeliveryToken(
  ctx: ServerContext,
  access: DeliveryAccess,
  mailbox: MailboxId,
): Promise<Uint8Array> {
  return ctx.deliveryTokens.issue({
    tenant: access.user.tenant,
    user: access.user.id,
    mailbox,
    senderClass: access.senderClass,
    epochs: access.epochs,
  });
}

/**
 * A delivery token for `mailbox` as the server would issue it now to a sender in the class of
 * `sender` (a user of the mailbox's tenant; default the mailbox's own user), **without** the
 * reachability checks of the routes: for operators' tooling, benchmarks and tests that seed the
 * stores directly. `NotFoundError('device' | 'user')`.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 * const token = await deliveryTokenFor(server.context, mailbox, userId('alice'));
 * // a token alice's devices could use to deliver to `mailbox`
 * ```
 */
export async function deliveryTokenFor(
  ctx: ServerContext,
  mailbox: MailboxId,
  sender?: UserId,
): Promise<Uint8Array> {
  const m = mailboxId(mailbox);
  const device = await ctx.stores.devices.byMailbox(m);
  if (device === undefined) throw new NotFoundError('device');
  const from = await ctx.stores.users.get(device.tenant, sender ?? device.user);
  if (from === undefined) throw new NotFoundError('user');
  const senderClass = senderClassOf(device.tenant, from.pools);
  return ctx.deliveryTokens.issue({
    tenant: device.tenant,
    user: device.user,
    mailbox: m,
    senderClass,
    epochs: await ctx.stores.deliveryEpochs.get(device.tenant, device.user, senderClass),
  });
}

/**
 * Whether `token` admits a sealed delivery to `mailbox` now, as a submission checks it: a
 * version-2 token that has not expired, a recipient device and user that exist and are not
 * blocked, and a tag that verifies with the recipient's tenant and user, the token's sender class
 * and the epochs current now. Reads through `stores` (default `ctx.stores`; a submission passes
 * its transaction's); `epochCache` shares epoch reads between the deliveries of one submission.
 *
 * @example
 * ```ts
 * const token = await deliveryTokenFor(ctx, mailbox);
 * await deliveryTokenAdmits(ctx, mailbox, token); // → true
 * const recipient = await ctx.stores.devices.byMailbox(mailbox);
 * if (recipient !== undefined) await ctx.stores.devices.update(recipient.tenant, recipient.user, recipient.id, { blocked: true });
 * await deliveryTokenAdmits(ctx, mailbox, token); // → false: the recipient device is blocked
 * ```
 */
export async function deliveryTokenAdmits(
  ctx: ServerContext,
  mailbox: MailboxId,
  token: Uint8Array,
  stores: ServerStoreSet = ctx.stores,
  epochCache: Map<string, Promise<DeliveryEpochs>> = new Map(),
): Promise<boolean> {
  const header = ctx.deliveryTokens.read(token);
  if (header === undefined) return false;
  const device = await stores.devices.byMailbox(mailbox);
  if (device === undefined || device.blocked) return false;
  const user = await stores.users.get(device.tenant, device.user);
  if (user === undefined || user.blocked) return false;
  const cacheKey = `${device.tenant}\u0000${device.user}\u0000${Buffer.from(header.senderClass).toString('hex')}`;
  let epochs = epochCache.get(cacheKey);
  if (epochs === undefined) {
    epochs = stores.deliveryEpochs.get(device.tenant, device.user, header.senderClass);
    epochCache.set(cacheKey, epochs);
  }
  const claims = {
    tenant: device.tenant,
    user: device.user,
    mailbox,
    senderClass: header.senderClass,
    epochs: await epochs,
  };
  return ctx.deliveryTokens.verify(claims, token);
}
