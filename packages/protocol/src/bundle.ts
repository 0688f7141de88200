/**
 * The wire form of public identities and prekey bundles, as `@cloister/crypto`'s domain types
 * (ids branded with crypto's constructors). Every signature in a bundle covers crypto's labelled
 * canonical bytes (`"cloister/v2/signed-prekey" || u32(id) || key`, `"cloister/v2/suites/2" ||
 * u32(signedPreKey.id) || u64(suitesIssuedAt) || ...`), rebuilt from the decoded fields, never these protobuf bytes. Decoding checks shape only;
 * `verifyPreKeyBundle` / `verifyBundleSuites` in `@cloister/crypto` check the signatures.
 *
 * @module
 */
import {
  deviceId,
  kemPreKeyId,
  MAX_SUITE_CODE,
  oneTimePreKeyId,
  type PreKeyBundle,
  type PublicIdentity,
  registrationId,
  type SuiteName,
  signedPreKeyId,
} from '@cloister/crypto';
import { cloister } from './generated/cloister.js';
import {
  bool,
  decodeFail,
  encodeFail,
  type Fail,
  fixedBytes,
  fromUint64,
  int,
  list,
  object,
} from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { KEM_PUBLIC_KEY_LENGTH, KEY_LENGTH, SIGNATURE_LENGTH } from './internal/sizes.js';
import { SUITE_FROM_WIRE, SUITE_TO_WIRE } from './internal/suite-wire.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';
import { isSuite, SUITES } from './suites.js';

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

function checkSuiteList(fail: Fail, value: unknown, path: string): SuiteName[] {
  const suites = list(fail, value, path, 1, FIELD_LIMITS.suites).map((s, i) => {
    if (!isSuite(s)) return fail(`${path}[${i}]`, `one of ${SUITES.map((x) => `'${x}'`).join(', ')}`);
    return s;
  });
  suites.forEach((s, i) => {
    if (suites.indexOf(s) !== i) fail(`${path}[${i}]`, 'no duplicates');
  });
  return suites;
}

/** Numbers of suites this version does not know: distinct, 1 .. 2^31 - 1, none a known one. */
function checkUnknownCodes(fail: Fail, value: unknown, path: string, known: number): number[] {
  const codes = list(fail, value, path, 0, FIELD_LIMITS.wireSuiteEntries - known).map((c, i) => {
    const code = int(fail, c, `${path}[${i}]`, 1, MAX_SUITE_CODE);
    if (SUITE_FROM_WIRE.has(code)) fail(`${path}[${i}]`, 'the number of no known suite');
    return code;
  });
  codes.forEach((c, i) => {
    if (codes.indexOf(c) !== i) fail(`${path}[${i}]`, 'no duplicates');
  });
  return codes;
}

function checkBundle(fail: Fail, value: unknown, path: string): PreKeyBundle {
  const o = object(fail, value, path);
  const spk = object(fail, o.signedPreKey, `${path}.signedPreKey`);
  const kem = object(fail, o.kemPreKey, `${path}.kemPreKey`);
  const head = {
    registrationId: registrationId(int(fail, o.registrationId, `${path}.registrationId`)),
    deviceId: deviceId(int(fail, o.deviceId, `${path}.deviceId`)),
    identity: checkPublicIdentity(fail, o.identity, `${path}.identity`),
    signedPreKey: {
      id: signedPreKeyId(int(fail, spk.id, `${path}.signedPreKey.id`)),
      publicKey: fixedBytes(fail, spk.publicKey, `${path}.signedPreKey.publicKey`, KEY_LENGTH),
      signature: fixedBytes(fail, spk.signature, `${path}.signedPreKey.signature`, SIGNATURE_LENGTH),
    },
    kemPreKey: {
      id: kemPreKeyId(int(fail, kem.id, `${path}.kemPreKey.id`)),
      publicKey: fixedBytes(fail, kem.publicKey, `${path}.kemPreKey.publicKey`, KEM_PUBLIC_KEY_LENGTH),
      lastResort: bool(fail, kem.lastResort, `${path}.kemPreKey.lastResort`),
      signature: fixedBytes(fail, kem.signature, `${path}.kemPreKey.signature`, SIGNATURE_LENGTH),
    },
    suites: checkSuiteList(fail, o.suites, `${path}.suites`),
  };
  const unknownSuiteCodes =
    o.unknownSuiteCodes === undefined
      ? []
      : checkUnknownCodes(fail, o.unknownSuiteCodes, `${path}.unknownSuiteCodes`, head.suites.length);
  const bundle: PreKeyBundle = {
    ...head,
    ...(unknownSuiteCodes.length === 0 ? {} : { unknownSuiteCodes }),
    suitesIssuedAt: int(fail, o.suitesIssuedAt, `${path}.suitesIssuedAt`, 1, Number.MAX_SAFE_INTEGER),
    suitesSignature: fixedBytes(fail, o.suitesSignature, `${path}.suitesSignature`, SIGNATURE_LENGTH),
  };
  if (o.oneTimePreKey === undefined) return bundle;
  const opk = object(fail, o.oneTimePreKey, `${path}.oneTimePreKey`);
  const oneTimePreKey = {
    id: oneTimePreKeyId(int(fail, opk.id, `${path}.oneTimePreKey.id`)),
    publicKey: fixedBytes(fail, opk.publicKey, `${path}.oneTimePreKey.publicKey`, KEY_LENGTH),
  };
  return { ...bundle, oneTimePreKey };
}

/**
 * Splits a wire suite list into the suites this version knows and the numbers it does not
 * (from newer peers): both are kept, because the suite signature covers every number.
 * `SUITE_UNSPECIFIED`, negative numbers and repeats are errors.
 */
function suitesFromWire(raw: readonly number[], path: string): { suites: unknown; unknown: unknown } {
  const max = FIELD_LIMITS.wireSuiteEntries;
  if (raw.length > max) decodeFail(path, `at most ${max} entries, got ${raw.length}`);
  const known: SuiteName[] = [];
  const unknown: number[] = [];
  raw.forEach((n, i) => {
    if (n === wire.Suite.SUITE_UNSPECIFIED) decodeFail(`${path}[${i}]`, 'a specified suite');
    if (n < 0) decodeFail(`${path}[${i}]`, `a suite number in [1, ${MAX_SUITE_CODE}]`);
    if (raw.indexOf(n) !== i) decodeFail(`${path}[${i}]`, 'no duplicates');
    const s = SUITE_FROM_WIRE.get(n);
    if (s === undefined) unknown.push(n);
    else known.push(s);
  });
  if (known.length === 0) decodeFail(path, 'at least one known suite');
  return { suites: known, unknown };
}

function bundleFromWire(raw: cloister.v1.PreKeyBundle, path: string): PreKeyBundle {
  const spk = raw.signedPreKey;
  const kem = raw.kemPreKey;
  const opk = raw.oneTimePreKey;
  const { suites, unknown } = suitesFromWire(raw.suites, `${path}.suites`);
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
    suites,
    unknownSuiteCodes: unknown,
    suitesIssuedAt: fromUint64(raw.suitesIssuedAtMs),
    suitesSignature: raw.suitesSignature,
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
    suites: [...b.suites.map((s) => SUITE_TO_WIRE[s]), ...(b.unknownSuiteCodes ?? [])],
    suitesSignature: b.suitesSignature,
    suitesIssuedAtMs: b.suitesIssuedAt,
  };
  if (b.oneTimePreKey !== undefined) raw.oneTimePreKey = { ...b.oneTimePreKey };
  return raw;
}

/**
 * Encodes a `PublicIdentity` of `@cloister/crypto` on its own (for directories and key
 * verification). Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { toPublicIdentity } from '@cloister/crypto';
 * import { encodePublicIdentity } from '@cloister/protocol';
 * const bytes = encodePublicIdentity(toPublicIdentity(identity));
 * ```
 */
export function encodePublicIdentity(identity: PublicIdentity): Uint8Array {
  const checked = checkPublicIdentity(encodeFail, identity, 'identity');
  return encodeWith(checked, 'identity', MAX_ENCODED_BYTES.publicIdentity, (m, w) =>
    wire.PublicIdentity.encode(m, w),
  );
}

/**
 * Decodes a `PublicIdentity`; throws `DecodeError` with the field path (for example
 * `identity.dhKeySignature`). The signature is not verified here (`verifyPublicIdentity` does).
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
 * Encodes a `PreKeyBundle` of `@cloister/crypto`, including its suite signature and any suite
 * numbers it carries from a newer peer. Throws `ValidationError` naming the field (for example
 * `bundle.kemPreKey.publicKey`).
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
 * Decodes a `PreKeyBundle` of `@cloister/crypto`: every key and signature has its exact length,
 * ids are u32 (branded with crypto's constructors), `suites` holds the 1 .. 2 distinct suites this
 * version knows and `unknownSuiteCodes` any others (kept because `suitesSignature` covers them),
 * `suitesIssuedAt` is 1 .. 2^53 - 1 (a missing one is 0 on the wire, hence a `DecodeError` at
 * `bundle.suitesIssuedAt`). Signatures are not verified here: pass the result to
 * `negotiateSuiteForBundle` or `SessionCipher.startSession`, which verify it, and compare
 * `suitesIssuedAt` with the newest seen for the device. Throws `DecodeError` with the field path
 * (for example `bundle.signedPreKey.signature`).
 *
 * @example
 * ```ts
 * import { decodePreKeyBundle, negotiateSuiteForBundle } from '@cloister/protocol';
 * const bundle = decodePreKeyBundle(bytes);
 * const suite = await negotiateSuiteForBundle(provider, ['v2', 'static-v1'], bundle);
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
