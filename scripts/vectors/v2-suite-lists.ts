/**
 * Signed suite lists of suite v2 (`test-vectors/v2-suite-lists.json`, spec/v2-sessions.md
 * section 4.1): the statement `"cloister/v2/suites/2" | u32(signedPreKeyId) | u64(issuedAt) |
 * u8(count) | u32(code)*` byte by byte, two bundles of one device (an older one with signed prekey
 * 1 offering only static-v1, the current one with signed prekey 2 offering v2 and static-v1) as
 * fields and as protobuf (`spec/wire.md`), and bundles every verifier must refuse: the retired
 * label-only signature over the same list, a list signed for another signed prekey, a changed
 * `suitesIssuedAt`, the signed prekey swapped for the older one, and the older bundle replayed to
 * a reader that has seen the current one. Two encodings the decoder must refuse complete it.
 *
 * The identity and prekeys come from the noble provider with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/v2-suite-lists"))`; Ed25519 is
 * deterministic, so every byte is reproducible. Each case is checked with the node provider
 * before the file is written.
 */
import { encodePreKeyBundle } from '@cloister/protocol';
import {
  CloisterError,
  type CryptoProvider,
  createNobleProvider,
  toHex,
  utf8,
} from '../../packages/crypto/src/index.js';
import { createNodeProvider } from '../../packages/crypto/src/providers/node.js';
import { INSECURE_seededRandomForTestsOnly } from '../../packages/crypto/src/testing.js';
import { suitesSignedBytes } from '../../packages/crypto/src/v2/_signed.js';
import {
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateSignedPreKey,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  type SuiteName,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_LABELS,
  verifyBundleSuites,
} from '../../packages/crypto/src/v2/index.js';
import { oldFormSuitesSignedBytes } from './v2-handshake.js';

const SEED = 'cloister/test-vectors/v2-suite-lists';
/** When the device signed its older list (2026-01-01T00:00:00Z) and its current one (a week on). */
const T_OLD = 1_767_225_600_000;
const T_NEW = T_OLD + 7 * 86_400_000;

/** A bundle as the vector file shows it: every field, bytes in hex, and its protobuf encoding. */
function bundleJson(b: PreKeyBundle) {
  return {
    registrationId: b.registrationId,
    deviceId: b.deviceId,
    identity: {
      signingKey: toHex(b.identity.signingKey),
      dhKey: toHex(b.identity.dhKey),
      dhKeySignature: toHex(b.identity.dhKeySignature),
    },
    signedPreKey: {
      id: b.signedPreKey.id,
      publicKey: toHex(b.signedPreKey.publicKey),
      signature: toHex(b.signedPreKey.signature),
    },
    kemPreKey: {
      id: b.kemPreKey.id,
      publicKey: toHex(b.kemPreKey.publicKey),
      lastResort: b.kemPreKey.lastResort,
      signature: toHex(b.kemPreKey.signature),
    },
    suites: b.suites,
    suitesIssuedAt: b.suitesIssuedAt,
    suitesSignature: toHex(b.suitesSignature),
    wire: toHex(encodePreKeyBundle(b)),
  };
}

/** Protobuf varint of a non-negative integer up to 2^64 - 1. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** The encoding of `b` with field 9 (`suites_issued_at_ms`, written last) replaced or removed. */
function withIssuedAtField(b: PreKeyBundle, value: bigint | undefined): Uint8Array {
  const wire = encodePreKeyBundle(b);
  const field = [0x48, ...varint(BigInt(b.suitesIssuedAt))];
  const tail = wire.subarray(wire.length - field.length);
  if (toHex(tail) !== toHex(Uint8Array.from(field))) fail('field 9 is not the last field of the encoding');
  const head = wire.subarray(0, wire.length - field.length);
  return Uint8Array.from([...head, ...(value === undefined ? [] : [0x48, ...varint(value)])]);
}

function fail(what: string): never {
  throw new Error(`v2-suite-lists vector self-check failed: ${what}`);
}

/** The error code and message of a verification, or `"ok"` and the verified suites. */
async function verdict(
  p: CryptoProvider,
  bundle: PreKeyBundle,
  newest: number | undefined,
): Promise<{ code: string; message: string; suites?: readonly SuiteName[] }> {
  try {
    const suites = await verifyBundleSuites(
      p,
      bundle,
      newest === undefined ? {} : { newestSuitesIssuedAt: newest },
    );
    return { code: 'ok', message: '', suites: [...suites] };
  } catch (e) {
    if (e instanceof CloisterError) return { code: e.code, message: e.message };
    throw e;
  }
}

export async function generateSuiteListVectors() {
  const noble = createNobleProvider().withRandom(INSECURE_seededRandomForTestsOnly(utf8(SEED)));
  const node = createNodeProvider();
  const bob = await generateDeviceIdentity(noble);
  const spk1 = await generateSignedPreKey(noble, bob, signedPreKeyId(1));
  const spk2 = await generateSignedPreKey(noble, bob, signedPreKeyId(2));
  const kem = await generateKemPreKey(noble, bob, kemPreKeyId(7), { lastResort: true });
  const key = bob.signingKeyPair.privateKey;
  const head = {
    registrationId: registrationId(4242),
    deviceId: deviceId(1),
    identity: toPublicIdentity(bob),
    kemPreKey: toKemPreKeyPublic(kem),
  };
  const oldSuites: readonly SuiteName[] = ['static-v1'];
  const newSuites: readonly SuiteName[] = ['v2', 'static-v1'];
  const old: PreKeyBundle = {
    ...head,
    signedPreKey: toSignedPreKeyPublic(spk1),
    suites: oldSuites,
    suitesIssuedAt: T_OLD,
    suitesSignature: await signSuites(noble, bob, oldSuites, { signedPreKeyId: spk1.id, issuedAt: T_OLD }),
  };
  const current: PreKeyBundle = {
    ...head,
    signedPreKey: toSignedPreKeyPublic(spk2),
    suites: newSuites,
    suitesIssuedAt: T_NEW,
    suitesSignature: await signSuites(noble, bob, newSuites, { signedPreKeyId: spk2.id, issuedAt: T_NEW }),
  };

  const statements = [
    { name: 'current', signedPreKeyId: 2, issuedAt: T_NEW, suites: newSuites, unknownSuiteCodes: [] },
    { name: 'older', signedPreKeyId: 1, issuedAt: T_OLD, suites: oldSuites, unknownSuiteCodes: [] },
    {
      name: 'extremes, with suite codes this version does not know',
      signedPreKeyId: 0xffff_ffff,
      issuedAt: Number.MAX_SAFE_INTEGER,
      suites: ['v2'] as SuiteName[],
      unknownSuiteCodes: [0x7fff_ffff, 9],
    },
  ];
  const statementJson = [];
  for (const s of statements) {
    const bytes = suitesSignedBytes(s.signedPreKeyId, s.issuedAt, s.suites, s.unknownSuiteCodes);
    const signature = await noble.ed25519.sign(key, bytes);
    if (!(await node.ed25519.verify(bob.signingKeyPair.publicKey, bytes, signature))) fail(s.name);
    statementJson.push({ ...s, signedBytes: toHex(bytes), signature: toHex(signature) });
  }

  const valid = [
    {
      name: 'current bundle, first seen',
      description: 'the current bundle verifies; its suite list offers v2',
      bundle: current,
      newestSuitesIssuedAt: undefined,
    },
    {
      name: 'current bundle, seen before',
      description: 'a list as new as the newest seen is accepted (the same list served again)',
      bundle: current,
      newestSuitesIssuedAt: T_NEW,
    },
    {
      name: 'current bundle after the older one',
      description: 'a newer list than the newest seen is accepted (and becomes the newest)',
      bundle: current,
      newestSuitesIssuedAt: T_OLD,
    },
    {
      name: 'older bundle, to a reader who has seen nothing newer',
      description:
        'correctly signed, so it verifies: only the reader who remembers the newest list it saw can refuse it (see the invalid case "older bundle replayed")',
      bundle: old,
      newestSuitesIssuedAt: undefined,
    },
  ];
  const validJson = [];
  for (const v of valid) {
    const r = await verdict(node, v.bundle, v.newestSuitesIssuedAt);
    if (r.code !== 'ok') fail(`${v.name}: ${r.message}`);
    validJson.push({
      name: v.name,
      description: v.description,
      bundle: v.bundle === current ? 'current' : 'older',
      ...(v.newestSuitesIssuedAt === undefined ? {} : { newestSuitesIssuedAt: v.newestSuitesIssuedAt }),
      suites: r.suites,
    });
  }

  const invalid = [
    {
      name: 'old-form signature over the same list',
      description:
        'the current bundle with a signature over the retired statement "cloister/v2/suites" | u8(count) | u32(code)*, made by the device itself',
      bundle: {
        ...current,
        suitesSignature: await noble.ed25519.sign(key, oldFormSuitesSignedBytes(newSuites)),
      },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'old-form static-v1 list',
      description:
        'the current bundle with its list replaced by static-v1 alone and an old-form signature the device once made over that list',
      bundle: {
        ...current,
        suites: oldSuites,
        suitesSignature: await noble.ed25519.sign(key, oldFormSuitesSignedBytes(oldSuites)),
      },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'list signed for another signed prekey',
      description:
        'the current list and time, signed by the device for signed prekey 1, in the bundle of signed prekey 2',
      bundle: {
        ...current,
        suitesSignature: await signSuites(noble, bob, newSuites, {
          signedPreKeyId: spk1.id,
          issuedAt: T_NEW,
        }),
      },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'suitesIssuedAt changed',
      description: 'the current bundle with suitesIssuedAt one millisecond later than signed',
      bundle: { ...current, suitesIssuedAt: T_NEW + 1 },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'signed prekey swapped for an older one',
      description:
        'the current bundle with its signed prekey replaced by the older, validly signed signed prekey 1',
      bundle: { ...current, signedPreKey: toSignedPreKeyPublic(spk1) },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'older list moved onto the current signed prekey',
      description: 'the current bundle carrying the older list, its time and its signature',
      bundle: {
        ...current,
        suites: old.suites,
        suitesIssuedAt: old.suitesIssuedAt,
        suitesSignature: old.suitesSignature,
      },
      field: 'bundle.suitesSignature',
    },
    {
      name: 'older bundle replayed',
      description:
        'the older bundle, unchanged, to a reader whose newest verified list for this device is the current one: refused as older (newestSuitesIssuedAt)',
      bundle: old,
      newestSuitesIssuedAt: T_NEW,
      field: 'bundle.suitesIssuedAt',
    },
  ];
  const invalidJson = [];
  for (const c of invalid) {
    const newest = 'newestSuitesIssuedAt' in c ? c.newestSuitesIssuedAt : undefined;
    for (const p of [noble, node]) {
      const r = await verdict(p, c.bundle, newest);
      if (r.code !== 'ERR_INVALID_KEY' || !r.message.includes(c.field))
        fail(`${c.name}: ${r.code} ${r.message}`);
    }
    invalidJson.push({
      name: c.name,
      description: c.description,
      bundle: bundleJson(c.bundle),
      ...(newest === undefined ? {} : { newestSuitesIssuedAt: newest }),
      error: 'ERR_INVALID_KEY',
      field: c.field,
    });
  }

  return {
    description:
      'Suite v2 signed suite lists, bound to the signed prekey id and the time they were issued: statements, bundles (fields and protobuf), and bundles to refuse. Layout: spec/v2-sessions.md section 4.1; wire: spec/wire.md.',
    source: {
      generator: 'scripts/vectors/v2-suite-lists.ts',
      provider: 'noble, seeded with INSECURE_seededRandomForTestsOnly(ASCII(seed)); checked with node',
      seed: SEED,
    },
    label: V2_LABELS.suites,
    labelHex: toHex(utf8(V2_LABELS.suites)),
    layout: 'label | u32be(signedPreKeyId) | u64be(issuedAt) | u8(count) | u32be(code)*, codes ascending',
    identity: {
      signingPrivateKey: toHex(bob.signingKeyPair.privateKey),
      signingPublicKey: toHex(bob.signingKeyPair.publicKey),
    },
    statements: statementJson,
    bundles: { older: bundleJson(old), current: bundleJson(current) },
    valid: validJson,
    invalid: invalidJson,
    undecodable: [
      {
        name: 'suites_issued_at_ms missing',
        description: 'the current bundle without field 9 (a bundle of the retired format)',
        wire: toHex(withIssuedAtField(current, undefined)),
        field: 'bundle.suitesIssuedAt',
      },
      {
        name: 'suites_issued_at_ms 2^53',
        description: 'the current bundle with field 9 set to 2^53, beyond the largest time',
        wire: toHex(withIssuedAtField(current, 2n ** 53n)),
        field: 'bundle.suitesIssuedAt',
      },
    ],
  };
}

export default {
  file: 'v2-suite-lists.json',
  generate: generateSuiteListVectors,
};
