/**
 * Sealed envelopes: one seal and one open of a 100-byte body with a sender certificate, per
 * operation. `cloister-<provider>`: `sealEnvelope` (HPKE to the recipient device, padding,
 * certificate inside) then `openEnvelope` (HPKE open, unpadding, certificate verified against the
 * tenant key). Baseline `libsignal`: `@signalapp/libsignal-client`'s sealed sender at the same
 * layer: an `UnidentifiedSenderMessageContent` around a 100-byte-plaintext session message (made
 * once, untimed) with a sender certificate chained to a trust root, `sealedSenderEncrypt`,
 * `sealedSenderDecryptToUsmc` and the certificate's `validate`. Neither side runs session
 * crypto in the timed part.
 */
import {
  equalBytes,
  issueSenderCertificate,
  openEnvelope,
  type SenderCertificate,
  sealEnvelope,
} from '@cloister/crypto';
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
  ServerCertificate,
  SignalMessage,
  SenderCertificate as SignalSenderCertificate,
  SignedPreKeyRecord,
  sealedSenderDecryptToUsmc,
  sealedSenderEncrypt,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  UnidentifiedSenderMessageContent,
} from '@signalapp/libsignal-client';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { randomInput } from '../inputs.js';
import { memoryStores } from '../libsignal-stores.js';
import { PROVIDERS_WITHOUT_WEBCRYPTO } from '../providers.js';

const AREA = 'envelope';
const OP = 'seal-open';
const BODY_BYTES = 100;
/** Target of the issue: the native provider at least 5 times libsignal's sealed sender. */
const MIN_RATIO = 5;
const DAY_MS = 86_400_000;
const BASELINE = caseName({ area: AREA, op: OP, impl: 'libsignal' });

function cloisterCase(p: (typeof PROVIDERS_WITHOUT_WEBCRYPTO)[number]): BenchCase {
  return defineCase({
    area: AREA,
    op: OP,
    impl: `cloister-${p.id}`,
    bytes: BODY_BYTES,
    baseline: BASELINE,
    ...(p.id === 'node' ? { target: { baseline: BASELINE, minRatio: MIN_RATIO } } : {}),
    async prepare() {
      const provider = await p.load();
      const tenant = await provider.ed25519.generateKeyPair();
      const senderSigning = await provider.ed25519.generateKeyPair();
      const senderDh = await provider.x25519.generateKeyPair();
      const recipient = await provider.x25519.generateKeyPair();
      const certificate: SenderCertificate = await issueSenderCertificate(provider, tenant.privateKey, {
        userId: 'u-sender',
        deviceId: 1,
        identitySigningKey: senderSigning.publicKey,
        identityDhKey: senderDh.publicKey,
        tenantId: 'tenant',
        pools: ['pool'],
        expiresAt: Date.now() + DAY_MS,
      });
      const body = randomInput(BODY_BYTES);
      const mailbox = randomInput(16);
      const deliveryToken = randomInput(32);
      const fn = async () => {
        const bytes = await sealEnvelope(provider, {
          recipientPublicKey: recipient.publicKey,
          mailbox,
          deliveryToken,
          certificate,
          contentType: 1,
          body,
        });
        return openEnvelope(provider, {
          recipientPrivateKey: recipient.privateKey,
          bytes,
          tenantPublicKey: tenant.publicKey,
          now: Date.now(),
        });
      };
      const opened = await fn();
      check(equalBytes(opened.body, body), `cloister-${p.id} body round trip`);
      check(opened.certificate.userId === 'u-sender', `cloister-${p.id} certificate round trip`);
      return { kind: 'async', fn };
    },
  });
}

/**
 * Two libsignal parties with a confirmed session, and a 100-byte-plaintext message from Alice
 * (a Whisper message, no prekey material) to be wrapped in sealed sender.
 */
async function libsignalParties() {
  const device = 1;
  const alice = {
    address: ProtocolAddress.new(Aci.fromUuid('a11ce000-0000-4000-8000-000000000001'), device),
    keys: IdentityKeyPair.generate(),
  };
  const bob = {
    address: ProtocolAddress.new(Aci.fromUuid('b0b00000-0000-4000-8000-000000000002'), device),
    keys: IdentityKeyPair.generate(),
  };
  const aliceStores = memoryStores(alice.keys, 1);
  const bobStores = memoryStores(bob.keys, 2);
  const signed = PrivateKey.generate();
  const kyber = KEMKeyPair.generate();
  const oneTime = PrivateKey.generate();
  const signedSignature = bob.keys.privateKey.sign(signed.getPublicKey().serialize());
  const kyberSignature = bob.keys.privateKey.sign(kyber.getPublicKey().serialize());
  await bobStores.signedPreKeys.saveSignedPreKey(
    1,
    SignedPreKeyRecord.new(1, Date.now(), signed.getPublicKey(), signed, signedSignature),
  );
  await bobStores.kyberPreKeys.saveKyberPreKey(
    1,
    KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSignature),
  );
  await bobStores.preKeys.savePreKey(1, PreKeyRecord.new(1, oneTime.getPublicKey(), oneTime));
  const bundle = PreKeyBundle.new(
    2,
    device,
    1,
    oneTime.getPublicKey(),
    1,
    signed.getPublicKey(),
    signedSignature,
    bob.keys.publicKey,
    1,
    kyber.getPublicKey(),
    kyberSignature,
  );
  await processPreKeyBundle(bundle, bob.address, alice.address, aliceStores.sessions, aliceStores.identity);
  const first = await signalEncrypt(
    new Uint8Array(1),
    bob.address,
    alice.address,
    aliceStores.sessions,
    aliceStores.identity,
  );
  check(first.type() === CiphertextMessageType.PreKey, 'libsignal first message is a prekey message');
  await signalDecryptPreKey(
    PreKeySignalMessage.deserialize(first.serialize()),
    alice.address,
    bob.address,
    bobStores.sessions,
    bobStores.identity,
    bobStores.preKeys,
    bobStores.signedPreKeys,
    bobStores.kyberPreKeys,
  );
  const reply = await signalEncrypt(
    new Uint8Array(1),
    alice.address,
    bob.address,
    bobStores.sessions,
    bobStores.identity,
  );
  await signalDecrypt(
    SignalMessage.deserialize(reply.serialize()),
    bob.address,
    alice.address,
    aliceStores.sessions,
    aliceStores.identity,
  );
  const message = await signalEncrypt(
    randomInput(BODY_BYTES),
    bob.address,
    alice.address,
    aliceStores.sessions,
    aliceStores.identity,
  );
  check(message.type() === CiphertextMessageType.Whisper, 'libsignal message is a whisper message');
  return { alice, bob, aliceStores, bobStores, message };
}

function libsignalCase(): BenchCase {
  return defineCase({
    area: AREA,
    op: OP,
    impl: 'libsignal',
    bytes: BODY_BYTES,
    async prepare() {
      const { alice, bob, aliceStores, bobStores, message } = await libsignalParties();
      const trustRoot = PrivateKey.generate();
      const serverKey = PrivateKey.generate();
      const server = ServerCertificate.new(1, serverKey.getPublicKey(), trustRoot);
      const sender = SignalSenderCertificate.new(
        'a11ce000-0000-4000-8000-000000000001',
        null,
        1,
        alice.keys.publicKey,
        Date.now() + DAY_MS,
        server,
        serverKey,
      );
      const trustRootPublic = trustRoot.getPublicKey();
      const fn = async () => {
        const content = UnidentifiedSenderMessageContent.new(message, sender, 0, null);
        const sealed = await sealedSenderEncrypt(content, bob.address, aliceStores.identity);
        const opened = await sealedSenderDecryptToUsmc(sealed, bobStores.identity);
        if (!opened.senderCertificate().validate(trustRootPublic, Date.now())) {
          throw new Error('libsignal sender certificate rejected');
        }
        return opened;
      };
      const opened = await fn();
      check(equalBytes(opened.contents(), message.serialize()), 'libsignal contents round trip');
      check(opened.senderCertificate().senderUuid() === sender.senderUuid(), 'libsignal certificate');
      return { kind: 'async', fn };
    },
  });
}

/** `envelope/seal-open/libsignal` and `envelope/seal-open/cloister-{node,noble}`. */
export function envelopeCases(): BenchCase[] {
  return [libsignalCase(), ...PROVIDERS_WITHOUT_WEBCRYPTO.map(cloisterCase)];
}
