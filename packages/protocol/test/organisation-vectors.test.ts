/**
 * `test-vectors/organisation.json` (spec/organisation.md) under every provider: the root
 * fingerprint, every certificate's signed bytes and signature, every object verifies against the
 * pinned root and re-encodes to its signed bytes, and every object to refuse is refused with the
 * stated code.
 */
import { readFileSync } from 'node:fs';
import { type CryptoProvider, createNobleProvider, createWebCryptoProvider, toHex } from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import {
  adminCertificateSignedBytes,
  decodeAdminCertificate,
  decodeOrganisationObject,
  ORGANISATION_PERMISSIONS,
  organisationObjectSignedBytes,
  rootFingerprint,
  tenantId,
  verifyAdminCertificate,
  verifyOrganisationObject,
} from '../src/index.js';

const PROVIDERS: readonly CryptoProvider[] = [
  createNobleProvider(),
  createNodeProvider(),
  createWebCryptoProvider(),
];

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/organisation.json', import.meta.url), 'utf8'),
) as {
  meta: { tenant: string; now: number; permissions: unknown };
  root: { publicKey: string; fingerprint: string; operatorFingerprint: string };
  keys: Record<string, { publicKey: string }>;
  certificates: { name: string; signer: string; role: string; signedBytes: string; bytes: string }[];
  objects: { name: string; kind: string; signedBytes: string; bytes: string; payloadBytes: string }[];
  refuse: { name: string; bytes: string; newestSequence?: number; error: string }[];
};
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const tenant = tenantId(vectors.meta.tenant);
const verify = { tenant, now: vectors.meta.now, rootPublicKey: hex(vectors.root.publicKey) };

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('organisation.json under %s', (_name, provider) => {
  it('the root fingerprints and the permission matrix', async () => {
    expect(await rootFingerprint(provider, verify.rootPublicKey)).toBe(vectors.root.fingerprint);
    expect(await rootFingerprint(provider, hex(vectors.keys['operator-root']?.publicKey ?? ''))).toBe(
      vectors.root.operatorFingerprint,
    );
    expect(vectors.meta.permissions).toEqual(ORGANISATION_PERMISSIONS);
  });

  it(`${vectors.certificates.length} certificates decode to their signed bytes and verify under their signer`, async () => {
    for (const c of vectors.certificates) {
      const cert = decodeAdminCertificate(hex(c.bytes));
      expect(cert.role, c.name).toBe(c.role);
      expect(toHex(adminCertificateSignedBytes(cert)), c.name).toBe(c.signedBytes);
      const signer =
        c.signer === 'root' ? verify.rootPublicKey : hex(vectors.keys[c.signer]?.publicKey ?? '');
      const validAt = c.name === 'admin-expired' ? [cert.issuedAtMs] : [vectors.meta.now];
      await expect(
        verifyAdminCertificate(provider, cert, { rootPublicKey: signer, tenant, validAt }),
        c.name,
      ).resolves.toBeUndefined();
    }
  });

  it(`${vectors.objects.length} objects verify against the pinned root and re-encode to their signed bytes`, async () => {
    for (const o of vectors.objects) {
      const object = await verifyOrganisationObject(provider, hex(o.bytes), verify);
      expect(object.kind, o.name).toBe(o.kind);
      expect(toHex(object.payloadBytes), o.name).toBe(o.payloadBytes);
      expect(toHex(organisationObjectSignedBytes(object.certificate.bytes, object)), o.name).toBe(
        o.signedBytes,
      );
      expect(decodeOrganisationObject(hex(o.bytes)).sequence, o.name).toBe(object.sequence);
    }
  });

  it(`${vectors.refuse.length} objects to refuse are refused with the stated code`, async () => {
    expect(vectors.refuse.length).toBe(19);
    for (const c of vectors.refuse) {
      const options =
        c.newestSequence === undefined ? verify : { ...verify, newestSequence: c.newestSequence };
      await expect(verifyOrganisationObject(provider, hex(c.bytes), options), c.name).rejects.toMatchObject({
        code: c.error,
      });
    }
  });
});
