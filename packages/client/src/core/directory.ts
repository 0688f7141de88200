/**
 * What the server's device directory means, decided without I/O: a listed device is reachable
 * only when the user's pinned signed device list admits it with the identity of its bundle
 * (`device-lists.ts`), and with a bundle that decodes, names the listed device and carries a suite
 * list signed by its identity that shares a suite with this device (never a downgrade); this
 * user's own device is left out. The newest suite list verified for each device is remembered, and
 * an older one is refused (a replayed list that offered only `static-v1`). A device of this device's own user that the server lists but no
 * device linked is reported once (`device-pending`). A full bundle fetched to start a session must
 * carry the identity the directory listed.
 *
 * @module
 */
import { type DeviceId, equalBytes, type PreKeyBundle, deviceId as toDeviceId } from '@cloister/crypto';
import { decodePreKeyBundle, negotiateSuiteForBundle, type Suite, type UserId } from '@cloister/protocol';
import { requireBase64Url } from '../_base64.js';
import { admittedEntry, type DeviceListPin, notePendingReported, noteSuites } from './device-lists.js';
import type { ClientEvent, CoreSelf, CoreTx, DirectoryDevice } from './types.js';

/** One device as `GET /v1/users/{user}/devices` lists it (bytes in base64url). */
export interface ListedDevice {
  readonly deviceId: number;
  readonly mailbox: string;
  readonly deliveryToken: string;
  readonly bundle: string;
}

/**
 * The reachable devices of `user` from a directory listing and the user's pinned list `pin`
 * (after the lists fetched with the listing were accepted). Devices the pin does not admit, and
 * devices whose bundle does not verify, are left out.
 */
export async function acceptDirectory(
  self: CoreSelf,
  t: CoreTx,
  user: UserId,
  listed: readonly ListedDevice[],
  pin: DeviceListPin | undefined,
): Promise<{ devices: DirectoryDevice[]; events: ClientEvent[] }> {
  const devices: DirectoryDevice[] = [];
  const events: ClientEvent[] = [];
  const pending: DeviceId[] = [];
  for (const d of listed) {
    if (user === self.userId && d.deviceId === self.deviceId) continue;
    let bundle: PreKeyBundle;
    let suite: Suite;
    try {
      bundle = decodePreKeyBundle(requireBase64Url(d.bundle));
      if (bundle.deviceId !== d.deviceId) continue;
      // A suite list older than the newest verified for this device is a replay: refused.
      const newest = pin?.suites[String(d.deviceId)]?.issuedAt;
      suite = await negotiateSuiteForBundle(
        self.provider,
        self.suites,
        bundle,
        newest === undefined ? {} : { newestSuitesIssuedAt: newest },
      );
    } catch {
      continue; // a bundle that does not verify is left out, never downgraded
    }
    const address = { userId: user, deviceId: toDeviceId(d.deviceId) };
    if (admittedEntry(pin, d.deviceId, bundle.identity) === undefined) {
      if (user === self.userId && pin !== undefined && !pin.reportedPending.includes(d.deviceId)) {
        pending.push(address.deviceId);
        events.push({ type: 'device-pending', deviceId: address.deviceId });
      }
      continue;
    }
    await noteSuites(t, user, d.deviceId, {
      issuedAt: bundle.suitesIssuedAt,
      v2: bundle.suites.includes('v2'),
    });
    devices.push({
      ...address,
      mailbox: d.mailbox,
      deliveryToken: requireBase64Url(d.deliveryToken),
      bundle,
      suite,
    });
  }
  await notePendingReported(t, user, pending);
  return { devices, events };
}

/** Whether a full bundle is the listed device's, under the identity the directory listed. */
export function sameDevice(device: DirectoryDevice, bundle: PreKeyBundle): boolean {
  return (
    bundle.deviceId === device.deviceId &&
    equalBytes(bundle.identity.signingKey, device.bundle.identity.signingKey) &&
    equalBytes(bundle.identity.dhKey, device.bundle.identity.dhKey)
  );
}
