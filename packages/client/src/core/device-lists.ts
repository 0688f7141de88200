/**
 * Which devices of a user this client trusts: the user's signed device list as last pinned
 * (`spec/device-lists.md`). A device is admitted only when the pinned list names it with the
 * identity it uses; the server's directory can offer more devices (a ghost enrolled with a minted
 * token) but none is reached and none is believed. A new list is pinned only when it follows the
 * pinned one through signed successors; a new chain (an identity reset) replaces the pin of an
 * unverified user at once (trust on first use again, reported as `identity-changed`) but is held
 * for a verified one until the app accepts it (`identity-held`, sending stops).
 *
 * @module
 */
import {
  type DeviceId,
  equalBytes,
  InvalidKeyError,
  deviceId as toDeviceId,
  UnsupportedError,
} from '@cloister/crypto';
import {
  type DeviceListEntry,
  decodeDeviceList,
  followDeviceLists,
  type OrganisationListVerifier,
  organisationListVerifier,
  type SignedDeviceList,
  tenantId,
  type UserId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, deleteRecord, field, getRecord, isBytes, putRecord } from '../local.js';
import type { ClientEvent, CoreSelf, CoreTx } from './types.js';

const PATH = 'c_device_lists';

/** What this client pinned of one user's devices. */
export interface DeviceListPin {
  /** The newest list that followed the pinned chain. */
  readonly list: SignedDeviceList;
  /** True once the app confirmed the user's safety number over this chain. */
  readonly verified: boolean;
  /** A new chain seen for a verified user, not accepted yet: while set, sending to the user stops. */
  readonly held: SignedDeviceList | undefined;
  /** Own user only: devices the server lists that are not on the list and were reported. */
  readonly reportedPending: readonly number[];
  /**
   * Per device id: the newest signed suite list verified for it (its issue time, and whether it
   * offered `v2`). An older list is refused; `static-v1` from a device that offered `v2` is refused.
   */
  readonly suites: Readonly<Record<string, SuitePin>>;
}

/** The newest signed suite list verified for one device. */
export interface SuitePin {
  readonly issuedAt: number;
  readonly v2: boolean;
}

/** The pin of `user`, or undefined when nothing is pinned yet. */
export async function loadPin(tx: StorageTx, user: UserId): Promise<DeviceListPin | undefined> {
  const d = await getRecord(tx, CLIENT_LOCAL_TABLES.deviceLists, user, PATH);
  if (d === undefined) return undefined;
  const held = d.held;
  const pending = Array.isArray(d.reportedPending) ? d.reportedPending : [];
  const suites: Record<string, SuitePin> = {};
  if (typeof d.suites === 'object' && d.suites !== null && !Array.isArray(d.suites)) {
    for (const [k, v] of Object.entries(d.suites as Record<string, unknown>)) {
      const o = v as { issuedAt?: unknown; v2?: unknown } | null;
      if (typeof o?.issuedAt === 'number' && typeof o.v2 === 'boolean')
        suites[k] = { issuedAt: o.issuedAt, v2: o.v2 };
    }
  }
  return {
    list: decodeDeviceList(field(d, 'list', PATH, isBytes)),
    verified: d.verified === true,
    held: held instanceof Uint8Array ? decodeDeviceList(held) : undefined,
    reportedPending: pending.filter((n): n is number => typeof n === 'number'),
    suites,
  };
}

async function savePin(tx: StorageTx, user: UserId, pin: DeviceListPin): Promise<void> {
  await putRecord(tx, CLIENT_LOCAL_TABLES.deviceLists, user, {
    list: pin.list.bytes,
    verified: pin.verified,
    held: pin.held?.bytes ?? null,
    reportedPending: [...pin.reportedPending],
    suites: Object.fromEntries(Object.entries(pin.suites).map(([k, v]) => [k, { ...v }])),
  });
}

/**
 * Remembers the suite list of `device` when it is newer than the one pinned (the caller verified
 * it against the pinned time first).
 */
export async function noteSuites(t: CoreTx, user: UserId, device: number, suite: SuitePin): Promise<void> {
  const pin = await loadPin(t.tx, user);
  if (pin === undefined) return;
  const known = pin.suites[String(device)];
  if (known !== undefined && known.issuedAt >= suite.issuedAt) return;
  await savePin(t.tx, user, { ...pin, suites: { ...pin.suites, [String(device)]: suite } });
}

/** Forgets what is pinned of `user` (used when this device's own registration is reset). */
export async function deletePin(tx: StorageTx, user: UserId): Promise<void> {
  await deleteRecord(tx, CLIENT_LOCAL_TABLES.deviceLists, user);
}

/** The entry of `device` on the pinned list when it has exactly these identity keys. */
export function admittedEntry(
  pin: DeviceListPin | undefined,
  device: number,
  keys: { readonly signingKey: Uint8Array; readonly dhKey: Uint8Array },
): DeviceListEntry | undefined {
  const entry = pin?.list.devices.find((d) => d.deviceId === device);
  if (entry === undefined) return undefined;
  const s = equalBytes(entry.identity.signingKey, keys.signingKey);
  const h = equalBytes(entry.identity.dhKey, keys.dhKey);
  return s && h ? entry : undefined;
}

/**
 * The check of organisation-signed lists (`spec/device-lists.md` §5): the app's, else one for the
 * organisation root pinned at enrolment, else none (such lists are refused).
 */
function organisationCheck(self: CoreSelf): OrganisationListVerifier | undefined {
  if (self.organisationAdmission !== undefined) return self.organisationAdmission;
  if (self.organisationRoot === undefined) return undefined;
  return organisationListVerifier(self.provider, {
    rootPublicKey: self.organisationRoot,
    tenant: tenantId(self.tenant),
  });
}

/** What {@link acceptDeviceLists} decided. */
export interface AcceptedLists {
  /** The pin after the answer (unchanged when the answer was refused or empty). */
  readonly pin: DeviceListPin | undefined;
  readonly events: ClientEvent[];
}

/**
 * Takes the server's answer for `user`'s device lists (ascending epochs, from the pinned list or
 * from the start of the chain) and updates the pin in the caller's transaction. An answer that
 * does not verify or does not follow the pinned list (a ghost device signing itself on, a
 * rollback, a fork) changes nothing and is reported as `device-list-refused`. Every device added
 * to a pinned list is reported (`device-added`), to peers and to the user's own devices alike.
 */
export async function acceptDeviceLists(
  self: CoreSelf,
  t: CoreTx,
  user: UserId,
  lists: readonly Uint8Array[],
): Promise<AcceptedLists> {
  const pin = await loadPin(t.tx, user);
  const events: ClientEvent[] = [];
  if (lists.length === 0) return { pin, events };
  let update: Awaited<ReturnType<typeof followDeviceLists>>;
  try {
    const organisation = organisationCheck(self);
    update = await followDeviceLists(self.provider, pin?.list, lists, {
      tenant: tenantId(self.tenant),
      user,
      ...(organisation === undefined ? {} : { organisation }),
    });
  } catch (e) {
    if (!(e instanceof InvalidKeyError || e instanceof UnsupportedError)) throw e;
    events.push({ type: 'device-list-refused', userId: user });
    return { pin, events };
  }
  // The pinned list again (the common answer to a look-up): nothing to write.
  if (update.trust === 'chained' && pin !== undefined && equalBytes(update.list.bytes, pin.list.bytes)) {
    return { pin, events };
  }
  const reportedPending = pin?.reportedPending ?? [];
  let next: DeviceListPin;
  if (update.trust === 'first') {
    next = { list: update.list, verified: false, held: undefined, reportedPending, suites: {} };
  } else if (update.trust === 'chained') {
    next = { ...(pin as DeviceListPin), list: update.list };
    for (const d of update.added) events.push({ type: 'device-added', userId: user, deviceId: d.deviceId });
    for (const d of update.removed)
      events.push({ type: 'device-removed', userId: user, deviceId: d.deviceId });
  } else if (pin?.verified === true) {
    // A verified user's identity changed: nothing changes until the app accepts it.
    if (pin.held === undefined || !equalBytes(pin.held.bytes, update.list.bytes)) {
      events.push({ type: 'identity-held', userId: user });
    }
    next = { ...pin, held: update.list };
  } else {
    // An unverified user started a new chain: trust on first use again, reported per device.
    next = { list: update.list, verified: false, held: undefined, reportedPending, suites: {} };
    for (const d of update.list.devices)
      events.push({ type: 'identity-changed', userId: user, deviceId: d.deviceId });
  }
  await savePin(t.tx, user, next);
  await syncIdentities(t, user, next.list, events);
  return { pin: next, events };
}

/**
 * Makes the held chain of a verified user the pinned one (unverified now), as the app decided
 * after the user compared the new safety number or accepted the change. Resolves false when
 * nothing is held.
 */
export async function acceptHeldList(
  t: CoreTx,
  user: UserId,
): Promise<{ accepted: boolean; events: ClientEvent[] }> {
  const pin = await loadPin(t.tx, user);
  const events: ClientEvent[] = [];
  if (pin?.held === undefined) return { accepted: false, events };
  const next: DeviceListPin = {
    list: pin.held,
    verified: false,
    held: undefined,
    reportedPending: pin.reportedPending,
    suites: {},
  };
  await savePin(t.tx, user, next);
  await syncIdentities(t, user, next.list, events);
  return { accepted: true, events };
}

/** Marks the pinned chain of `user` verified (after a matching safety number). */
export async function setPinVerified(t: CoreTx, user: UserId, verified: boolean): Promise<boolean> {
  const pin = await loadPin(t.tx, user);
  if (pin === undefined) return false;
  await savePin(t.tx, user, { ...pin, verified });
  for (const d of pin.list.devices) {
    await t.stores.identities.setVerified({ userId: user, deviceId: d.deviceId }, d.identity, verified);
  }
  return true;
}

/** Own user only: records devices reported as pending, so each is reported once. */
export async function notePendingReported(
  t: CoreTx,
  user: UserId,
  devices: readonly DeviceId[],
): Promise<void> {
  const pin = await loadPin(t.tx, user);
  if (pin === undefined || devices.length === 0) return;
  await savePin(t.tx, user, { ...pin, reportedPending: [...new Set([...pin.reportedPending, ...devices])] });
}

/** Saves every identity of the pinned list, reporting each that replaced another. */
async function syncIdentities(t: CoreTx, user: UserId, list: SignedDeviceList, events: ClientEvent[]) {
  for (const d of list.devices) {
    const address = { userId: user, deviceId: toDeviceId(d.deviceId) };
    const saved = await t.stores.identities.save(address, d.identity);
    const reported = events.some(
      (e) => e.type === 'identity-changed' && e.userId === user && e.deviceId === d.deviceId,
    );
    if (saved.status === 'changed' && !reported) events.push({ type: 'identity-changed', ...address });
  }
}
