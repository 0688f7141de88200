/**
 * Identities of other users: the safety number over every admitted device of both users (as the
 * pinned signed device lists name them), verifying one read or scanned from the other person's
 * screen (compared in constant time; a match marks the user's list verified), and the explicit
 * acceptance of a verified user's changed identity, which releases what was held from them.
 *
 * @module
 */
import {
  computeDeviceSetSafetyNumber,
  equalBytes,
  type SafetyNumber,
  UsageError,
  utf8,
} from '@cloister/crypto';
import { userId as toUserId, type UserId } from '@cloister/protocol';
import type { ClientContext } from './context.js';
import {
  acceptHeldList,
  type ClientEvent,
  type DeviceListPin,
  loadPin,
  PROCESSED_TTL_MS,
  quarantinedCount,
  releaseQuarantine,
  setPinVerified,
} from './core/index.js';
import type { Directory } from './directory.js';

/**
 * What this client trusts of one user's identity.
 *
 * @example
 * ```ts
 * const status: IdentityStatus = await client.identityStatus('bob');
 * if (status.held) console.warn('Bob has a new identity: compare safety numbers again');
 * ```
 */
export interface IdentityStatus {
  /** True once the safety number over the pinned devices was verified. */
  readonly verified: boolean;
  /** True when a verified user's identity changed and the app has not accepted it. */
  readonly held: boolean;
  /** The device ids on the pinned list. */
  readonly devices: readonly number[];
  /** Deliveries from this user waiting for their devices to be admitted or accepted. */
  readonly quarantined: number;
}

/** Safety numbers and identity decisions of one client. */
export class Identities {
  readonly #ctx: ClientContext;
  readonly #directory: Directory;

  constructor(ctx: ClientContext, directory: Directory) {
    this.#ctx = ctx;
    this.#directory = directory;
  }

  /**
   * The safety number with `user` over every device on both users' pinned lists, after asking the
   * server for newer lists (it changes when either adds or replaces a device). While a changed
   * identity is held, it is the number of the identity pinned before the change.
   */
  async safetyNumber(user: string): Promise<SafetyNumber> {
    const u = this.#ctx.ready();
    const mine = await this.#pinOf(u.registration.userId);
    const theirs = await this.#pinOf(toUserId(user));
    return computeDeviceSetSafetyNumber(
      u.self.provider,
      { devices: mine.list.devices, stableId: utf8(u.registration.userId) },
      { devices: theirs.list.devices, stableId: utf8(user) },
    );
  }

  /** Compares `scanned` (60 digits, spaces allowed, or 65 bytes) with the computed number; marks verified on a match. */
  async verifySafetyNumber(user: string, scanned: string | Uint8Array): Promise<boolean> {
    const u = this.#ctx.ready();
    const mine = await this.safetyNumber(user);
    const a = typeof scanned === 'string' ? utf8(scanned.replace(/\s+/g, '')) : scanned;
    const b = typeof scanned === 'string' ? utf8(mine.digits) : mine.bytes;
    if (!equalBytes(a, b)) return false;
    await u.stores.transaction((t) => setPinVerified(t, toUserId(user), true));
    return true;
  }

  /** What this client trusts of `user` (from what is pinned; nothing is fetched). */
  async status(user: string): Promise<IdentityStatus> {
    const u = this.#ctx.ready();
    const id = toUserId(user);
    return u.stores.transaction(async (t) => {
      const pin = await loadPin(t.tx, id);
      return {
        verified: pin?.verified === true,
        held: pin?.held !== undefined,
        devices: pin?.list.devices.map((d) => d.deviceId) ?? [],
        quarantined: await quarantinedCount(t, id),
      };
    });
  }

  /**
   * Accepts the changed identity of a verified user (held since `identity-held`): the new list is
   * pinned, unverified, sending resumes and what was held from the new devices is processed.
   * Resolves false when nothing was held.
   */
  async acceptChange(user: string): Promise<boolean> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const id = toUserId(user);
    const events: ClientEvent[] = [];
    const accepted = await u.stores.transaction(async (t) => {
      const r = await acceptHeldList(t, id);
      events.push(...r.events);
      if (r.accepted) {
        events.push(
          ...(await releaseQuarantine(u.self, t, id, {
            lifetimeMs: ctx.policy?.messageLifetimeMs ?? null,
            processedTtlMs: PROCESSED_TTL_MS,
            // The archive checks (a peer's pools, gaps); this user's pools are not known here.
            archive: { policy: ctx.policy },
          })),
        );
      }
      return r.accepted;
    });
    this.#directory.forget(user);
    for (const e of events) ctx.emit(e);
    return accepted;
  }

  /** The user's pin after asking the server for newer lists (offline: as pinned). */
  async #pinOf(user: UserId): Promise<DeviceListPin> {
    const u = this.#ctx.ready();
    let pin = await this.#directory.refreshLists(user).catch(() => undefined);
    pin ??= await u.stores.transaction((t) => loadPin(t.tx, user));
    if (pin === undefined) throw new UsageError('no signed device list is known for this user');
    return pin;
  }
}
