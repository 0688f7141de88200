/**
 * The wire form of public identities and prekey bundles. Every signature in a bundle covers
 * crypto's labelled canonical bytes (`"cloister/v2/signed-prekey" || u32(id) || key`, ...),
 * rebuilt from the decoded fields, never these protobuf bytes. Decoding checks shape only;
 * `verifyPreKeyBundle` in `@cloister/crypto` checks the signatures.
 *
 * @module
 */
import { cloister } from './generated/cloister.js';
import { bool, decodeFail, encodeFail, type Fail, fixedBytes, int, list, object } from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { SUITE_FROM_WIRE, SUITE_TO_WIRE } from './internal/suite-wire.js';
import { KEM_PUBLIC_KEY_LENGTH, KEY_LENGTH, SIGNATURE_LENGTH } from './internal/sizes.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';
import { isSuite, SUITES, type Suite } from './suites.js';
import type { PreKeyBundle, PublicIdentity } from './v2-types.js';

const wire = cloister.v1;

/** @internal Shared by both directions. */
export function checkPublicIdentity(fail: Fail, value: unknown, path: string): PublicIdentity {
  const o = object(fail, value, path);
  return {
    signingKey: fixedBytes(fail, o.signingKey, `${path}.signingKey`, KEY_LENGTH),
    dhKey: fixedBytes(fail, o.dhKey, `${path}.dhKey`, KEY_LENGTH),
    dhKeySignature: fixedBytes(fail, o.dhKeySignature, `${path}.dhKeySignature`, SIGNATURE_LENGTH),
  };
}

/** @internal A candidate domain object from a parsed protobufjs object. */
export function identityCandidate(raw: cloister.v1.IPublicIdentity | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  return { signingKey: raw.signingKey, dhKey: raw.dhKey, dhKeySignature: raw.dhKeySignature };
}

function checkSuiteList(fail: Fail, value: unknown, path: string): Suite[] {
  const suites = list(fail, value, path, 1, FIELD_LIMITS.suites).map((s, i) => {
    if (!isSuite(s)) return fail(`${path}[${i}]`, `one of ${SUITES.map((x) => `'${x}'`).join(', ')}`);
    return s;
  });
  suites.forEach((s, i) => {
    if (suites.indexOf(s) !== i) fail(`${path}[${i}]`, 'no duplicates');
  });
  return suites;
}

function checkBundle(fail: Fail, value: unknown, path: string): PreKeyBundle {
  const o = object(fail, value, path);
  const spk = object(fail, o.signedPreKey, `${path}.signedPreKey`);
  const kem = object(fail, o.kemPreKey, `${path}.kemPreKey`);
  const bundle: PreKeyBundle = {
    registrationId: int(fail, o.registrationId, `${path}.registrationId`),
    deviceId: int(fail, o.deviceId, `${path}.deviceId`),
    identity: checkPublicIdentity(fail, o.identity, `${path}.identity`),
    signedPreKey: {
      id: int(fail, spk.id, `${path}.signedPreKey.id`),
      publicKey: fixedBytes(fail, spk.publicKey, `${path}.signedPreKey.publicKey`, KEY_LENGTH),
      signature: fixedBytes(fail, spk.signature, `${path}.signedPreKey.signature`, SIGNATURE_LENGTH),
    },
    kemPreKey: {
      id: int(fail, kem.id, `${path}.kemPreKey.id`),
      publicKey: fixedBytes(fail, kem.publicKey, `${path}.kemPreKey.publicKey`, KEM_PUBLIC_KEY_LENGTH),
      lastResort: bool(fail, kem.lastResort, `${path}.kemPreKey.lastResort`),
      signature: fixedBytes(fail, kem.signature, `${path}.kemPreKey.signature`, SIGNATURE_LENGTH),
    },
    suites: checkSuiteList(fail, o.suites, `${path}.suites`),
  };
  if (o.oneTimePreKey === undefined) return bundle;
  const opk = object(fail, o.oneTimePreKey, `${path}.oneTimePreKey`);
  const oneTimePreKey = {
    id: int(fail, opk.id, `${path}.oneTimePreKey.id`),
    publicKey: fixedBytes(fail, opk.publicKey, `${path}.oneTimePreKey.publicKey`, KEY_LENGTH),
  };
  return { ...bundle, oneTimePreKey };
}

/**
 * The known suites of a wire list: `SUITE_UNSPECIFIED` is an error, numbers this version does
 * not know are skipped (a newer peer may list suites we do not have; negotiation ignores them).
 */
function suitesFromWire(raw: readonly number[], path: string): unknown {
  const max = FIELD_LIMITS.wireSuiteEntries;
  if (raw.length > max) return decodeFail(path, `at most ${max} entries, got ${raw.length}`);
  const known: Suite[] = [];
  raw.forEach((n, i) => {
    if (n === wire.Suite.SUITE_UNSPECIFIED) decodeFail(`${path}[${i}]`, 'a specified suite');
    const s = SUITE_FROM_WIRE.get(n);
    if (s !== undefined && known.includes(s)) decodeFail(`${path}[${i}]`, 'no duplicates');
    if (s !== undefined) known.push(s);
  });
  if (known.length === 0) return decodeFail(path, 'at least one known suite');
  return known;
}

function bundleFromWire(raw: cloister.v1.PreKeyBundle, path: string): PreKeyBundle {
  const spk = raw.signedPreKey;
  const kem = raw.kemPreKey;
  const opk = raw.oneTimePreKey;
  const candidate = {
    registrationId: raw.registrationId,
    deviceId: raw.deviceId,
    identity: identityCandidate(raw.identity),
    signedPreKey:
      spk === null ? undefined : { id: spk.id, publicKey: spk.publicKey, signature: spk.signature },
    oneTimePreKey: opk === null ? undefined : { id: opk.id, publicKey: opk.publicKey },
    kemPreKey:
      kem === null
        ? undefined
        : { id: kem.id, publicKey: kem.publicKey, lastResort: kem.lastResort, signature: kem.signature },
    suites: suitesFromWire(raw.suites, `${path}.suites`),
  };
  return checkBundle(decodeFail, candidate, path);
}

function bundleToWire(b: PreKeyBundle): cloister.v1.IPreKeyBundle {
  const raw: cloister.v1.IPreKeyBundle = {
    registrationId: b.registrationId,
    deviceId: b.deviceId,
    identity: { ...b.identity },
    signedPreKey: { ...b.signedPreKey },
    kemPreKey: { ...b.kemPreKey },
    suites: b.suites.map((s) => SUITE_TO_WIRE[s]),
  };
  if (b.oneTimePreKey !== undefined) raw.oneTimePreKey = { ...b.oneTimePreKey };
  return raw;
}

/**
 * Encodes a {@link PublicIdentity} on its own (for directories and key verification). Throws
 * `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodePublicIdentity } from '@cloister/protocol';
 * const bytes = encodePublicIdentity({ signingKey, dhKey, dhKeySignature });
 * ```
 */
export function encodePublicIdentity(identity: PublicIdentity): Uint8Array {
  const checked = checkPublicIdentity(encodeFail, identity, 'identity');
  return encodeWith(checked, 'identity', MAX_ENCODED_BYTES.publicIdentity, (m, w) =>
    wire.PublicIdentity.encode(m, w),
  );
}

/**
 * Decodes a {@link PublicIdentity}; throws `DecodeError` with the field path (for example
 * `identity.dhKeySignature`). The signature is not verified here.
 *
 * @example
 * ```ts
 * import { decodePublicIdentity } from '@cloister/protocol';
 * const identity = decodePublicIdentity(bytes);
 * ```
 */
export function decodePublicIdentity(bytes: Uint8Array): PublicIdentity {
  return decodeWith(bytes, {
    root: 'identity',
    maxBytes: MAX_ENCODED_BYTES.publicIdentity,
    parse: (r) => wire.PublicIdentity.decode(r),
    convert: (raw, path) => checkPublicIdentity(decodeFail, identityCandidate(raw), path),
  });
}

/**
 * Encodes a {@link PreKeyBundle}. Throws `ValidationError` naming the field (for example
 * `bundle.kemPreKey.publicKey`). A `PreKeyBundle` of `@cloister/crypto` is accepted as it is.
 *
 * @example
 * ```ts
 * import { encodePreKeyBundle } from '@cloister/protocol';
 * const bytes = encodePreKeyBundle(bundle);
 * ```
 */
export function encodePreKeyBundle(bundle: PreKeyBundle): Uint8Array {
  const checked = checkBundle(encodeFail, bundle, 'bundle');
  return encodeWith(bundleToWire(checked), 'bundle', MAX_ENCODED_BYTES.preKeyBundle, (m, w) =>
    wire.PreKeyBundle.encode(m, w),
  );
}

/**
 * Decodes a {@link PreKeyBundle}: every key and signature has its exact length, ids are u32,
 * `suites` holds 1 .. 2 distinct known suites (unknown suite numbers from newer peers are
 * dropped). Signatures are not verified here: pass the result to `verifyPreKeyBundle`. Throws
 * `DecodeError` with the field path (for example `bundle.signedPreKey.signature`).
 *
 * @example
 * ```ts
 * import { decodePreKeyBundle, negotiateSuite } from '@cloister/protocol';
 * const bundle = decodePreKeyBundle(bytes);
 * const suite = negotiateSuite(['v2', 'static-v1'], bundle.suites);
 * ```
 */
export function decodePreKeyBundle(bytes: Uint8Array): PreKeyBundle {
  return decodeWith(bytes, {
    root: 'bundle',
    maxBytes: MAX_ENCODED_BYTES.preKeyBundle,
    parse: (r) => wire.PreKeyBundle.decode(r),
    convert: bundleFromWire,
  });
}
