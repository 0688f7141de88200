/**
 * Suite negotiation only ever sees a suite list whose signature was verified, so a server that
 * removes `v2` from a bundle cannot make an initiator fall back to `static-v1`.
 */
import {
  concatBytes,
  createNobleProvider,
  MAX_SUITE_CODE,
  MAX_SUITE_ENTRIES,
  type PreKeyBundle,
  SUITE_CODES,
  type SuiteName,
  signSuites,
  uintBE,
  utf8,
  type VerifiedSuites,
  verifyBundleSuites,
} from '@cloister/crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cloister } from '../src/generated/cloister.js';
import {
  decodePreKeyBundle,
  encodePreKeyBundle,
  FIELD_LIMITS,
  isSuite,
  negotiateSuite,
  negotiateSuiteForBundle,
  SUITES,
  type Suite,
} from '../src/index.js';
import { type Device, makeDevice } from './v2-fixtures.js';

const p = createNobleProvider();

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

async function failure(fn: () => unknown): Promise<{ code?: string; message?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  return {};
}

const LISTS: readonly (readonly SuiteName[])[] = [
  ['v2'],
  ['static-v1'],
  ['v2', 'static-v1'],
  ['static-v1', 'v2'],
];

let bob: Device;
/** Verified lists by `list.join()`: what `verifyBundleSuites` returns for a bundle signing each. */
const verified = new Map<string, VerifiedSuites>();

async function signedBundle(suites: readonly SuiteName[]): Promise<PreKeyBundle> {
  const binding = { signedPreKeyId: bob.bundle.signedPreKey.id, issuedAt: bob.bundle.suitesIssuedAt };
  return { ...bob.bundle, suites, suitesSignature: await signSuites(p, bob.identity, suites, binding) };
}

function theirs(list: readonly Suite[]): VerifiedSuites {
  const v = verified.get(list.join());
  if (v === undefined) throw new Error(`no verified list ${list.join()}`);
  return v;
}

beforeAll(async () => {
  bob = await makeDevice(p, ['v2', 'static-v1']);
  for (const list of LISTS) verified.set(list.join(), await verifyBundleSuites(p, await signedBundle(list)));
});

describe('SUITES', () => {
  it('lists v2 first: it is preferred', () => {
    expect(SUITES).toEqual(['v2', 'static-v1']);
    expect(Object.isFrozen(SUITES)).toBe(true);
  });

  it('uses the same numbers on the wire as in the signed suite statement', () => {
    expect(cloister.v1.Suite.SUITE_V2).toBe(SUITE_CODES.v2);
    expect(cloister.v1.Suite.SUITE_STATIC_V1).toBe(SUITE_CODES['static-v1']);
    expect(Object.keys(SUITE_CODES).sort()).toEqual([...SUITES].sort());
    // What the decoder accepts, crypto can verify: same list size, numbers within int32.
    expect(FIELD_LIMITS.wireSuiteEntries).toBe(MAX_SUITE_ENTRIES);
    expect(MAX_SUITE_CODE).toBe(2 ** 31 - 1);
  });

  it('isSuite knows exactly the suites', () => {
    expect(SUITES.every(isSuite)).toBe(true);
    expect([undefined, 'v1', 'static-v2', 2, null].some(isSuite)).toBe(false);
  });
});

describe('negotiateSuite', () => {
  it.each<[string, Suite[], Suite[], Suite]>([
    ['both support both', ['v2', 'static-v1'], ['v2', 'static-v1'], 'v2'],
    ['order of the lists does not matter', ['static-v1', 'v2'], ['static-v1', 'v2'], 'v2'],
    ['peer supports only v2', ['v2', 'static-v1'], ['v2'], 'v2'],
    ['peer signed only static-v1', ['v2', 'static-v1'], ['static-v1'], 'static-v1'],
    ['we support only static-v1', ['static-v1'], ['v2', 'static-v1'], 'static-v1'],
    ['both only v2', ['v2'], ['v2'], 'v2'],
  ])('%s', (_name, ours, list, expected) => {
    expect(negotiateSuite(ours, theirs(list))).toBe(expected);
  });

  it.each<[string, Suite[], Suite[]]>([
    ['we only v2, peer only static-v1', ['v2'], ['static-v1']],
    ['we only static-v1, peer only v2', ['static-v1'], ['v2']],
    ['we list nothing', [], ['v2', 'static-v1']],
  ])('throws UnsupportedError when there is no common suite: %s', async (_name, ours, list) => {
    expect(await codeOf(() => negotiateSuite(ours, theirs(list)))).toBe('ERR_UNSUPPORTED');
  });

  it('refuses a suite list that verifyBundleSuites did not return, even a correct one', async () => {
    for (const unverified of [['v2'], [...theirs(['v2', 'static-v1'])], bob.bundle.suites]) {
      const e = await failure(() => negotiateSuite(['v2', 'static-v1'], unverified as VerifiedSuites));
      expect(e.code).toBe('ERR_VALIDATION');
      expect(e.message).toContain('theirs');
    }
  });

  it.each<[string, unknown]>([
    ['unknown suite of ours', ['v3']],
    ['ours not an array', 'v2'],
  ])('rejects ours when it is not a suite list: %s', async (_name, ours) => {
    expect(await codeOf(() => negotiateSuite(ours as Suite[], theirs(['v2'])))).toBe('ERR_VALIDATION');
  });

  it('picks v2 exactly when both support it, static-v1 when only that is shared', () => {
    fc.assert(
      fc.property(fc.subarray([...SUITES]), fc.constantFrom(...LISTS), (ours, list) => {
        const common = ours.filter((s) => list.includes(s));
        const run = () => negotiateSuite(ours, theirs(list));
        if (common.length === 0) expect(run).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
        else expect(run()).toBe(common.includes('v2') ? 'v2' : 'static-v1');
      }),
    );
  });
});

describe('negotiateSuiteForBundle', () => {
  const both = ['v2', 'static-v1'] as const;

  it('picks v2 for a genuine bundle that lists v2', async () => {
    expect(await negotiateSuiteForBundle(p, both, bob.bundle)).toBe('v2');
    expect(await negotiateSuiteForBundle(p, both, decodePreKeyBundle(encodePreKeyBundle(bob.bundle)))).toBe(
      'v2',
    );
  });

  it('picks static-v1 only for a genuinely signed list without v2', async () => {
    const onlyV1 = await signedBundle(['static-v1']);
    expect(await negotiateSuiteForBundle(p, both, onlyV1)).toBe('static-v1');
    expect(await codeOf(() => negotiateSuiteForBundle(p, ['v2'], onlyV1))).toBe('ERR_UNSUPPORTED');
  });

  it('fails with ERR_INVALID_KEY when v2 was removed from the list (downgrade attempt)', async () => {
    const stripped: PreKeyBundle = { ...bob.bundle, suites: ['static-v1'] };
    const e = await failure(() => negotiateSuiteForBundle(p, both, stripped));
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(e.message).toContain('bundle.suitesSignature');
  });

  it('fails with ERR_INVALID_KEY when a server strips SUITE_V2 from the wire bytes', async () => {
    const raw = cloister.v1.PreKeyBundle.decode(encodePreKeyBundle(bob.bundle));
    expect(raw.suites).toEqual([cloister.v1.Suite.SUITE_V2, cloister.v1.Suite.SUITE_STATIC_V1]);
    raw.suites = [cloister.v1.Suite.SUITE_STATIC_V1];
    const tampered = decodePreKeyBundle(cloister.v1.PreKeyBundle.encode(raw).finish());
    expect(tampered.suites).toEqual(['static-v1']);
    const e = await failure(() => negotiateSuiteForBundle(p, both, tampered));
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(e.message).toContain('bundle.suitesSignature');
  });

  it('fails with ERR_INVALID_KEY for an identity other than the expected one', async () => {
    const carol = await makeDevice(p);
    const e = await failure(() =>
      negotiateSuiteForBundle(p, both, bob.bundle, { expectedIdentity: carol.bundle.identity }),
    );
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(e.message).toContain('bundle.identity');
  });

  it('negotiates with a newer peer that signed a suite this version does not know', async () => {
    // The statement of spec/v2-sessions.md section 4.1, built here from the text: the signed
    // prekey id, the time (u64), then the codes ascending.
    const statement = concatBytes(
      utf8('cloister/v2/suites/2'),
      uintBE(bob.bundle.signedPreKey.id, 4),
      uintBE(bob.bundle.suitesIssuedAt, 8),
      Uint8Array.of(3),
      ...[SUITE_CODES.v2, SUITE_CODES['static-v1'], 77].map((c) => uintBE(c, 4)),
    );
    const suitesSignature = await p.ed25519.sign(bob.identity.signingKeyPair.privateKey, statement);
    const raw = cloister.v1.PreKeyBundle.decode(encodePreKeyBundle(bob.bundle));
    raw.suites = [77 as cloister.v1.Suite, cloister.v1.Suite.SUITE_STATIC_V1, cloister.v1.Suite.SUITE_V2];
    raw.suitesSignature = suitesSignature;
    const newer = decodePreKeyBundle(cloister.v1.PreKeyBundle.encode(raw).finish());
    expect(newer.unknownSuiteCodes).toEqual([77]);
    expect(await negotiateSuiteForBundle(p, both, newer)).toBe('v2');
    // Dropping the unknown number (as an older decoder that skipped it would) breaks the signature.
    const { unknownSuiteCodes: _dropped, ...older } = newer;
    expect(await codeOf(() => negotiateSuiteForBundle(p, both, older))).toBe('ERR_INVALID_KEY');
  });

  it('checks ours before verifying anything', async () => {
    expect(await codeOf(() => negotiateSuiteForBundle(p, ['v3' as Suite], bob.bundle))).toBe(
      'ERR_VALIDATION',
    );
  });
});
