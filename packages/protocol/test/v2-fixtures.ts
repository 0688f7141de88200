/**
 * Real suite-v2 devices for the protocol tests: an identity, its prekeys in an in-memory store,
 * and a bundle whose every signature (suite list included) verifies.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  type SuiteName,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';

/** One device: its identity, its prekey store and the bundle a server would hand out for it. */
export interface Device {
  readonly identity: DeviceIdentity;
  readonly preKeys: InMemoryPreKeyStore;
  readonly bundle: PreKeyBundle;
}

/** A device that signs `suites`; its bundle has a one-time prekey unless `oneTime` is false. */
export async function makeDevice(
  p: CryptoProvider,
  suites: readonly SuiteName[] = ['v2', 'static-v1'],
  options: { readonly oneTime?: boolean; readonly identity?: DeviceIdentity } = {},
): Promise<Device> {
  const identity = options.identity ?? (await generateDeviceIdentity(p));
  const preKeys = new InMemoryPreKeyStore();
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(1));
  const kem = await generateKemPreKey(p, identity, kemPreKeyId(1), { lastResort: true });
  const [opk] = options.oneTime === false ? [] : await generateOneTimePreKeys(p, oneTimePreKeyId(1), 1);
  await preKeys.storeSignedPreKey(spk);
  await preKeys.storeKemPreKey(kem);
  if (opk !== undefined) await preKeys.storeOneTimePreKeys([opk]);
  const bundle: PreKeyBundle = {
    registrationId: registrationId(4242),
    deviceId: deviceId(1),
    identity: toPublicIdentity(identity),
    signedPreKey: toSignedPreKeyPublic(spk),
    ...(opk === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(opk) }),
    kemPreKey: toKemPreKeyPublic(kem),
    suites,
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(p, identity, suites, {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
  return { identity, preKeys, bundle };
}
