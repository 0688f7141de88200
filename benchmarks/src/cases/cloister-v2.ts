/**
 * Cloister suite v2 running the session cases of `../session.ts`, as siblings of the libsignal
 * cases (their baselines): `SessionCipher` with in-memory stores, every message serialised to
 * the protobuf wire format of `@cloister/protocol` and parsed back, and Bob's bundle fetched as
 * wire bytes in the handshake case. The handshake is X25519 (3 or 4 DH) plus ML-KEM-768, with an
 * X25519 one-time prekey and a last-resort ML-KEM prekey, like libsignal's PQXDH case.
 */
import {
  type CiphertextMessage,
  type CryptoProvider,
  type DeviceAddress,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  type KemPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  SessionCipher,
  type SignedPreKey,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import {
  decodeDeviceMessage,
  decodePreKeyBundle,
  encodeDeviceMessage,
  encodePreKeyBundle,
} from '@cloister/protocol';
import type { BenchCase } from '../harness.js';
import { PROVIDERS } from '../providers.js';
import {
  type EstablishedSession,
  LIBSIGNAL_SESSION_ID,
  type Party,
  type PreparedHandshake,
  type SessionImplementation,
  sessionCases,
} from '../session.js';

const ALICE: DeviceAddress = { userId: 'alice', deviceId: deviceId(1) };
const BOB: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };

/** Bob's long-term material: identity, signed prekey and last-resort KEM prekey. */
interface LongTerm {
  readonly alice: DeviceIdentity;
  readonly bob: DeviceIdentity;
  readonly signed: SignedPreKey;
  readonly kem: KemPreKey;
}

async function longTerm(p: CryptoProvider): Promise<LongTerm> {
  const alice = await generateDeviceIdentity(p);
  const bob = await generateDeviceIdentity(p);
  return {
    alice,
    bob,
    signed: await generateSignedPreKey(p, bob, signedPreKeyId(1)),
    kem: await generateKemPreKey(p, bob, kemPreKeyId(1), { lastResort: true }),
  };
}

/** Encrypts at one cipher, goes through the wire format, decrypts at the other. */
async function deliver(from: SessionCipher, to: SessionCipher, plaintext: Uint8Array): Promise<Uint8Array> {
  const sealed: CiphertextMessage = await from.encrypt(plaintext);
  const wire = encodeDeviceMessage({ suite: 'v2', ...sealed });
  const parsed = decodeDeviceMessage(wire);
  if (parsed.suite !== 'v2') throw new Error('unexpected suite');
  return to.decrypt(parsed);
}

function cloisterSessions(id: string, load: () => Promise<CryptoProvider>): SessionImplementation {
  let made: Promise<LongTerm> | undefined;
  let nextOneTime = 1;

  const handshake = async () => {
    const p = await load();
    made ??= longTerm(p);
    const keys = await made;
    const [oneTime] = await generateOneTimePreKeys(p, oneTimePreKeyId(nextOneTime++), 1);
    const bobPreKeys = new InMemoryPreKeyStore();
    await bobPreKeys.storeSignedPreKey(keys.signed);
    await bobPreKeys.storeKemPreKey(keys.kem);
    await bobPreKeys.storeOneTimePreKeys([oneTime!]);
    const bundle: PreKeyBundle = {
      registrationId: registrationId(2),
      deviceId: BOB.deviceId,
      identity: toPublicIdentity(keys.bob),
      signedPreKey: toSignedPreKeyPublic(keys.signed),
      oneTimePreKey: toOneTimePreKeyPublic(oneTime!),
      kemPreKey: toKemPreKeyPublic(keys.kem),
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: await signSuites(p, keys.bob, ['v2'], {
        signedPreKeyId: keys.signed.id,
        issuedAt: 1_700_000_000_000,
      }),
    };
    const bundleBytes = encodePreKeyBundle(bundle);
    const alice = new SessionCipher(p, {
      ourIdentity: keys.alice,
      remoteAddress: BOB,
      sessions: new InMemorySessionStore(),
    });
    const bob = new SessionCipher(p, {
      ourIdentity: keys.bob,
      remoteAddress: ALICE,
      sessions: new InMemorySessionStore(),
      preKeys: bobPreKeys,
    });
    return {
      alice,
      bob,
      async run(plaintext: Uint8Array) {
        await alice.startSession(decodePreKeyBundle(bundleBytes));
        return deliver(alice, bob, plaintext);
      },
    };
  };

  return {
    id,
    prepareHandshake: async (): Promise<PreparedHandshake> => handshake(),
    async establish(): Promise<EstablishedSession> {
      const { alice, bob, run } = await handshake();
      await run(new Uint8Array(1));
      await deliver(bob, alice, new Uint8Array(1));
      const ciphers: Record<Party, SessionCipher> = { alice, bob };
      return {
        send: (from, plaintext) =>
          deliver(ciphers[from], ciphers[from === 'alice' ? 'bob' : 'alice'], plaintext),
      };
    },
  };
}

/** Targets of the issue, for the native provider: 5x, 2x and 1x libsignal. */
const MIN_RATIO = { 'one-way': 5, alternating: 2, handshake: 1 } as const;

/** `session/{one-way,alternating}/100B/cloister-<provider>` and `session/handshake/cloister-<provider>`. */
export function cloisterV2Cases(): BenchCase[] {
  return PROVIDERS.filter((p) => p.id !== 'webcrypto').flatMap((p) =>
    sessionCases(cloisterSessions(`cloister-${p.id}`, p.load), {
      baseline: LIBSIGNAL_SESSION_ID,
      ...(p.id === 'node' ? { minRatio: MIN_RATIO } : {}),
    }),
  );
}
