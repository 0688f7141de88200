/**
 * Reproduces `test-vectors/v2-handshake.json` and `test-vectors/v2-ratchet.json` under every
 * provider, value by value, naming the case and the field of every assertion. Randomness is
 * replayed from the bytes each vector says an operation draws.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  hexTrace,
  type INVALID_CASES,
  type InitialMessageJson,
  initialFromJson,
  initialJson,
  messageFromJson,
  messageJson,
  type Parties,
  preKeyStore,
  type RatchetMessageJson,
  replayRandom,
  runInvalid,
} from '../../../scripts/vectors/v2-handshake.js';
import { decryptTraced, type Step } from '../../../scripts/vectors/v2-ratchet.js';
import { CloisterError, type CryptoProvider, concatBytes, fromHex, toHex, utf8 } from '../src/index.js';
import { accept, initiate, kemBinding } from '../src/v2/_handshake.js';
import { encryptWithRecord } from '../src/v2/_record.js';
import {
  identityDhKeySignedBytes,
  kemPreKeySignedBytes,
  signedPreKeySignedBytes,
  suitesSignedBytes,
} from '../src/v2/_signed.js';
import {
  canonicalInitialHandshakeBytes,
  canonicalRatchetHeaderBytes,
  computeSafetyNumber,
  type DeviceIdentity,
  deserializeSession,
  deviceId,
  type KemPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  type SessionRecord,
  type SuiteName,
  serializeSession,
  signedPreKeyId,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_LABELS,
  verifyBundleSuites,
} from '../src/v2/index.js';
import { PROVIDERS } from './providers.js';

type Hex = string;
type Values = Record<string, Hex | number>;
type MessageJson = InitialMessageJson | RatchetMessageJson;

interface IdentityJson {
  signingPrivateKey: Hex;
  signingPublicKey: Hex;
  dhPrivateKey: Hex;
  dhPublicKey: Hex;
  dhKeySignedBytes: Hex;
  dhKeySignature: Hex;
}

interface HandshakeCase {
  name: string;
  seed: string;
  alice: IdentityJson;
  bob: IdentityJson & {
    registrationId: number;
    deviceId: number;
    signedPreKey: { id: number; privateKey: Hex; publicKey: Hex; signedBytes: Hex; signature: Hex };
    oneTimePreKey?: { id: number; privateKey: Hex; publicKey: Hex };
    kemPreKey: {
      id: number;
      lastResort: boolean;
      seed: Hex;
      publicKey: Hex;
      secretKey: Hex;
      signedBytes: Hex;
      signature: Hex;
    };
    suites: {
      names: SuiteName[];
      signedPreKeyId: number;
      issuedAt: number;
      signedBytes: Hex;
      signature: Hex;
    };
  };
  initiatorRandom: { baseKeyPrivate: Hex; kemEncapsulationRandomness: Hex; ratchetPrivateKey: Hex };
  initiator: Values;
  firstMessage: Values & {
    plaintext: Hex;
    header: Hex;
    handshakeBytes: Hex;
    initialMessage: InitialMessageJson;
  };
  responderRandom: { ratchetPrivateKey: Hex };
  responder: Values & { plaintext: Hex };
  records: { alice: Hex; bob: Hex };
  safetyNumber: { aliceStableId: Hex; bobStableId: Hex; digits: string; bytes: Hex };
}

interface HandshakeFile {
  labels: Record<string, string>;
  cases: HandshakeCase[];
  invalid: (typeof INVALID_CASES)[number][];
}

type RatchetEvent =
  | (Values & {
      op: 'send';
      from: 'alice' | 'bob';
      id: string;
      type: 'initial' | 'ratchet';
      message: MessageJson;
    })
  | (Values & {
      op: 'deliver' | 'duplicate' | 'forge';
      to: 'alice' | 'bob';
      id: string;
      random: Hex;
      message?: MessageJson;
      plaintext?: Hex;
      error?: string;
    });

interface RatchetFile {
  messages: number;
  start: { alice: Hex; bob: Hex };
  events: RatchetEvent[];
  end: { alice: Hex; bob: Hex };
}

const root = new URL('../../../test-vectors/', import.meta.url);
const handshakeFile = JSON.parse(readFileSync(new URL('v2-handshake.json', root), 'utf8')) as HandshakeFile;
const ratchetFile = JSON.parse(readFileSync(new URL('v2-ratchet.json', root), 'utf8')) as RatchetFile;

const h = (s: string) => fromHex(s, 'vector');

/**
 * Expects every field of `expected` to equal the computed value, naming case and field. Fields
 * that are not values of a trace (messages, ids, ...) are listed in `skip`.
 */
function expectValues(
  where: string,
  actual: Values,
  expected: Readonly<Record<string, unknown>>,
  skip: readonly string[] = [],
): void {
  for (const [k, v] of Object.entries(expected)) {
    if (skip.includes(k)) continue;
    expect(actual[k], `${where}: ${k}`).toBe(v);
  }
}

function identity(j: IdentityJson): DeviceIdentity {
  return {
    signingKeyPair: { privateKey: h(j.signingPrivateKey), publicKey: h(j.signingPublicKey) },
    dhKeyPair: { privateKey: h(j.dhPrivateKey), publicKey: h(j.dhPublicKey) },
    dhKeySignature: h(j.dhKeySignature),
  };
}

async function parties(p: CryptoProvider, c: HandshakeCase): Promise<Parties> {
  const b = c.bob;
  const kemPair = await p.mlkem768.keyPairFromSeed(h(b.kemPreKey.seed));
  expect(toHex(kemPair.publicKey), `${c.name}: kemPreKey.publicKey from seed`).toBe(b.kemPreKey.publicKey);
  expect(toHex(kemPair.secretKey), `${c.name}: kemPreKey.secretKey from seed`).toBe(b.kemPreKey.secretKey);
  const bob = identity(b);
  const signedPreKey = {
    id: signedPreKeyId(b.signedPreKey.id),
    keyPair: { privateKey: h(b.signedPreKey.privateKey), publicKey: h(b.signedPreKey.publicKey) },
    signature: h(b.signedPreKey.signature),
  };
  const oneTimePreKey =
    b.oneTimePreKey === undefined
      ? undefined
      : {
          id: oneTimePreKeyId(b.oneTimePreKey.id),
          keyPair: { privateKey: h(b.oneTimePreKey.privateKey), publicKey: h(b.oneTimePreKey.publicKey) },
        };
  const kemPreKey: KemPreKey = {
    id: kemPreKeyId(b.kemPreKey.id),
    keyPair: kemPair,
    lastResort: b.kemPreKey.lastResort,
    signature: h(b.kemPreKey.signature),
  };
  const bundle: PreKeyBundle = {
    registrationId: registrationId(b.registrationId),
    deviceId: deviceId(b.deviceId),
    identity: toPublicIdentity(bob),
    signedPreKey: toSignedPreKeyPublic(signedPreKey),
    ...(oneTimePreKey === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(oneTimePreKey) }),
    kemPreKey: toKemPreKeyPublic(kemPreKey),
    suites: b.suites.names,
    suitesIssuedAt: b.suites.issuedAt,
    suitesSignature: h(b.suites.signature),
  };
  return {
    alice: identity(c.alice),
    bob,
    signedPreKey,
    oneTimePreKey,
    kemPreKey,
    kemSeed: h(b.kemPreKey.seed),
    bundle,
  };
}

describe('v2 vector files', () => {
  it('list every label of the suite and at least 50 conversation messages', () => {
    expect(handshakeFile.labels).toEqual({ ...V2_LABELS });
    expect(handshakeFile.cases.length).toBeGreaterThanOrEqual(3);
    expect(ratchetFile.messages).toBeGreaterThanOrEqual(50);
    const senders = new Set(ratchetFile.events.filter((e) => e.op === 'send').map((e) => e.from));
    expect([...senders].sort()).toEqual(['alice', 'bob']);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('v2-handshake.json under %s', (_name, provider) => {
  it.each(handshakeFile.cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const ps = await parties(provider, c);
    // Canonical signed bytes and deterministic Ed25519 signatures.
    const checks: [string, Uint8Array, Hex, Uint8Array, Hex][] = [
      [
        'alice.dhKeySignature',
        identityDhKeySignedBytes(ps.alice.dhKeyPair.publicKey),
        c.alice.dhKeySignedBytes,
        ps.alice.signingKeyPair.privateKey,
        c.alice.dhKeySignature,
      ],
      [
        'bob.dhKeySignature',
        identityDhKeySignedBytes(ps.bob.dhKeyPair.publicKey),
        c.bob.dhKeySignedBytes,
        ps.bob.signingKeyPair.privateKey,
        c.bob.dhKeySignature,
      ],
      [
        'bob.signedPreKey.signature',
        signedPreKeySignedBytes(ps.signedPreKey.id, ps.signedPreKey.keyPair.publicKey),
        c.bob.signedPreKey.signedBytes,
        ps.bob.signingKeyPair.privateKey,
        c.bob.signedPreKey.signature,
      ],
      [
        'bob.kemPreKey.signature',
        kemPreKeySignedBytes(ps.kemPreKey.id, ps.kemPreKey.lastResort, ps.kemPreKey.keyPair.publicKey),
        c.bob.kemPreKey.signedBytes,
        ps.bob.signingKeyPair.privateKey,
        c.bob.kemPreKey.signature,
      ],
      [
        'bob.suites.signature',
        suitesSignedBytes(c.bob.suites.signedPreKeyId, c.bob.suites.issuedAt, c.bob.suites.names),
        c.bob.suites.signedBytes,
        ps.bob.signingKeyPair.privateKey,
        c.bob.suites.signature,
      ],
    ];
    for (const [field, bytes, expectedBytes, key, signature] of checks) {
      expect(toHex(bytes), `${name}: ${field} signed bytes`).toBe(expectedBytes);
      expect(toHex(await provider.ed25519.sign(key, bytes)), `${name}: ${field}`).toBe(signature);
    }
    expect([...(await verifyBundleSuites(provider, ps.bundle))], `${name}: verified suites`).toEqual(
      c.bob.suites.names,
    );
    expect(c.bob.suites.signedPreKeyId, `${name}: suites bound to the signed prekey`).toBe(
      c.bob.signedPreKey.id,
    );
    for (const [field, pair] of [
      ['alice.signingPublicKey', ps.alice.signingKeyPair],
      ['bob.signingPublicKey', ps.bob.signingKeyPair],
    ] as const) {
      expect(toHex(await provider.ed25519.publicKey(pair.privateKey)), `${name}: ${field}`).toBe(
        toHex(pair.publicKey),
      );
    }

    // Initiator, replaying its three random draws.
    const r = c.initiatorRandom;
    const pa = provider.withRandom(
      replayRandom(concatBytes(h(r.baseKeyPrivate), h(r.kemEncapsulationRandomness), h(r.ratchetPrivateKey))),
    );
    const initiator: Values = {};
    const { session } = await initiate(pa, ps.alice, ps.bundle, hexTrace(initiator));
    initiator.kemBinding = toHex(
      await kemBinding(provider, ps.bundle.kemPreKey.publicKey, session.pending!.kemCiphertext),
    );
    expectValues(`${name} initiator`, initiator, c.initiator);
    expect(
      toHex(concatBytes(h(c.initiator.hkdfIkm as string).subarray(0, 32))),
      `${name}: hkdfIkm starts with 32 0xff`,
    ).toBe('ff'.repeat(32));
    expect(toHex(h(c.initiator.hkdfInfo as string).subarray(0, 21)), `${name}: hkdfInfo label`).toBe(
      toHex(new TextEncoder().encode(V2_LABELS.handshake)),
    );
    const first: Values = {};
    const enc = await encryptWithRecord(
      pa,
      session,
      { version: 1, current: session, previous: [] },
      h(c.firstMessage.plaintext),
      hexTrace(first),
    );
    expect(enc.message.type, `${name}: first message type`).toBe('initial');
    if (enc.message.type !== 'initial') return;
    expectValues(`${name} firstMessage`, first, c.firstMessage, [
      'plaintext',
      'header',
      'ciphertext',
      'handshakeBytes',
      'initialMessage',
    ]);
    const sent = enc.message.message;
    expect(initialJson(sent), `${name}: initialMessage`).toEqual(c.firstMessage.initialMessage);
    expect(toHex(sent.message.ciphertext), `${name}: ciphertext`).toBe(c.firstMessage.ciphertext);
    expect(toHex(canonicalRatchetHeaderBytes(sent.message.header)), `${name}: header`).toBe(
      c.firstMessage.header,
    );
    expect(toHex(canonicalInitialHandshakeBytes(sent)), `${name}: handshakeBytes`).toBe(
      c.firstMessage.handshakeBytes,
    );
    expect(
      toHex(
        await provider.sha256(concatBytes(utf8(V2_LABELS.initialDigest), h(c.firstMessage.handshakeBytes))),
      ),
      `${name}: responder.initialDigest = SHA-256(label | handshakeBytes)`,
    ).toBe(c.responder.initialDigest);
    expect(toHex(serializeSession(enc.record)), `${name}: records.alice`).toBe(c.records.alice);

    // Responder, from the message's fields, replaying its one draw.
    const pb = provider.withRandom(replayRandom(h(c.responderRandom.ratchetPrivateKey)));
    const responder: Values = {};
    const store = await preKeyStore(ps);
    const accepted = await accept(
      pb,
      ps.bob,
      store,
      initialFromJson(c.firstMessage.initialMessage),
      hexTrace(responder),
    );
    expectValues(`${name} responder`, responder, c.responder, ['plaintext']);
    expect(toHex(accepted.plaintext), `${name}: responder plaintext`).toBe(c.responder.plaintext);
    expect(
      toHex(serializeSession({ version: 1, current: accepted.session, previous: [] })),
      `${name}: records.bob`,
    ).toBe(c.records.bob);
    expect(await store.countOneTimePreKeys(), `${name}: one-time prekey consumed`).toBe(0);

    const safety = await computeSafetyNumber(
      provider,
      { identity: toPublicIdentity(ps.alice), stableId: h(c.safetyNumber.aliceStableId) },
      { identity: ps.bundle.identity, stableId: h(c.safetyNumber.bobStableId) },
    );
    expect(safety.digits, `${name}: safetyNumber.digits`).toBe(c.safetyNumber.digits);
    expect(toHex(safety.bytes), `${name}: safetyNumber.bytes`).toBe(c.safetyNumber.bytes);
  });

  it.each(handshakeFile.invalid.map((c) => [c.name, c] as const))('invalid: %s', async (name, c) => {
    const base = handshakeFile.cases.find((x) => x.name === c.case)!;
    const ps = await parties(provider, base);
    const initial = initialFromJson(base.firstMessage.initialMessage);
    expect(await runInvalid(provider, ps, initial, c), `invalid case ${name}`).toBe(c.error);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('v2-ratchet.json under %s', (_name, provider) => {
  it('reproduces the conversation event by event', async () => {
    const records: Record<'alice' | 'bob', SessionRecord> = {
      alice: deserializeSession(h(ratchetFile.start.alice)),
      bob: deserializeSession(h(ratchetFile.start.bob)),
    };
    const sent = new Map<string, { type: 'initial' | 'ratchet'; message: MessageJson }>();
    for (const [i, e] of ratchetFile.events.entries()) {
      const where = `event ${i} (${e.op} ${e.id})`;
      if (e.op === 'send') {
        const values: Values = {};
        const record = records[e.from];
        const out = await encryptWithRecord(
          provider.withRandom(replayRandom(new Uint8Array(0))),
          record.current!,
          record,
          h(e.plaintext as string),
          hexTrace(values),
        );
        const m = out.message;
        const header = m.type === 'initial' ? m.message.message.header : m.message.header;
        values.ratchetKey = toHex(header.ratchetKey);
        values.previousChainLength = header.previousChainLength;
        values.messageNumber = header.messageNumber;
        expect(m.type, `${where}: type`).toBe(e.type);
        expectValues(where, values, e, ['op', 'from', 'id', 'plaintext', 'type', 'header', 'message']);
        expect(toHex(canonicalRatchetHeaderBytes(header)), `${where}: header`).toBe(e.header);
        expect(messageJson(m), `${where}: message`).toEqual(e.message);
        records[e.from] = out.record;
        sent.set(e.id, { type: e.type, message: e.message });
        continue;
      }
      const s = sent.get(e.id)!;
      const message = messageFromJson(s.type, e.message ?? s.message);
      const values: Values = {};
      try {
        const out = await decryptTraced(
          provider.withRandom(replayRandom(h(e.random))),
          records[e.to],
          message,
          hexTrace(values),
        );
        records[e.to] = out.record;
        expect(toHex(out.plaintext), `${where}: plaintext`).toBe(e.plaintext);
        expectValues(where, values, e, ['op', 'to', 'id', 'random', 'plaintext', 'message']);
      } catch (err) {
        if (!(err instanceof CloisterError)) throw err;
        expect(err.code, `${where}: error`).toBe(e.error);
      }
    }
    expect(toHex(serializeSession(records.alice)), 'end: alice record').toBe(ratchetFile.end.alice);
    expect(toHex(serializeSession(records.bob)), 'end: bob record').toBe(ratchetFile.end.bob);
  });

  it('has a send event for every delivered id', () => {
    const sentIds = new Set(ratchetFile.events.filter((e) => e.op === 'send').map((e) => e.id));
    for (const e of ratchetFile.events) expect(sentIds.has(e.id), `event ${e.id}`).toBe(true);
    const script: readonly Step[] = ratchetFile.events.map((e) =>
      e.op === 'send' ? { op: 'send', from: e.from, id: e.id } : { op: e.op, id: e.id },
    );
    expect(script.filter((s) => s.op === 'duplicate').length).toBeGreaterThanOrEqual(1);
    expect(script.filter((s) => s.op === 'forge').length).toBeGreaterThanOrEqual(1);
  });
});
