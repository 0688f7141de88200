/**
 * Identities of other users: safety numbers between this device and a user's device as last
 * seen, and verifying one read or scanned from the other person's screen (compared in constant
 * time; a match marks the identity verified).
 *
 * @module
 */
import {
  computeSafetyNumber,
  equalBytes,
  type SafetyNumber,
  toPublicIdentity,
  UsageError,
  utf8,
} from '@cloister/crypto';
import { userId as toUserId } from '@cloister/protocol';
import type { ClientContext } from './context.js';
import type { Directory } from './directory.js';

/** Safety numbers of one client. */
export class Identities {
  readonly #ctx: ClientContext;
  readonly #directory: Directory;

  constructor(ctx: ClientContext, directory: Directory) {
    this.#ctx = ctx;
    this.#directory = directory;
  }

  /** The safety number with `user`'s device `deviceId` (default: the first in id order). */
  async safetyNumber(user: string, options: { readonly deviceId?: number } = {}): Promise<SafetyNumber> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const remote = await this.#remoteIdentity(user, options.deviceId);
    return computeSafetyNumber(
      ctx.provider,
      { identity: toPublicIdentity(u.self.identity), stableId: utf8(u.registration.userId) },
      { identity: remote.identity, stableId: utf8(user) },
    );
  }

  /** Compares `scanned` (60 digits, spaces allowed, or 65 bytes) with the computed number; marks verified on a match. */
  async verifySafetyNumber(
    user: string,
    scanned: string | Uint8Array,
    options: { readonly deviceId?: number } = {},
  ): Promise<boolean> {
    const u = this.#ctx.ready();
    const mine = await this.safetyNumber(user, options);
    const a = typeof scanned === 'string' ? utf8(scanned.replace(/\s+/g, '')) : scanned;
    const b = typeof scanned === 'string' ? utf8(mine.digits) : mine.bytes;
    if (!equalBytes(a, b)) return false;
    const remote = await this.#remoteIdentity(user, options.deviceId);
    await u.stores.identities.setVerified(remote.address, remote.identity, true);
    return true;
  }

  async #remoteIdentity(user: string, device?: number) {
    const u = this.#ctx.ready();
    let known = await u.stores.identities.listForUser(toUserId(user));
    if (known.length === 0) {
      await this.#directory.devicesOf(toUserId(user), true);
      known = await u.stores.identities.listForUser(toUserId(user));
    }
    const sorted = [...known].sort((x, y) => x.address.deviceId - y.address.deviceId);
    const pick = device === undefined ? sorted[0] : sorted.find((r) => r.address.deviceId === device);
    if (pick === undefined) throw new UsageError('no known identity for this user');
    return pick;
  }
}
