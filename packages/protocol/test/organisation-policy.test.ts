/**
 * The client's side of signed policy (spec/organisation-client.md): the archive key fingerprint
 * (checked against an independent SHA-256 and under every provider) and the policy resolver the
 * client applies to the verified layers (the server's rules: locks, the most restrictive pool,
 * retention from the signed `retention` feature).
 */
import { createHash } from 'node:crypto';
import { createNobleProvider, getProvider } from '@cloister/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_KEY_FINGERPRINT_LABEL,
  ARCHIVE_KEY_FINGERPRINT_PREFIX,
  archiveKeyFingerprint,
  policyMessageLifetime,
  resolvePolicyFeatures,
} from '../src/index.js';

const DAY = 86_400_000;

describe('archive key fingerprint', () => {
  it('is the prefix and the base64url of SHA-256(label ‖ key), the same under every provider', async () => {
    const providers = [createNobleProvider(), await getProvider()];
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (key) => {
        const want =
          ARCHIVE_KEY_FINGERPRINT_PREFIX +
          createHash('sha256')
            .update(Buffer.concat([Buffer.from(ARCHIVE_KEY_FINGERPRINT_LABEL), key]))
            .digest('base64url');
        for (const p of providers) expect(await archiveKeyFingerprint(p, key)).toBe(want);
      }),
      { numRuns: 20 },
    );
    expect(ARCHIVE_KEY_FINGERPRINT_LABEL).toBe('cloister/v1/org/archive-key-fingerprint');
    expect(await archiveKeyFingerprint(providers[0]!, new Uint8Array(32))).toMatch(
      /^cloister-archive:v1:[A-Za-z0-9_-]{43}$/,
    );
  });

  it('refuses a key that is not 32 bytes', async () => {
    const p = createNobleProvider();
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'key' as unknown as Uint8Array]) {
      await expect(archiveKeyFingerprint(p, bad)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    }
  });
});

describe('policy resolution from signed layers', () => {
  it('follows locks, lets the most restrictive pool win, and leaves retention out of the features', () => {
    const features = resolvePolicyFeatures({
      tenant: {
        'files.send': { enabled: false, locked: true },
        archive: { enabled: true, locked: true, config: { publicKey: 'k' } },
        retention: { enabled: true, locked: false },
      },
      pools: [
        { 'clipboard.copy': { enabled: true, locked: false, config: { a: 1 } } },
        { 'clipboard.copy': { enabled: false, locked: false, config: { b: 2 } } },
      ],
      user: {
        'files.send': { enabled: true, locked: false },
        archive: { enabled: false, locked: false },
        'clipboard.copy': { enabled: true, locked: false },
        extra: { enabled: false, locked: false },
      },
    });
    expect(features).toEqual({
      archive: { enabled: true, config: { publicKey: 'k' } },
      'clipboard.copy': { enabled: true },
      extra: { enabled: false },
      'files.send': { enabled: false },
    });
    // A lock in one pool locks it against the user layer.
    expect(
      resolvePolicyFeatures({
        pools: [{ x: { enabled: true, locked: true } }, { x: { enabled: true, locked: false } }],
        user: { x: { enabled: false, locked: false } },
      }).x,
    ).toEqual({ enabled: true });
  });

  it('takes the message lifetime from the tenant and user retention rules, a lock holding', () => {
    const rule = (ms: number | null, locked = false) => ({
      enabled: true,
      locked,
      config: { rules: { 'message.device': { maxLifetimeMs: ms } } },
    });
    expect(policyMessageLifetime({ pools: [] })).toBeNull();
    expect(policyMessageLifetime({ tenant: { retention: rule(30 * DAY) }, pools: [] })).toBe(30 * DAY);
    expect(
      policyMessageLifetime({
        tenant: { retention: rule(30 * DAY, true) },
        pools: [],
        user: { retention: rule(90 * DAY) },
      }),
    ).toBe(30 * DAY);
    expect(
      policyMessageLifetime({
        tenant: { retention: rule(30 * DAY) },
        pools: [],
        user: { retention: rule(DAY) },
      }),
    ).toBe(DAY);
    // Pool layers are not consulted, a disabled feature says nothing, a malformed layer is left out.
    expect(policyMessageLifetime({ pools: [{ retention: rule(DAY) }] })).toBeNull();
    expect(
      policyMessageLifetime({ tenant: { retention: { ...rule(DAY), enabled: false } }, pools: [] }),
    ).toBeNull();
    expect(
      policyMessageLifetime({
        tenant: { retention: rule(30 * DAY) },
        pools: [],
        user: {
          retention: {
            enabled: true,
            locked: false,
            config: { rules: { 'message.device': { maxLifetimeMs: -5 } } },
          },
        },
      }),
    ).toBe(30 * DAY);
    expect(
      policyMessageLifetime({
        tenant: { retention: { enabled: true, locked: false, config: 'junk' } },
        pools: [],
      }),
    ).toBeNull();
  });
});
