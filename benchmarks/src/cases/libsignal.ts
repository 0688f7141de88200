/**
 * The libsignal reference: Signal's own protocol library (`@signalapp/libsignal-client`, Rust
 * through a native Node addon) running the session cases of `../session.ts` with in-memory
 * stores. Its handshake is PQXDH with an X25519 one-time prekey, a signed prekey and a Kyber
 * (ML-KEM-1024) last-resort prekey; its messages use the Double Ratchet plus Signal's
 * post-quantum ratchet. These cases are the baselines of Cloister's v2 session cases.
 */
import {
  Aci,
  CiphertextMessageType,
  IdentityKeyPair,
  KEMKeyPair,
  KyberPreKeyRecord,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PrivateKey,
  ProtocolAddress,
  processPreKeyBundle,
  SignalMessage,
  SignedPreKeyRecord,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import type { BenchCase } from '../harness.js';
import { memoryStores, type SignalStores } from '../libsignal-stores.js';
import {
  type EstablishedSession,
  LIBSIGNAL_SESSION_ID,
  type Party,
  type PreparedHandshake,
  type SessionImplementation,
  sessionCases,
} from '../session.js';

const DEVICE_ID = 1;
const SIGNED_PREKEY_ID = 1;
const KYBER_PREKEY_ID = 1;

/** A party's long-term material: address, identity and registration id. */
interface Identity {
  readonly address: ProtocolAddress;
  readonly keys: IdentityKeyPair;
  readonly registrationId: number;
}

function identity(uuid: string, registrationId: number): Identity {
  return {
    address: ProtocolAddress.new(Aci.fromUuid(uuid), DEVICE_ID),
    keys: IdentityKeyPair.generate(),
    registrationId,
  };
}

/** Bob's published keys that outlive one handshake: the signed and the Kyber prekey. */
interface LongTermPreKeys {
  readonly signed: SignedPreKeyRecord;
  readonly kyber: KyberPreKeyRecord;
}

function longTermPreKeys(owner: Identity): LongTermPreKeys {
  const signedKey = PrivateKey.generate();
  const signedSignature = owner.keys.privateKey.sign(signedKey.getPublicKey().serialize());
  const kyberKeys = KEMKeyPair.generate();
  const kyberSignature = owner.keys.privateKey.sign(kyberKeys.getPublicKey().serialize());
  return {
    signed: SignedPreKeyRecord.new(
      SIGNED_PREKEY_ID,
      Date.now(),
      signedKey.getPublicKey(),
      signedKey,
      signedSignature,
    ),
    kyber: KyberPreKeyRecord.new(KYBER_PREKEY_ID, Date.now(), kyberKeys, kyberSignature),
  };
}

/**
 * Fresh stores for Bob holding his long-term prekeys and a new one-time prekey, and the bundle
 * a server would hand Alice for him.
 */
async function publishBundle(bob: Identity, preKeys: LongTermPreKeys, oneTimeId: number) {
  const stores = memoryStores(bob.keys, bob.registrationId);
  const oneTime = PrivateKey.generate();
  const oneTimeRecord = PreKeyRecord.new(oneTimeId, oneTime.getPublicKey(), oneTime);
  await stores.preKeys.savePreKey(oneTimeId, oneTimeRecord);
  await stores.signedPreKeys.saveSignedPreKey(SIGNED_PREKEY_ID, preKeys.signed);
  await stores.kyberPreKeys.saveKyberPreKey(KYBER_PREKEY_ID, preKeys.kyber);
  const bundle = PreKeyBundle.new(
    bob.registrationId,
    DEVICE_ID,
    oneTimeId,
    oneTime.getPublicKey(),
    SIGNED_PREKEY_ID,
    preKeys.signed.publicKey(),
    preKeys.signed.signature(),
    bob.keys.publicKey,
    KYBER_PREKEY_ID,
    preKeys.kyber.publicKey(),
    preKeys.kyber.signature(),
  );
  return { stores, bundle };
}

interface Side {
  readonly id: Identity;
  readonly stores: SignalStores;
}

/** Encrypts at `from`, serializes, parses and decrypts at `to`. */
async function deliver(from: Side, to: Side, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const sealed = await signalEncrypt(
    plaintext,
    to.id.address,
    from.id.address,
    from.stores.sessions,
    from.stores.identity,
  );
  const wire = sealed.serialize();
  switch (sealed.type()) {
    case CiphertextMessageType.Whisper:
      return signalDecrypt(
        SignalMessage.deserialize(wire),
        from.id.address,
        to.id.address,
        to.stores.sessions,
        to.stores.identity,
      );
    case CiphertextMessageType.PreKey:
      return signalDecryptPreKey(
        PreKeySignalMessage.deserialize(wire),
        from.id.address,
        to.id.address,
        to.stores.sessions,
        to.stores.identity,
        to.stores.preKeys,
        to.stores.signedPreKeys,
        to.stores.kyberPreKeys,
      );
    default:
      throw new Error(`unexpected libsignal message type ${sealed.type()}`);
  }
}

/** libsignal as a {@link SessionImplementation}. */
export function libsignalSessions(): SessionImplementation {
  let made: { alice: Identity; bob: Identity; preKeys: LongTermPreKeys } | undefined;
  const parties = () => {
    if (made === undefined) {
      const bob = identity('b0b00000-0000-4000-8000-000000000002', 2);
      made = {
        alice: identity('a11ce000-0000-4000-8000-000000000001', 1),
        bob,
        preKeys: longTermPreKeys(bob),
      };
    }
    return made;
  };
  let nextPreKeyId = 1;

  const handshake = async (): Promise<{ alice: Side; bob: Side; run: PreparedHandshake['run'] }> => {
    const { alice, bob, preKeys } = parties();
    const published = await publishBundle(bob, preKeys, nextPreKeyId++);
    const aliceSide: Side = { id: alice, stores: memoryStores(alice.keys, alice.registrationId) };
    const bobSide: Side = { id: bob, stores: published.stores };
    return {
      alice: aliceSide,
      bob: bobSide,
      async run(plaintext) {
        await processPreKeyBundle(
          published.bundle,
          bob.address,
          alice.address,
          aliceSide.stores.sessions,
          aliceSide.stores.identity,
        );
        return deliver(aliceSide, bobSide, plaintext);
      },
    };
  };

  return {
    id: LIBSIGNAL_SESSION_ID,
    prepareHandshake: handshake,
    async establish(): Promise<EstablishedSession> {
      const { alice, bob, run } = await handshake();
      await run(new Uint8Array(1));
      await deliver(bob, alice, new Uint8Array(1));
      const sides: Record<Party, Side> = { alice, bob };
      return {
        send: (from, plaintext) => deliver(sides[from], sides[from === 'alice' ? 'bob' : 'alice'], plaintext),
      };
    },
  };
}

/** The libsignal session cases: `session/{one-way,alternating}/100B/libsignal`, `session/handshake/libsignal`. */
export function libsignalCases(): BenchCase[] {
  return sessionCases(libsignalSessions());
}
