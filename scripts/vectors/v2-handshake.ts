/**
 * Test vectors for the suite-v2 handshake (`test-vectors/v2-handshake.json`): identities,
 * prekeys, the signed suite list and every signature, every DH output, the ML-KEM-768 ciphertext
 * and secret, the HKDF input, info and output, the first ratchet keys, the first message field
 * by field with the canonical bytes that are authenticated (header, handshake fields), the
 * responder's side, the session records both sides store, and a safety number. Invalid cases
 * describe a one-field change to a valid case and the error code it must produce.
 *
 * Messages are given as their fields (`messageJson`), not as bytes: on the wire they travel as
 * the protobuf of `spec/wire.md`, and crypto authenticates only the canonical layouts listed.
 *
 * All randomness comes from a seeded provider; the bytes each operation draws are recorded so
 * that an implementation can replay them (`initiatorRandom`, `responderRandom`).
 *
 * Imports the crypto package by relative path (not `@cloister/crypto`) so that tests importing
 * these helpers share one module instance, and `instanceof` checks on errors hold.
 *
 * Also exports the helpers `scripts/vectors/v2-ratchet.ts` and the v2 tests share.
 */
import {
  CloisterError,
  type CryptoProvider,
  createNobleProvider,
  fromHex,
  type RandomSource,
  toHex,
  utf8,
} from '../../packages/crypto/src/index.js';
import { INSECURE_seededRandomForTestsOnly } from '../../packages/crypto/src/testing.js';
import { accept, initiate, kemBinding } from '../../packages/crypto/src/v2/_handshake.js';
import type { Trace } from '../../packages/crypto/src/v2/_ratchet.js';
import { encryptWithRecord } from '../../packages/crypto/src/v2/_record.js';
import {
  canonicalSuiteCodes,
  identityDhKeySignedBytes,
  kemPreKeySignedBytes,
  signedPreKeySignedBytes,
  suitesSignedBytes,
} from '../../packages/crypto/src/v2/_signed.js';
import {
  acceptSession,
  type CiphertextMessage,
  canonicalInitialHandshakeBytes,
  canonicalRatchetHeaderBytes,
  computeSafetyNumber,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type InitialMessage,
  InMemoryPreKeyStore,
  type KemPreKey,
  kemPreKeyId,
  type OneTimePreKey,
  oneTimePreKeyId,
  type PreKeyBundle,
  type RatchetMessage,
  registrationId,
  type SessionRecord,
  type SignedPreKey,
  type SuiteName,
  serializeSession,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_LABELS,
  verifyPreKeyBundle,
} from '../../packages/crypto/src/v2/index.js';

/** A random source that records every draw, so vectors can list the bytes each step used. */
export function recordingRandom(inner: RandomSource): { source: RandomSource; take(): Uint8Array[] } {
  const log: Uint8Array[] = [];
  return {
    source: {
      name: inner.name,
      fill(out) {
        inner.fill(out);
        log.push(out.slice());
        return out;
      },
    },
    take: () => log.splice(0),
  };
}

/** A random source that returns exactly `bytes` and then refuses (replays recorded draws). */
export function replayRandom(bytes: Uint8Array): RandomSource {
  let offset = 0;
  return {
    name: 'replay',
    fill(out) {
      if (offset + out.length > bytes.length)
        throw new Error('replayRandom: more randomness drawn than recorded');
      out.set(bytes.subarray(offset, offset + out.length));
      offset += out.length;
      return out;
    },
  };
}

/** A trace that stores every value as hex (numbers as numbers) in `into`. */
export function hexTrace(into: Record<string, string | number>): Trace {
  return (name, value) => {
    into[name] = typeof value === 'number' ? value : toHex(value);
  };
}

/** The fields of a ratchet message, bytes in hex. */
export interface RatchetMessageJson {
  readonly header: {
    readonly ratchetKey: string;
    readonly previousChainLength: number;
    readonly messageNumber: number;
  };
  readonly ciphertext: string;
}

/** The fields of an initial message (without its constant `suite`), bytes in hex. */
export interface InitialMessageJson {
  readonly initiatorIdentity: {
    readonly signingKey: string;
    readonly dhKey: string;
    readonly dhKeySignature: string;
  };
  readonly baseKey: string;
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId?: number;
  readonly kemPreKeyId: number;
  readonly kemCiphertext: string;
  readonly message: RatchetMessageJson;
}

function ratchetJson(m: RatchetMessage): RatchetMessageJson {
  const { ratchetKey, previousChainLength, messageNumber } = m.header;
  return {
    header: { ratchetKey: toHex(ratchetKey), previousChainLength, messageNumber },
    ciphertext: toHex(m.ciphertext),
  };
}

function ratchetFromJson(j: RatchetMessageJson): RatchetMessage {
  const { ratchetKey, previousChainLength, messageNumber } = j.header;
  return {
    header: { ratchetKey: fromHex(ratchetKey, 'ratchetKey'), previousChainLength, messageNumber },
    ciphertext: fromHex(j.ciphertext, 'ciphertext'),
  };
}

/** The fields of an initial message as JSON (the form the vector files use). */
export function initialJson(m: InitialMessage): InitialMessageJson {
  const id = m.initiatorIdentity;
  return {
    initiatorIdentity: {
      signingKey: toHex(id.signingKey),
      dhKey: toHex(id.dhKey),
      dhKeySignature: toHex(id.dhKeySignature),
    },
    baseKey: toHex(m.baseKey),
    signedPreKeyId: m.signedPreKeyId,
    ...(m.oneTimePreKeyId === undefined ? {} : { oneTimePreKeyId: m.oneTimePreKeyId }),
    kemPreKeyId: m.kemPreKeyId,
    kemCiphertext: toHex(m.kemCiphertext),
    message: ratchetJson(m.message),
  };
}

/** The initial message of {@link initialJson} output. */
export function initialFromJson(j: InitialMessageJson): InitialMessage {
  const id = j.initiatorIdentity;
  return {
    suite: 'v2',
    initiatorIdentity: {
      signingKey: fromHex(id.signingKey, 'signingKey'),
      dhKey: fromHex(id.dhKey, 'dhKey'),
      dhKeySignature: fromHex(id.dhKeySignature, 'dhKeySignature'),
    },
    baseKey: fromHex(j.baseKey, 'baseKey'),
    signedPreKeyId: signedPreKeyId(j.signedPreKeyId),
    ...(j.oneTimePreKeyId === undefined ? {} : { oneTimePreKeyId: oneTimePreKeyId(j.oneTimePreKeyId) }),
    kemPreKeyId: kemPreKeyId(j.kemPreKeyId),
    kemCiphertext: fromHex(j.kemCiphertext, 'kemCiphertext'),
    message: ratchetFromJson(j.message),
  };
}

/** A message's fields as JSON: an initial message or a ratchet message. */
export function messageJson(m: CiphertextMessage): InitialMessageJson | RatchetMessageJson {
  return m.type === 'initial' ? initialJson(m.message) : ratchetJson(m.message);
}

/** The message of {@link messageJson} output, given its type. */
export function messageFromJson(
  type: CiphertextMessage['type'],
  j: InitialMessageJson | RatchetMessageJson,
): CiphertextMessage {
  return type === 'initial'
    ? { type, message: initialFromJson(j as InitialMessageJson) }
    : { type, message: ratchetFromJson(j as RatchetMessageJson) };
}

/** The suites the responder signs in every case (the statement lists their codes sorted). */
export const BUNDLE_SUITES: readonly SuiteName[] = ['v2', 'static-v1'];

/** When the responder signed its suite list in every case: 2026-01-01T00:00:00Z, in ms. */
export const SUITES_ISSUED_AT = 1_767_225_600_000;

/** Everything one handshake case needs: both identities and the responder's prekeys. */
export interface Parties {
  readonly alice: DeviceIdentity;
  readonly bob: DeviceIdentity;
  readonly signedPreKey: SignedPreKey;
  readonly oneTimePreKey: OneTimePreKey | undefined;
  readonly kemPreKey: KemPreKey;
  readonly kemSeed: Uint8Array;
  readonly bundle: PreKeyBundle;
}

/** Generates the parties of a case from `p` (whose random source is recorded by `rec`). */
export async function makeParties(
  p: CryptoProvider,
  rec: { take(): Uint8Array[] },
  options: { readonly oneTimePreKey: boolean; readonly lastResort: boolean },
): Promise<Parties> {
  const alice = await generateDeviceIdentity(p);
  const bob = await generateDeviceIdentity(p);
  const signedPreKey = await generateSignedPreKey(p, bob, signedPreKeyId(1));
  const oneTimePreKey = options.oneTimePreKey
    ? (await generateOneTimePreKeys(p, oneTimePreKeyId(100), 1))[0]
    : undefined;
  rec.take();
  const kemPreKey = await generateKemPreKey(p, bob, kemPreKeyId(options.lastResort ? 7 : 8), {
    lastResort: options.lastResort,
  });
  const kemSeed = rec.take()[0]!;
  const bundle: PreKeyBundle = {
    registrationId: registrationId(4242),
    deviceId: deviceId(1),
    identity: toPublicIdentity(bob),
    signedPreKey: toSignedPreKeyPublic(signedPreKey),
    ...(oneTimePreKey === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(oneTimePreKey) }),
    kemPreKey: toKemPreKeyPublic(kemPreKey),
    suites: BUNDLE_SUITES,
    suitesIssuedAt: SUITES_ISSUED_AT,
    suitesSignature: await signSuites(p, bob, BUNDLE_SUITES, {
      signedPreKeyId: signedPreKey.id,
      issuedAt: SUITES_ISSUED_AT,
    }),
  };
  if (rec.take().length !== 0) throw new Error('signing the suites must not draw randomness');
  return { alice, bob, signedPreKey, oneTimePreKey, kemPreKey, kemSeed, bundle };
}

/** A prekey store holding the responder's prekeys of `parties`. */
export async function preKeyStore(parties: Parties): Promise<InMemoryPreKeyStore> {
  const store = new InMemoryPreKeyStore();
  await store.storeSignedPreKey(parties.signedPreKey);
  if (parties.oneTimePreKey !== undefined) await store.storeOneTimePreKeys([parties.oneTimePreKey]);
  await store.storeKemPreKey(parties.kemPreKey);
  return store;
}

function identityJson(id: DeviceIdentity) {
  return {
    signingPrivateKey: toHex(id.signingKeyPair.privateKey),
    signingPublicKey: toHex(id.signingKeyPair.publicKey),
    dhPrivateKey: toHex(id.dhKeyPair.privateKey),
    dhPublicKey: toHex(id.dhKeyPair.publicKey),
    dhKeySignedBytes: toHex(identityDhKeySignedBytes(id.dhKeyPair.publicKey)),
    dhKeySignature: toHex(id.dhKeySignature),
  };
}

/** The result of running one full handshake with traces. */
export interface HandshakeRun {
  readonly json: Record<string, unknown>;
  readonly initial: InitialMessage;
  readonly aliceRecord: SessionRecord;
  readonly bobRecord: SessionRecord;
}

/** Runs the handshake of a case: initiate, first message, accept; records everything. */
export async function runHandshake(
  p: CryptoProvider,
  rec: { take(): Uint8Array[] },
  parties: Parties,
  plaintext: Uint8Array,
): Promise<HandshakeRun> {
  const initiator: Record<string, string | number> = {};
  rec.take();
  const { session } = await initiate(p, parties.alice, parties.bundle, hexTrace(initiator));
  const initiatorRandom = rec.take();
  initiator.kemBinding = toHex(
    await kemBinding(p, parties.bundle.kemPreKey.publicKey, session.pending!.kemCiphertext),
  );
  const first: Record<string, string | number> = {};
  const enc = await encryptWithRecord(
    p,
    session,
    { version: 1, current: session, previous: [] },
    plaintext,
    hexTrace(first),
  );
  if (enc.message.type !== 'initial') throw new Error('first message must be initial');
  const initial = enc.message.message;
  if (rec.take().length !== 0) throw new Error('encrypting must not draw randomness');
  const responder: Record<string, string | number> = {};
  const store = await preKeyStore(parties);
  const accepted = await accept(p, parties.bob, store, initial, hexTrace(responder));
  const responderRandom = rec.take();
  if (toHex(accepted.plaintext) !== toHex(plaintext)) throw new Error('responder plaintext differs');
  const bobRecord: SessionRecord = { version: 1, current: accepted.session, previous: [] };
  const { alice, bob, signedPreKey, oneTimePreKey, kemPreKey, kemSeed, bundle } = parties;
  const json = {
    alice: identityJson(alice),
    bob: {
      ...identityJson(bob),
      registrationId: 4242,
      deviceId: 1,
      signedPreKey: {
        id: signedPreKey.id,
        privateKey: toHex(signedPreKey.keyPair.privateKey),
        publicKey: toHex(signedPreKey.keyPair.publicKey),
        signedBytes: toHex(signedPreKeySignedBytes(signedPreKey.id, signedPreKey.keyPair.publicKey)),
        signature: toHex(signedPreKey.signature),
      },
      ...(oneTimePreKey === undefined
        ? {}
        : {
            oneTimePreKey: {
              id: oneTimePreKey.id,
              privateKey: toHex(oneTimePreKey.keyPair.privateKey),
              publicKey: toHex(oneTimePreKey.keyPair.publicKey),
            },
          }),
      kemPreKey: {
        id: kemPreKey.id,
        lastResort: kemPreKey.lastResort,
        seed: toHex(kemSeed),
        publicKey: toHex(kemPreKey.keyPair.publicKey),
        secretKey: toHex(kemPreKey.keyPair.secretKey),
        signedBytes: toHex(
          kemPreKeySignedBytes(kemPreKey.id, kemPreKey.lastResort, kemPreKey.keyPair.publicKey),
        ),
        signature: toHex(kemPreKey.signature),
      },
      suites: {
        names: bundle.suites,
        signedPreKeyId: bundle.signedPreKey.id,
        issuedAt: bundle.suitesIssuedAt,
        signedBytes: toHex(suitesSignedBytes(bundle.signedPreKey.id, bundle.suitesIssuedAt, bundle.suites)),
        signature: toHex(bundle.suitesSignature),
      },
    },
    initiatorRandom: {
      baseKeyPrivate: toHex(initiatorRandom[0]!),
      kemEncapsulationRandomness: toHex(initiatorRandom[1]!),
      ratchetPrivateKey: toHex(initiatorRandom[2]!),
    },
    initiator,
    firstMessage: {
      plaintext: toHex(plaintext),
      header: toHex(canonicalRatchetHeaderBytes(initial.message.header)),
      ...first,
      ciphertext: toHex(initial.message.ciphertext),
      handshakeBytes: toHex(canonicalInitialHandshakeBytes(initial)),
      initialMessage: initialJson(initial),
    },
    responderRandom: { ratchetPrivateKey: toHex(responderRandom[0]!) },
    responder: { ...responder, plaintext: toHex(accepted.plaintext) },
    records: {
      alice: toHex(serializeSession(enc.record)),
      bob: toHex(serializeSession(bobRecord)),
    },
  };
  return { json, initial, aliceRecord: enc.record, bobRecord };
}

/** The seeded provider of a case; the seed is the UTF-8 of the case name. */
export function seededProvider(seed: string): { p: CryptoProvider; rec: ReturnType<typeof recordingRandom> } {
  const rec = recordingRandom(INSECURE_seededRandomForTestsOnly(utf8(seed)));
  return { p: createNobleProvider().withRandom(rec.source), rec };
}

/** The valid cases: name, options, and the first plaintext. */
export const HANDSHAKE_CASES = [
  {
    name: 'v2-handshake/one-time-prekeys',
    description: 'bundle with a one-time X25519 prekey and a one-time ML-KEM-768 prekey (DH1..DH4 + KEM)',
    options: { oneTimePreKey: true, lastResort: false },
  },
  {
    name: 'v2-handshake/last-resort-kem',
    description: 'bundle without one-time X25519 prekey, last-resort ML-KEM-768 prekey (DH1..DH3 + KEM)',
    options: { oneTimePreKey: false, lastResort: true },
  },
  {
    name: 'v2-handshake/one-time-x25519-last-resort-kem',
    description: 'one-time X25519 prekey with the last-resort ML-KEM-768 prekey',
    options: { oneTimePreKey: true, lastResort: true },
  },
] as const;

/** One-field changes to a valid case and the error code each must produce. */
export const INVALID_CASES = [
  {
    name: 'bad-identity-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.identity.dhKeySignature',
    change: 'xor-first-byte',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'bad-signed-prekey-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.signedPreKey.signature',
    change: 'xor-first-byte',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'bad-kem-prekey-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.kemPreKey.signature',
    change: 'xor-first-byte',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'kem-last-resort-flag-flipped',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.kemPreKey.lastResort',
    change: 'negate',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'signed-prekey-replaced',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.signedPreKey.publicKey',
    change: 'xor-first-byte',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'v2-suite-stripped',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suites',
    change: 'static-v1-only',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'bad-suites-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suitesSignature',
    change: 'xor-first-byte',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'suites-issued-at-changed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suitesIssuedAt',
    change: 'increment',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'suites-old-form-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suitesSignature',
    change: 'old-form-resigned',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'suites-signed-for-another-signed-prekey',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suitesSignature',
    change: 'resigned-for-signed-prekey-id-plus-one',
    step: 'initiate',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'no-v2-suite-signed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'bundle.suites',
    change: 'static-v1-only-resigned',
    step: 'initiate',
    error: 'ERR_UNSUPPORTED',
  },
  {
    name: 'initiator-identity-signature',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.initiatorIdentity.dhKeySignature',
    change: 'xor-first-byte',
    step: 'accept',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'base-key-changed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.baseKey',
    change: 'xor-first-byte',
    step: 'accept',
    error: 'ERR_DECRYPTION_FAILED',
  },
  {
    name: 'kem-ciphertext-changed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.kemCiphertext',
    change: 'xor-first-byte',
    step: 'accept',
    error: 'ERR_DECRYPTION_FAILED',
  },
  {
    name: 'message-ciphertext-changed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.message.ciphertext',
    change: 'xor-first-byte',
    step: 'accept',
    error: 'ERR_DECRYPTION_FAILED',
  },
  {
    name: 'header-changed',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.message.header.previousChainLength',
    change: 'increment',
    step: 'accept',
    error: 'ERR_DECRYPTION_FAILED',
  },
  {
    name: 'unknown-signed-prekey',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.signedPreKeyId',
    change: 'increment',
    step: 'accept',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'unknown-one-time-prekey',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.oneTimePreKeyId',
    change: 'increment',
    step: 'accept',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'one-time-prekey-dropped',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage.oneTimePreKeyId',
    change: 'remove',
    step: 'accept',
    error: 'ERR_DECRYPTION_FAILED',
  },
  {
    name: 'one-time-kem-prekey-reused',
    case: 'v2-handshake/one-time-prekeys',
    target: 'initialMessage',
    change: 'accept-twice',
    step: 'accept',
    error: 'ERR_INVALID_KEY',
  },
  {
    name: 'last-resort-kem-replayed',
    case: 'v2-handshake/last-resort-kem',
    target: 'initialMessage',
    change: 'accept-twice',
    step: 'accept',
    error: 'ERR_REPLAY',
  },
] as const;

type Mutable = Record<string, unknown>;

/**
 * The retired, label-only suite statement `"cloister/v2/suites" | u8(count) | u32(code)*` that
 * versions before the binding signed. No verifier accepts a signature over it any more; the
 * vectors keep it to show that.
 */
export function oldFormSuitesSignedBytes(suites: readonly SuiteName[], unknownCodes: readonly number[] = []) {
  const codes = canonicalSuiteCodes(suites, unknownCodes);
  const label = utf8('cloister/v2/suites');
  const out = new Uint8Array(label.length + 1 + 4 * codes.length);
  out.set(label);
  const view = new DataView(out.buffer);
  view.setUint8(label.length, codes.length);
  codes.forEach((c, i) => {
    view.setUint32(label.length + 1 + 4 * i, c);
  });
  return out;
}

/** Applies an invalid case's change to a deep copy of `root` at `path` (without its first segment). */
export function mutate<T>(root: T, path: readonly string[], change: string): T {
  const copy = structuredClone(root) as Mutable;
  let o = copy;
  for (const key of path.slice(0, -1)) o = o[key] as Mutable;
  const last = path[path.length - 1]!;
  const v = o[last];
  if (change === 'xor-first-byte' && v instanceof Uint8Array) v[0]! ^= 0x01;
  else if (change === 'negate') o[last] = !v;
  else if (change === 'increment') o[last] = (v as number) + 1;
  else if (change === 'remove') delete o[last];
  else if (change === 'static-v1-only') o[last] = ['static-v1'];
  else throw new Error(`unknown change ${change}`);
  return copy as T;
}

/** Runs an invalid case against fresh parties of its valid case; returns the error code. */
export async function runInvalid(
  p: CryptoProvider,
  parties: Parties,
  initial: InitialMessage,
  c: (typeof INVALID_CASES)[number],
): Promise<string> {
  try {
    if (c.step === 'initiate') {
      const b = parties.bundle;
      const key = parties.bob.signingKeyPair.privateKey;
      const binding = { signedPreKeyId: b.signedPreKey.id, issuedAt: b.suitesIssuedAt };
      const bundle =
        c.change === 'static-v1-only-resigned'
          ? {
              ...b,
              suites: ['static-v1' as const],
              suitesSignature: await signSuites(p, parties.bob, ['static-v1'], binding),
            }
          : c.change === 'old-form-resigned'
            ? { ...b, suitesSignature: await p.ed25519.sign(key, oldFormSuitesSignedBytes(b.suites)) }
            : c.change === 'resigned-for-signed-prekey-id-plus-one'
              ? {
                  ...b,
                  suitesSignature: await signSuites(p, parties.bob, b.suites, {
                    ...binding,
                    signedPreKeyId: signedPreKeyId(b.signedPreKey.id + 1),
                  }),
                }
              : mutate(b, c.target.split('.').slice(1), c.change);
      await verifyPreKeyBundle(p, bundle);
      await initiate(p, parties.alice, bundle);
    } else if (c.change === 'accept-twice') {
      const store = await preKeyStore(parties);
      await acceptSession(p, { ourIdentity: parties.bob, preKeys: store, initialMessage: initial });
      await acceptSession(p, { ourIdentity: parties.bob, preKeys: store, initialMessage: initial });
    } else {
      const m = mutate(initial, c.target.split('.').slice(1), c.change);
      await acceptSession(p, {
        ourIdentity: parties.bob,
        preKeys: await preKeyStore(parties),
        initialMessage: m,
      });
    }
  } catch (e) {
    if (e instanceof CloisterError) return e.code;
    throw e;
  }
  return 'no error';
}

export default {
  file: 'v2-handshake.json',
  async generate() {
    const cases: unknown[] = [];
    const runs = new Map<string, { parties: Parties; initial: InitialMessage }>();
    for (const c of HANDSHAKE_CASES) {
      const { p, rec } = seededProvider(`cloister/test-vectors/${c.name}`);
      const parties = await makeParties(p, rec, c.options);
      const run = await runHandshake(p, rec, parties, utf8(`first message of ${c.name}`));
      const safety = await computeSafetyNumber(
        p,
        { identity: toPublicIdentity(parties.alice), stableId: utf8('alice@example.org') },
        { identity: parties.bundle.identity, stableId: utf8('bob@example.org') },
      );
      runs.set(c.name, { parties, initial: run.initial });
      cases.push({
        name: c.name,
        description: c.description,
        seed: `cloister/test-vectors/${c.name}`,
        ...run.json,
        safetyNumber: {
          aliceStableId: toHex(utf8('alice@example.org')),
          bobStableId: toHex(utf8('bob@example.org')),
          digits: safety.digits,
          bytes: toHex(safety.bytes),
        },
      });
    }
    const invalid: unknown[] = [];
    for (const c of INVALID_CASES) {
      const run = runs.get(c.case)!;
      const code = await runInvalid(createNobleProvider(), run.parties, run.initial, c);
      if (code !== c.error) throw new Error(`invalid case ${c.name}: expected ${c.error}, got ${code}`);
      invalid.push({ ...c });
    }
    return {
      description:
        'Suite v2 handshake (X25519 + ML-KEM-768, PQXDH-style) and first ratchet message. Layouts and labels: spec/v2-sessions.md.',
      source:
        'generated by scripts/vectors/v2-handshake.ts with the noble provider and a seeded random source',
      labels: V2_LABELS,
      cases,
      invalid,
    };
  },
};
