/**
 * `test-vectors/v2-suite-lists.json` under every provider: the suite-list statement byte by byte
 * and its signatures, the two bundles of one device, and the bundles every verifier refuses (the
 * retired label-only signature, a list signed for another signed prekey, a changed
 * `suitesIssuedAt`, a signed prekey swapped for an older one, an older bundle replayed to a
 * reader that has seen a newer list).
 */
import { describe, expect, it } from 'vitest';
import { CloisterError, toHex, utf8 } from '../src/index.js';
import { suitesSignedBytes } from '../src/v2/_signed.js';
import {
  deviceId,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  type SuiteName,
  signedPreKeyId,
  V2_LABELS,
  verifyBundleSuites,
  verifyPreKeyBundle,
} from '../src/v2/index.js';
import { PROVIDERS } from './providers.js';
import { hex, loadVectors } from './vectors-load.js';

interface BundleJson {
  registrationId: number;
  deviceId: number;
  identity: { signingKey: string; dhKey: string; dhKeySignature: string };
  signedPreKey: { id: number; publicKey: string; signature: string };
  kemPreKey: { id: number; publicKey: string; lastResort: boolean; signature: string };
  suites: SuiteName[];
  suitesIssuedAt: number;
  suitesSignature: string;
  wire: string;
}

interface SuiteListFile {
  source: { seed: string };
  label: string;
  labelHex: string;
  identity: { signingPrivateKey: string; signingPublicKey: string };
  statements: {
    name: string;
    signedPreKeyId: number;
    issuedAt: number;
    suites: SuiteName[];
    unknownSuiteCodes: number[];
    signedBytes: string;
    signature: string;
  }[];
  bundles: { older: BundleJson; current: BundleJson };
  valid: { name: string; bundle: 'older' | 'current'; newestSuitesIssuedAt?: number; suites: SuiteName[] }[];
  invalid: {
    name: string;
    bundle: BundleJson;
    newestSuitesIssuedAt?: number;
    error: string;
    field: string;
  }[];
}

const file = loadVectors<SuiteListFile>('v2-suite-lists.json');

function bundleFrom(j: BundleJson): PreKeyBundle {
  return {
    registrationId: registrationId(j.registrationId),
    deviceId: deviceId(j.deviceId),
    identity: {
      signingKey: hex(j.identity.signingKey),
      dhKey: hex(j.identity.dhKey),
      dhKeySignature: hex(j.identity.dhKeySignature),
    },
    signedPreKey: {
      id: signedPreKeyId(j.signedPreKey.id),
      publicKey: hex(j.signedPreKey.publicKey),
      signature: hex(j.signedPreKey.signature),
    },
    kemPreKey: {
      id: kemPreKeyId(j.kemPreKey.id),
      publicKey: hex(j.kemPreKey.publicKey),
      lastResort: j.kemPreKey.lastResort,
      signature: hex(j.kemPreKey.signature),
    },
    suites: j.suites,
    suitesIssuedAt: j.suitesIssuedAt,
    suitesSignature: hex(j.suitesSignature),
  };
}

describe('v2-suite-lists.json', () => {
  it('names the label of this version and has every kind of case', () => {
    expect(file.label).toBe(V2_LABELS.suites);
    expect(file.label).toBe('cloister/v2/suites/2');
    expect(file.labelHex).toBe(toHex(utf8(file.label)));
    expect(file.statements.length).toBe(3);
    expect(file.valid.length).toBe(4);
    expect(file.invalid.map((c) => c.name)).toEqual([
      'old-form signature over the same list',
      'old-form static-v1 list',
      'list signed for another signed prekey',
      'suitesIssuedAt changed',
      'signed prekey swapped for an older one',
      'older list moved onto the current signed prekey',
      'older bundle replayed',
    ]);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('v2-suite-lists.json under %s', (_name, p) => {
  it.each(file.statements.map((s) => [s.name, s] as const))('statement: %s', async (name, s) => {
    const bytes = suitesSignedBytes(s.signedPreKeyId, s.issuedAt, s.suites, s.unknownSuiteCodes);
    expect(toHex(bytes), `${name}: signed bytes`).toBe(s.signedBytes);
    // label | u32(signedPreKeyId) | u64(issuedAt) | u8(count) | u32(code)*
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = file.labelHex.length / 2;
    expect(view.getUint32(at), `${name}: signedPreKeyId`).toBe(s.signedPreKeyId);
    expect(view.getUint32(at + 4) * 2 ** 32 + view.getUint32(at + 8), `${name}: issuedAt`).toBe(s.issuedAt);
    expect(view.getUint8(at + 12), `${name}: count`).toBe(s.suites.length + s.unknownSuiteCodes.length);
    expect(bytes.length, `${name}: length`).toBe(
      at + 13 + 4 * (s.suites.length + s.unknownSuiteCodes.length),
    );
    const signature = await p.ed25519.sign(hex(file.identity.signingPrivateKey), bytes);
    expect(toHex(signature), `${name}: signature`).toBe(s.signature);
    expect(await p.ed25519.verify(hex(file.identity.signingPublicKey), bytes, hex(s.signature))).toBe(true);
  });

  it.each(file.valid.map((c) => [c.name, c] as const))('valid: %s', async (name, c) => {
    const bundle = bundleFrom(file.bundles[c.bundle]);
    const options =
      c.newestSuitesIssuedAt === undefined ? {} : { newestSuitesIssuedAt: c.newestSuitesIssuedAt };
    expect([...(await verifyBundleSuites(p, bundle, options))], name).toEqual(c.suites);
    if (c.suites.includes('v2'))
      await expect(verifyPreKeyBundle(p, bundle, options)).resolves.toBeUndefined();
  });

  it.each(file.invalid.map((c) => [c.name, c] as const))('invalid: %s', async (name, c) => {
    const bundle = bundleFrom(c.bundle);
    const options =
      c.newestSuitesIssuedAt === undefined ? {} : { newestSuitesIssuedAt: c.newestSuitesIssuedAt };
    for (const verify of [verifyBundleSuites, verifyPreKeyBundle]) {
      let error: unknown;
      try {
        await verify(p, bundle, options);
      } catch (e) {
        error = e;
      }
      expect(error, `${name} (${verify.name})`).toBeInstanceOf(CloisterError);
      expect((error as CloisterError).code, `${name} (${verify.name})`).toBe(c.error);
      expect((error as CloisterError).message, `${name} (${verify.name})`).toContain(c.field);
    }
  });
});
