/**
 * What the server's device directory means, decided without I/O: a listed device is reachable
 * only with a bundle that decodes, names the listed device and carries a suite list signed by its
 * identity that shares a suite with this device (never a downgrade); this user's own device is
 * left out; each identity is saved, and one that differs from the saved one is reported. A full
 * bundle fetched to start a session must carry the identity the directory listed.
 *
 * @module
 */
import { equalBytes, type PreKeyBundle, deviceId as toDeviceId } from '@cloister/crypto';
import { decodePreKeyBundle, negotiateSuiteForBundle, type Suite, type UserId } from '@cloister/protocol';
import { requireBase64Url } from '../_base64.js';
import type { ClientEvent, CoreSelf, CoreTx, DirectoryDevice } from './types.js';

/** One device as `GET /v1/users/{user}/devices` lists it (bytes in base64url). */
export interface ListedDevice {
  readonly deviceId: number;
  readonly mailbox: string;
  readonly deliveryToken: string;
  readonly bundle: string;
}

/**
 * The reachable devices of `user` from a directory listing, saving each identity in the caller's
 * transaction; `events` gets an `identity-changed` for each identity that differs from the saved
 * one. Devices whose bundle does not verify are left out.
 */
export async function acceptDirectory(
  self: CoreSelf,
  t: CoreTx,
  user: UserId,
  listed: readonly ListedDevice[],
): Promise<{ devices: DirectoryDevice[]; events: ClientEvent[] }> {
  const devices: DirectoryDevice[] = [];
  const events: ClientEvent[] = [];
  for (const d of listed) {
    if (user === self.userId && d.deviceId === self.deviceId) continue;
    let bundle: PreKeyBundle;
    let suite: Suite;
    try {
      bundle = decodePreKeyBundle(requireBase64Url(d.bundle));
      if (bundle.deviceId !== d.deviceId) continue;
      suite = await negotiateSuiteForBundle(self.provider, self.suites, bundle);
    } catch {
      continue; // a bundle that does not verify is left out, never downgraded
    }
    const address = { userId: user, deviceId: toDeviceId(d.deviceId) };
    const saved = await t.stores.identities.save(address, bundle.identity);
    if (saved.status === 'changed') events.push({ type: 'identity-changed', ...address });
    devices.push({
      ...address,
      mailbox: d.mailbox,
      deliveryToken: requireBase64Url(d.deliveryToken),
      bundle,
      suite,
    });
  }
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
