/**
 * Suite lists bound to the signed prekey and the time they were issued, on the wire:
 * `test-vectors/v2-suite-lists.json` decoded and encoded byte for byte, negotiation refusing a
 * replayed older list and every forged bundle of the file (under every provider), and the field
 * `suites_issued_at_ms` required by the decoder.
 */
import { readFileSync } from 'node:fs';
import {
  type CryptoProvider,
  createNobleProvider,
  createWebCryptoProvider,
  DecodeError,
  fromHex,
  generateSignedPreKey,
  type PreKeyBundle,
  type SuiteName,
  signedPreKeyId,
  signSuites,
  toHex,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import { decodePreKeyBundle, encodePreKeyBundle, negotiateSuiteForBundle } from '../src/index.js';
import { makeDevice } from './v2-fixtures.js';

const PROVIDERS: readonly CryptoProvider[] = [
  createNobleProvider(),
  createNodeProvider(),
  createWebCryptoProvider(),
];

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
  bundles: { older: BundleJson; current: BundleJson };
  valid: { name: string; bundle: 'older' | 'current'; newestSuitesIssuedAt?: number; suites: SuiteName[] }[];
  invalid: {
    name: string;
    bundle: BundleJson;
    newestSuitesIssuedAt?: number;
    error: string;
    field: string;
  }[];
  undecodable: { name: string; wire: string; field: string }[];
}

const file = JSON.parse(
  readFileSync(new URL('../../../test-vectors/v2-suite-lists.json', import.meta.url), 'utf8'),
) as SuiteListFile;

const h = (s: string) => fromHex(s, 'vector');

/** The fields of a vector bundle as hex, the way the decoded domain object shows them. */
function shown(b: PreKeyBundle) {
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
  };
}

const allBundles: [string, BundleJson][] = [
  ['older', file.bundles.older],
  ['current', file.bundles.current],
  ...file.invalid.map((c) => [c.name, c.bundle] as [string, BundleJson]),
];

describe('v2-suite-lists.json on the wire', () => {
  it.each(allBundles)('decodes and re-encodes %s byte for byte', (name, j) => {
    const decoded = decodePreKeyBundle(h(j.wire));
    const { wire: _wire, ...fields } = j;
    expect(shown(decoded), name).toEqual(fields);
    expect(toHex(encodePreKeyBundle(decoded)), name).toBe(j.wire);
  });

  it.each(file.undecodable.map((c) => [c.name, c] as const))('refuses to decode: %s', (name, c) => {
    let error: unknown;
    try {
      decodePreKeyBundle(h(c.wire));
    } catch (e) {
      error = e;
    }
    expect(error, name).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).message, name).toContain(c.field);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'suite negotiation with bound lists under %s',
  (_n, p) => {
    const both = ['v2', 'static-v1'] as const;

    it.each(file.valid.map((c) => [c.name, c] as const))('negotiates: %s', async (name, c) => {
      const bundle = decodePreKeyBundle(h(file.bundles[c.bundle].wire));
      const options =
        c.newestSuitesIssuedAt === undefined ? {} : { newestSuitesIssuedAt: c.newestSuitesIssuedAt };
      expect(await negotiateSuiteForBundle(p, both, bundle, options), name).toBe(
        c.suites.includes('v2') ? 'v2' : 'static-v1',
      );
    });

    it.each(file.invalid.map((c) => [c.name, c] as const))(
      'refuses, never falling back: %s',
      async (name, c) => {
        const bundle = decodePreKeyBundle(h(c.bundle.wire));
        const options =
          c.newestSuitesIssuedAt === undefined ? {} : { newestSuitesIssuedAt: c.newestSuitesIssuedAt };
        let error: { code?: string; message?: string } = {};
        try {
          await negotiateSuiteForBundle(p, both, bundle, options);
        } catch (e) {
          error = e as typeof error;
        }
        expect(error.code, name).toBe(c.error);
        expect(error.message, name).toContain(c.field);
      },
    );

    it('refuses a replayed static-v1 bundle once a newer list with v2 was seen, and its prekey swapped back', async () => {
      // Older: signed prekey 1, static-v1 only, issued at T. Current: signed prekey 2, v2, later.
      const bob = await makeDevice(p, ['static-v1']);
      const older = bob.bundle;
      const spk2 = await generateSignedPreKey(p, bob.identity, signedPreKeyId(2));
      const later = older.suitesIssuedAt + 60_000;
      const current: PreKeyBundle = {
        ...older,
        signedPreKey: toSignedPreKeyPublic(spk2),
        suites: ['v2', 'static-v1'],
        suitesIssuedAt: later,
        suitesSignature: await signSuites(p, bob.identity, ['v2', 'static-v1'], {
          signedPreKeyId: spk2.id,
          issuedAt: later,
        }),
      };
      const wire = (b: PreKeyBundle) => decodePreKeyBundle(encodePreKeyBundle(b));
      expect(await negotiateSuiteForBundle(p, both, wire(current))).toBe('v2');
      // Without the newest time the older bundle still verifies: it is a genuine old statement.
      expect(await negotiateSuiteForBundle(p, both, wire(older))).toBe('static-v1');
      const seen = { newestSuitesIssuedAt: current.suitesIssuedAt };
      const replay = await negotiateSuiteForBundle(p, both, wire(older), seen).catch((e: Error) => e);
      expect(replay).toMatchObject({ code: 'ERR_INVALID_KEY' });
      expect((replay as Error).message).toContain('bundle.suitesIssuedAt');
      // The current list on the older signed prekey, or the older list on the current one.
      for (const forged of [
        { ...current, signedPreKey: older.signedPreKey },
        {
          ...current,
          suites: older.suites,
          suitesIssuedAt: older.suitesIssuedAt,
          suitesSignature: older.suitesSignature,
        },
      ]) {
        const e = await negotiateSuiteForBundle(p, both, wire(forged)).catch((x: Error) => x);
        expect(e).toMatchObject({ code: 'ERR_INVALID_KEY' });
        expect((e as Error).message).toContain('bundle.suitesSignature');
      }
    });
  },
);
