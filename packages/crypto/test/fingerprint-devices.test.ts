/**
 * Device-set safety numbers (version 1): the same on both sides, independent of device order,
 * different once either user has one more device (a ghost cannot hide behind a compared number),
 * and equal to the construction computed here from node:crypto's SHA-512 alone.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeDeviceSetSafetyNumber,
  type DeviceSetParty,
  generateDeviceIdentity,
  type PublicIdentity,
  toPublicIdentity,
  utf8,
} from '../src/index.js';
import { PROVIDERS } from './providers.js';

function reference(party: DeviceSetParty): Buffer {
  const devices = [...party.devices].sort((a, b) => a.deviceId - b.deviceId);
  const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const d = createHash('sha512')
    .update(
      Buffer.concat([
        Buffer.from('cloister/v2/fingerprint'),
        u16(1),
        u16(devices.length),
        ...devices.flatMap((x) => [
          u32(x.deviceId),
          Buffer.from(x.identity.signingKey),
          Buffer.from(x.identity.dhKey),
        ]),
        u16(party.stableId.length),
        Buffer.from(party.stableId),
      ]),
    )
    .digest();
  let h = d;
  for (let i = 1; i < 5200; i++)
    h = createHash('sha512')
      .update(Buffer.concat([h, d]))
      .digest();
  return h;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'device-set safety numbers under %s',
  (_n, provider) => {
    it('match the reference construction, are symmetric and order-independent, and see every device', async () => {
      const ids: PublicIdentity[] = [];
      for (let i = 0; i < 4; i++) ids.push(toPublicIdentity(await generateDeviceIdentity(provider)));
      const alice: DeviceSetParty = {
        devices: [
          { deviceId: 2, identity: ids[1]! },
          { deviceId: 1, identity: ids[0]! },
        ],
        stableId: utf8('alice'),
      };
      const bob: DeviceSetParty = { devices: [{ deviceId: 1, identity: ids[2]! }], stableId: utf8('bob') };
      const n = await computeDeviceSetSafetyNumber(provider, alice, bob);
      const m = await computeDeviceSetSafetyNumber(provider, bob, {
        ...alice,
        devices: [...alice.devices].reverse(),
      });
      expect(m.digits).toBe(n.digits);
      expect(Buffer.from(m.bytes).equals(Buffer.from(n.bytes))).toBe(true);
      expect(n.bytes[0]).toBe(1);
      const [ra, rb] = [reference(alice), reference(bob)];
      const halves = Buffer.compare(ra, rb) <= 0 ? [ra, rb] : [rb, ra];
      expect(Buffer.from(n.bytes.subarray(1, 33)).equals(halves[0]!.subarray(0, 32))).toBe(true);
      const ghost = await computeDeviceSetSafetyNumber(
        provider,
        { ...alice, devices: [...alice.devices, { deviceId: 7, identity: ids[3]! }] },
        bob,
      );
      expect(ghost.digits).not.toBe(n.digits);
      await expect(
        computeDeviceSetSafetyNumber(provider, { ...alice, devices: [] }, bob),
      ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    });
  },
);
