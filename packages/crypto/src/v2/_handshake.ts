/**
 * The hybrid handshake core of suite `v2` (PQXDH-style: X25519 + ML-KEM-768). Inputs are
 * trusted (checked by the public wrappers in `handshake.ts`).
 *
 * ```
 * DH1 = X25519(IK_A, SPK_B)   DH2 = X25519(EK_A, IK_B)   DH3 = X25519(EK_A, SPK_B)
 * DH4 = X25519(EK_A, OPK_B)   (only with a one-time prekey)
 * (CT, SS) = ML-KEM-768.Encaps(PQPK_B)
 * SK  = HKDF-SHA256(salt = "", ikm = 0xFF * 32 | DH1 | DH2 | DH3 [| DH4] | SS, info, 32)
 * info = "cloister/v2/handshake" | u8 2 | "v2"
 *      | IK_A.signingKey | IK_A.dhKey | IK_B.signingKey | IK_B.dhKey | EK_A
 *      | u32 spkId | SPK_B | u8 hasOpk [| u32 opkId | OPK_B] | u32 kemId | KB
 * KB   = SHA-256("cloister/v2/handshake/kem-binding" | PQPK_B | CT)
 * ```
 *
 * The KEM encapsulation key and ciphertext (2272 bytes) enter the info through the digest KB so
 * that the info stays short (native HKDF implementations limit it to 1024 bytes).
 *
 * The initiator then starts its first sending chain with `KDF_RK(SK, X25519(RK_A, SPK_B))`
 * under a fresh ratchet key RK_A; the responder uses SPK_B as its first ratchet key.
 */
import { equalBytes, utf8, wipe } from '../bytes.js';
import { InvalidKeyError, ReplayError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { Writer } from './_codec.js';
import { writeInitialHandshake } from './_layout.js';
import { decryptState, kdfRk, messageDigest, type Trace } from './_ratchet.js';
import { V2_LABELS, V2_SUITE } from './constants.js';
import { verifyPublicIdentity } from './identity.js';
import type { PreKeyStore } from './stores.js';
import type {
  DeviceIdentity,
  InitialMessage,
  KemPreKeyId,
  OneTimePreKeyId,
  PendingInitial,
  PreKeyBundle,
  PublicIdentity,
  SessionState,
  SignedPreKeyId,
} from './types.js';

const HANDSHAKE_LABEL = utf8(V2_LABELS.handshake);
const KEM_BINDING_LABEL = utf8(V2_LABELS.kemBinding);
const INITIAL_DIGEST_LABEL = utf8(V2_LABELS.initialDigest);
const SUITE_BYTES = utf8(V2_SUITE);
const EMPTY = new Uint8Array(0);

/** The public values the handshake info binds. */
export interface HandshakeTranscript {
  readonly initiator: PublicIdentity;
  readonly responder: PublicIdentity;
  readonly baseKey: Uint8Array;
  readonly signedPreKeyId: SignedPreKeyId;
  readonly signedPreKey: Uint8Array;
  readonly oneTimePreKey?: { readonly id: OneTimePreKeyId; readonly publicKey: Uint8Array };
  readonly kemPreKeyId: KemPreKeyId;
  readonly kemPreKey: Uint8Array;
  readonly kemCiphertext: Uint8Array;
}

/** KB: the digest that binds the KEM encapsulation key and ciphertext into the info. */
export async function kemBinding(p: CryptoProvider, kemPreKey: Uint8Array, kemCiphertext: Uint8Array) {
  const input = new Uint8Array(KEM_BINDING_LABEL.length + kemPreKey.length + kemCiphertext.length);
  input.set(KEM_BINDING_LABEL, 0);
  input.set(kemPreKey, KEM_BINDING_LABEL.length);
  input.set(kemCiphertext, KEM_BINDING_LABEL.length + kemPreKey.length);
  return p.sha256(input);
}

/** The HKDF info of the handshake. */
export async function handshakeInfo(p: CryptoProvider, t: HandshakeTranscript): Promise<Uint8Array> {
  const binding = await kemBinding(p, t.kemPreKey, t.kemCiphertext);
  const w = new Writer(320);
  w.bytes(HANDSHAKE_LABEL)
    .u8(SUITE_BYTES.length)
    .bytes(SUITE_BYTES)
    .bytes(t.initiator.signingKey)
    .bytes(t.initiator.dhKey)
    .bytes(t.responder.signingKey)
    .bytes(t.responder.dhKey)
    .bytes(t.baseKey)
    .u32(t.signedPreKeyId)
    .bytes(t.signedPreKey);
  if (t.oneTimePreKey === undefined) {
    w.u8(0);
  } else {
    w.u8(1).u32(t.oneTimePreKey.id).bytes(t.oneTimePreKey.publicKey);
  }
  w.u32(t.kemPreKeyId).bytes(binding);
  return w.finish().slice();
}

/** SK from the DH outputs and the KEM secret; wipes the IKM it builds. */
export async function handshakeSecret(
  p: CryptoProvider,
  dhs: readonly Uint8Array[],
  kemSecret: Uint8Array,
  info: Uint8Array,
  trace?: Trace,
): Promise<Uint8Array> {
  const ikm = new Uint8Array(32 + 32 * dhs.length + kemSecret.length);
  ikm.fill(0xff, 0, 32);
  for (const [i, dh] of dhs.entries()) ikm.set(dh, 32 + 32 * i);
  ikm.set(kemSecret, 32 + 32 * dhs.length);
  try {
    const sk = await p.hkdfSha256(ikm, EMPTY, info, 32);
    if (trace) {
      trace('hkdfIkm', ikm);
      trace('hkdfInfo', info);
      trace('sharedSecret', sk);
    }
    return sk;
  } finally {
    wipe(ikm);
  }
}

/** SHA-256 over the labelled handshake part of an initial message. */
export async function initialDigest(p: CryptoProvider, m: InitialMessage): Promise<Uint8Array> {
  const w = new Writer(1400);
  w.bytes(INITIAL_DIGEST_LABEL);
  writeInitialHandshake(w, m);
  return p.sha256(w.finish());
}

async function dh(p: CryptoProvider, privateKey: Uint8Array, publicKey: Uint8Array, field: string) {
  try {
    return await p.x25519.sharedSecret(privateKey, publicKey);
  } catch (e) {
    if (e instanceof InvalidKeyError)
      throw new InvalidKeyError(field, 'low-order point (all-zero shared secret)');
    throw e;
  }
}

function publicOf(identity: DeviceIdentity): PublicIdentity {
  return {
    signingKey: identity.signingKeyPair.publicKey,
    dhKey: identity.dhKeyPair.publicKey,
    dhKeySignature: identity.dhKeySignature,
  };
}

/** Runs the initiator side against a verified bundle. */
export async function initiate(
  p: CryptoProvider,
  ours: DeviceIdentity,
  bundle: PreKeyBundle,
  trace?: Trace,
): Promise<{ session: SessionState; pending: PendingInitial }> {
  // Randomness is drawn in this order: EK_A (32), ML-KEM encapsulation (32), RK_A (32). Each
  // call draws synchronously when it starts, so starting them together keeps the order.
  const [baseKeyPair, encapsulation, ratchetKeyPair] = await Promise.all([
    p.x25519.generateKeyPair(),
    p.mlkem768.encapsulate(bundle.kemPreKey.publicKey).catch((e: unknown) => {
      if (e instanceof InvalidKeyError) {
        throw new InvalidKeyError('bundle.kemPreKey.publicKey', 'not a valid ML-KEM-768 encapsulation key');
      }
      throw e;
    }),
    p.x25519.generateKeyPair(),
  ]);
  const opk = bundle.oneTimePreKey;
  const secrets: Uint8Array[] = [baseKeyPair.privateKey, encapsulation.sharedSecret];
  try {
    const dhs = await Promise.all([
      dh(p, ours.dhKeyPair.privateKey, bundle.signedPreKey.publicKey, 'bundle.signedPreKey.publicKey'),
      dh(p, baseKeyPair.privateKey, bundle.identity.dhKey, 'bundle.identity.dhKey'),
      dh(p, baseKeyPair.privateKey, bundle.signedPreKey.publicKey, 'bundle.signedPreKey.publicKey'),
      ...(opk === undefined
        ? []
        : [dh(p, baseKeyPair.privateKey, opk.publicKey, 'bundle.oneTimePreKey.publicKey')]),
    ]);
    secrets.push(...dhs);
    const localIdentity = publicOf(ours);
    const info = await handshakeInfo(p, {
      initiator: localIdentity,
      responder: bundle.identity,
      baseKey: baseKeyPair.publicKey,
      signedPreKeyId: bundle.signedPreKey.id,
      signedPreKey: bundle.signedPreKey.publicKey,
      ...(opk === undefined ? {} : { oneTimePreKey: opk }),
      kemPreKeyId: bundle.kemPreKey.id,
      kemPreKey: bundle.kemPreKey.publicKey,
      kemCiphertext: encapsulation.ciphertext,
    });
    if (trace) {
      trace('baseKeyPrivate', baseKeyPair.privateKey);
      trace('baseKeyPublic', baseKeyPair.publicKey);
      for (const [i, d] of dhs.entries()) trace(`dh${i + 1}`, d);
      trace('kemCiphertext', encapsulation.ciphertext);
      trace('kemSharedSecret', encapsulation.sharedSecret);
    }
    const sk = await handshakeSecret(p, dhs, encapsulation.sharedSecret, info, trace);
    secrets.push(sk);
    const dhRatchet = await dh(
      p,
      ratchetKeyPair.privateKey,
      bundle.signedPreKey.publicKey,
      'bundle.signedPreKey.publicKey',
    );
    secrets.push(dhRatchet);
    const first = await kdfRk(p, sk, dhRatchet);
    if (trace) {
      trace('ratchetPrivateKey', ratchetKeyPair.privateKey);
      trace('ratchetPublicKey', ratchetKeyPair.publicKey);
      trace('dhRatchet', dhRatchet);
      trace('rootKey', first.rootKey);
      trace('sendingChainKey', first.chainKey);
    }
    const pending: PendingInitial = {
      signedPreKeyId: bundle.signedPreKey.id,
      ...(opk === undefined ? {} : { oneTimePreKeyId: opk.id }),
      kemPreKeyId: bundle.kemPreKey.id,
      kemCiphertext: encapsulation.ciphertext,
    };
    const session: SessionState = {
      version: 1,
      suite: 'v2',
      role: 'initiator',
      localIdentity,
      remoteIdentity: bundle.identity,
      baseKey: baseKeyPair.publicKey,
      rootKey: first.rootKey,
      sending: { ratchetKeyPair, chainKey: first.chainKey, index: 0 },
      previousSendingLength: 0,
      receiving: [],
      skipped: [],
      recentDigests: [],
      pending,
    };
    return { session, pending };
  } catch (e) {
    wipe(ratchetKeyPair.privateKey);
    throw e;
  } finally {
    wipe(...secrets);
  }
}

/** Wipes the secrets of a state that is being discarded. */
function wipeState(s: SessionState): void {
  wipe(s.rootKey, s.sending.chainKey, s.sending.ratchetKeyPair.privateKey);
  for (const c of s.receiving) wipe(c.chainKey);
  for (const k of s.skipped) wipe(k.messageKey);
}

/** Runs the responder side; consumes prekeys only after the first message decrypted. */
export async function accept(
  p: CryptoProvider,
  ours: DeviceIdentity,
  preKeys: PreKeyStore,
  m: InitialMessage,
  trace?: Trace,
): Promise<{ session: SessionState; plaintext: Uint8Array }> {
  if (
    equalBytes(m.initiatorIdentity.signingKey, ours.signingKeyPair.publicKey) ||
    equalBytes(m.initiatorIdentity.dhKey, ours.dhKeyPair.publicKey)
  ) {
    throw new InvalidKeyError('initialMessage.initiatorIdentity', 'is our own identity');
  }
  await verifyPublicIdentity(p, m.initiatorIdentity, 'initialMessage.initiatorIdentity');
  const [spk, opk, kem] = await Promise.all([
    preKeys.getSignedPreKey(m.signedPreKeyId),
    m.oneTimePreKeyId === undefined ? undefined : preKeys.getOneTimePreKey(m.oneTimePreKeyId),
    preKeys.getKemPreKey(m.kemPreKeyId),
  ]);
  if (spk === undefined) throw new InvalidKeyError('initialMessage.signedPreKeyId', 'unknown prekey');
  if (m.oneTimePreKeyId !== undefined && opk === undefined) {
    throw new InvalidKeyError('initialMessage.oneTimePreKeyId', 'unknown or already used prekey');
  }
  if (kem === undefined)
    throw new InvalidKeyError('initialMessage.kemPreKeyId', 'unknown or already used prekey');

  const secrets: Uint8Array[] = [];
  const placeholderChainKey = new Uint8Array(32);
  try {
    const [dhs, kemSecret] = await Promise.all([
      Promise.all([
        dh(p, spk.keyPair.privateKey, m.initiatorIdentity.dhKey, 'initialMessage.initiatorIdentity.dhKey'),
        dh(p, ours.dhKeyPair.privateKey, m.baseKey, 'initialMessage.baseKey'),
        dh(p, spk.keyPair.privateKey, m.baseKey, 'initialMessage.baseKey'),
        ...(opk === undefined ? [] : [dh(p, opk.keyPair.privateKey, m.baseKey, 'initialMessage.baseKey')]),
      ]),
      p.mlkem768.decapsulate(m.kemCiphertext, kem.keyPair.secretKey),
    ]);
    secrets.push(...dhs, kemSecret);
    const localIdentity = publicOf(ours);
    const info = await handshakeInfo(p, {
      initiator: m.initiatorIdentity,
      responder: localIdentity,
      baseKey: m.baseKey,
      signedPreKeyId: m.signedPreKeyId,
      signedPreKey: spk.keyPair.publicKey,
      ...(opk === undefined ? {} : { oneTimePreKey: { id: opk.id, publicKey: opk.keyPair.publicKey } }),
      kemPreKeyId: m.kemPreKeyId,
      kemPreKey: kem.keyPair.publicKey,
      kemCiphertext: m.kemCiphertext,
    });
    if (trace) {
      for (const [i, d] of dhs.entries()) trace(`dh${i + 1}`, d);
      trace('kemSharedSecret', kemSecret);
    }
    const sk = await handshakeSecret(p, dhs, kemSecret, info, trace);
    secrets.push(sk);
    const [digest, msgDigest] = await Promise.all([initialDigest(p, m), messageDigest(p, m.message)]);
    trace?.('initialDigest', digest);
    // Before its first message the responder's ratchet key is SPK_B and it has no sending
    // chain; decryptState's ratchet step replaces both (the placeholder is never used).
    const provisional: SessionState = {
      version: 1,
      suite: 'v2',
      role: 'responder',
      localIdentity,
      remoteIdentity: m.initiatorIdentity,
      baseKey: m.baseKey,
      rootKey: sk,
      sending: { ratchetKeyPair: spk.keyPair, chainKey: placeholderChainKey, index: 0 },
      previousSendingLength: 0,
      receiving: [],
      skipped: [],
      recentDigests: [],
      initialDigest: digest,
    };
    const { state, plaintext } = await decryptState(p, provisional, m.message, msgDigest, trace);
    try {
      if (kem.lastResort) {
        await preKeys.markKemPreKeyUsed(kem.id, spk.id, m.baseKey);
      } else if (!(await preKeys.removeKemPreKey(kem.id))) {
        throw new ReplayError('one-time KEM prekey already used');
      }
      if (opk !== undefined && !(await preKeys.removeOneTimePreKey(opk.id))) {
        throw new ReplayError('one-time prekey already used');
      }
    } catch (e) {
      wipeState(state);
      wipe(plaintext);
      throw e;
    }
    return { session: state, plaintext };
  } finally {
    wipe(...secrets);
  }
}
