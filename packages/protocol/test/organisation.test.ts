/**
 * The organisation's trust chain (spec/organisation.md): root fingerprints, administrator
 * certificates, signed organisation objects of every kind, the permission matrix, every rejection
 * of verifyOrganisationObject, and the tests that play the operator (issue 14): an operator that
 * signs a policy, an archive key, a wipe, a broadcast or a sender-certificate delegation with a
 * root or administrator key of its own cannot make a client that pinned the real root accept it.
 */
import {
  concatBytes,
  createNobleProvider,
  deviceId,
  generateDeviceIdentity,
  type KeyPair,
  toPublicIdentity,
  utf8,
} from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ROLES,
  type AdminCertificateBody,
  type AdminRole,
  canonicalJsonBytes,
  decodeAdminCertificate,
  decodeOrganisationObject,
  delegationCovers,
  equalRootFingerprints,
  issueAdminCertificate,
  maySign,
  ORGANISATION_OBJECT_KINDS,
  ORGANISATION_OBJECT_LABELS,
  ORGANISATION_PERMISSIONS,
  type OrganisationObjectBody,
  type OrganisationObjectKind,
  organisationObjectScope,
  organisationObjectSignedBytes,
  parseCanonicalJson,
  parseRootFingerprint,
  poolId,
  rootFingerprint,
  rootMatchesFingerprint,
  signOrganisationObject,
  tenantId,
  userId,
  verifyAdminCertificate,
  verifyOrganisationObject,
} from '../src/index.js';

const provider = createNobleProvider();
const tenant = tenantId('acme');
const T0 = 1_780_000_000_000;
const DAY = 86_400_000;
const NOW = T0 + DAY;
const ARCHIVE_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';

let serial = 1;
async function certify(root: KeyPair, role: AdminRole, over: Partial<AdminCertificateBody> = {}) {
  const key = await provider.ed25519.generateKeyPair();
  const body: AdminCertificateBody = {
    tenant,
    admin: `${role}-1`,
    adminPublicKey: key.publicKey,
    role,
    issuedAtMs: T0,
    expiresAtMs: T0 + 90 * DAY,
    serial: serial++,
    ...over,
  };
  return { key, certificate: await issueAdminCertificate(provider, root.privateKey, body) };
}

/** One object of each kind, issued at NOW - 1 minute with sequence 5. */
async function objectOf(kind: OrganisationObjectKind, over: Partial<OrganisationObjectBody> = {}) {
  const base = { tenant, issuedAtMs: NOW - 60_000, sequence: 5 };
  const identity = toPublicIdentity(await generateDeviceIdentity(provider));
  const bodies: { [K in OrganisationObjectKind]: OrganisationObjectBody } = {
    'policy-layer': {
      ...base,
      kind: 'policy-layer',
      payload: {
        layer: 'tenant',
        target: null,
        document: {
          archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } },
          'files.send': { enabled: false, locked: true },
        },
      },
    },
    wipe: {
      ...base,
      kind: 'wipe',
      payload: { user: userId('alice'), deviceId: deviceId(2), commandId: new Uint8Array(16).fill(7) },
    },
    broadcast: {
      ...base,
      kind: 'broadcast',
      payload: {
        broadcastId: new Uint8Array(16).fill(3),
        audience: { kind: 'pools', pools: [poolId('ward-3'), poolId('ward-4')] },
        text: 'Fire drill at 10:00 — leave by the east stairs.',
      },
    },
    'pool-rules': {
      ...base,
      kind: 'pool-rules',
      payload: {
        rules: [
          { pool: poolId('board'), mayContact: [poolId('staff')] },
          { pool: poolId('staff'), mayContact: [] },
        ],
      },
    },
    'device-admission': {
      ...base,
      kind: 'device-admission',
      payload: { user: userId('alice'), deviceId: deviceId(4), identity },
    },
    'certificate-delegation': {
      ...base,
      kind: 'certificate-delegation',
      payload: {
        serverSigningPublicKey: new Uint8Array(32).fill(9),
        notBeforeMs: NOW - DAY,
        notAfterMs: NOW + 6 * DAY,
      },
    },
  };
  return { ...bodies[kind], ...over } as OrganisationObjectBody;
}

/** Signs without the signer's checks (role, kind rules): what a dishonest signer could produce. */
async function forceSign(key: KeyPair, certificate: Uint8Array, object: OrganisationObjectBody) {
  const signed = organisationObjectSignedBytes(certificate, object);
  const label = utf8(ORGANISATION_OBJECT_LABELS[object.kind]).length;
  return concatBytes(signed.subarray(label), await provider.ed25519.sign(key.privateKey, signed));
}

async function setup() {
  const root = await provider.ed25519.generateKeyPair();
  const owner = await issueAdminCertificate(provider, root.privateKey, {
    tenant,
    admin: 'founder',
    adminPublicKey: root.publicKey,
    role: 'owner',
    issuedAtMs: T0,
    expiresAtMs: T0 + 365 * DAY,
    serial: serial++,
  });
  const admins = Object.fromEntries(
    await Promise.all(ADMIN_ROLES.map(async (role) => [role, await certify(root, role)] as const)),
  ) as Record<AdminRole, { key: KeyPair; certificate: Uint8Array }>;
  const opts = { rootPublicKey: root.publicKey, tenant, now: NOW };
  return { root, owner, admins, opts };
}

const code = (c: string) => ({ code: c });

describe('root fingerprint', () => {
  it('is cloister-root:v1: and 43 base64url characters, parses back and compares', async () => {
    const root = await provider.ed25519.generateKeyPair();
    const other = await provider.ed25519.generateKeyPair();
    const text = await rootFingerprint(provider, root.publicKey);
    expect(text).toMatch(/^cloister-root:v1:[A-Za-z0-9_-]{43}$/);
    const digest = parseRootFingerprint(text);
    expect(digest.length).toBe(32);
    const expected = await provider.sha256(
      concatBytes(utf8('cloister/v1/org/root-fingerprint'), Uint8Array.of(1), root.publicKey),
    );
    expect(digest).toEqual(expected);
    expect(equalRootFingerprints(text, digest)).toBe(true);
    expect(equalRootFingerprints(text, await rootFingerprint(provider, other.publicKey))).toBe(false);
    expect(await rootMatchesFingerprint(provider, root.publicKey, text)).toBe(true);
    expect(await rootMatchesFingerprint(provider, other.publicKey, text)).toBe(false);
  });

  it('refuses malformed texts with ERR_VALIDATION', async () => {
    const text = await rootFingerprint(provider, (await provider.ed25519.generateKeyPair()).publicKey);
    const tail = text.slice(-43);
    const last = tail.at(-1) as string;
    const spareBitsSet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last) | 1;
    const bad = [
      `cloister-root:v2:${tail}`,
      `cloister-root:v1:${tail.slice(1)}`,
      `cloister-root:v1:${tail}=`,
      `cloister-root:v1:${tail.slice(0, 42)}+`,
      `cloister-root:v1:${tail.slice(0, 42)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[spareBitsSet]}`,
      tail,
      '',
    ];
    for (const b of bad)
      expect(() => parseRootFingerprint(b), b).toThrow(expect.objectContaining(code('ERR_VALIDATION')));
  });
});

describe('administrator certificates', () => {
  it('round-trips and verifies against the root; an owner may be self-issued', async () => {
    const { root, owner, admins } = await setup();
    const cert = decodeAdminCertificate(admins.admin.certificate);
    expect(cert).toMatchObject({
      tenant,
      admin: 'admin-1',
      role: 'admin',
      issuedAtMs: T0,
      expiresAtMs: T0 + 90 * DAY,
    });
    expect(cert.bytes).toEqual(admins.admin.certificate);
    await verifyAdminCertificate(provider, cert, { rootPublicKey: root.publicKey, tenant, validAt: [NOW] });
    const self = decodeAdminCertificate(owner);
    expect(self.adminPublicKey).toEqual(root.publicKey);
    await verifyAdminCertificate(provider, self, { rootPublicKey: root.publicKey, tenant, validAt: [NOW] });
  });

  it('refuses to certify the root key in another role than owner, and bad validity', async () => {
    const root = await provider.ed25519.generateKeyPair();
    const body: AdminCertificateBody = {
      tenant,
      admin: 'x',
      adminPublicKey: root.publicKey,
      role: 'admin',
      issuedAtMs: T0,
      expiresAtMs: T0 + DAY,
      serial: 1,
    };
    await expect(issueAdminCertificate(provider, root.privateKey, body)).rejects.toMatchObject(
      code('ERR_VALIDATION'),
    );
    for (const over of [{ expiresAtMs: T0 }, { expiresAtMs: T0 + 401 * DAY }, { serial: 0 }, { admin: '' }]) {
      await expect(
        issueAdminCertificate(provider, root.privateKey, { ...body, role: 'owner', ...over }),
      ).rejects.toMatchObject(code('ERR_VALIDATION'));
    }
  });

  it('refuses truncation at every length, trailing bytes, an unknown role and suite', async () => {
    const { admins } = await setup();
    const c = admins.auditor.certificate;
    for (let n = 0; n < c.length; n++)
      expect(() => decodeAdminCertificate(c.subarray(0, n)), `${n}`).toThrow(
        expect.objectContaining(code('ERR_DECODE')),
      );
    expect(() => decodeAdminCertificate(concatBytes(c, Uint8Array.of(0)))).toThrow(
      expect.objectContaining(code('ERR_DECODE')),
    );
    const suite = c.slice();
    suite[1] = 2;
    expect(() => decodeAdminCertificate(suite)).toThrow(
      expect.objectContaining({ path: 'certificate.suite' }),
    );
    const role = c.slice();
    role[3 + tenant.length + 1 + 'auditor-1'.length + 32] = 6;
    expect(() => decodeAdminCertificate(role)).toThrow(expect.objectContaining({ path: 'certificate.role' }));
  });
});

describe('signed organisation objects', () => {
  it('every kind round-trips and verifies against the pinned root', async () => {
    const { owner, root, opts } = await setup();
    for (const kind of ORGANISATION_OBJECT_KINDS) {
      const body = await objectOf(kind);
      const bytes = await signOrganisationObject(provider, root.privateKey, owner, body);
      const decoded = decodeOrganisationObject(bytes);
      expect(decoded.kind, kind).toBe(kind);
      expect(decoded.payload, kind).toEqual(body.payload);
      const verified = await verifyOrganisationObject(provider, bytes, opts);
      expect(verified.bytes, kind).toEqual(bytes);
      expect(verified.certificate.admin, kind).toBe('founder');
      expect(organisationObjectSignedBytes(owner, verified), kind).toEqual(
        concatBytes(utf8(ORGANISATION_OBJECT_LABELS[kind]), bytes.subarray(0, bytes.length - 64)),
      );
    }
  });

  it('applies the permission matrix: every role × kind signs and verifies exactly as ORGANISATION_PERMISSIONS says', async () => {
    const { admins, opts } = await setup();
    expect(ORGANISATION_PERMISSIONS).toEqual({
      'policy-layer': ['owner', 'admin'],
      wipe: ['owner', 'admin'],
      broadcast: ['owner', 'admin', 'user-manager'],
      'pool-rules': ['owner', 'admin'],
      'device-admission': ['owner', 'admin', 'user-manager', 'integration'],
      'certificate-delegation': ['owner'],
    });
    for (const role of ADMIN_ROLES) {
      for (const kind of ORGANISATION_OBJECT_KINDS) {
        const { key, certificate } = admins[role];
        const body = await objectOf(kind);
        const name = `${role} signs ${kind}`;
        if (maySign(role, kind)) {
          const bytes = await signOrganisationObject(provider, key.privateKey, certificate, body);
          await expect(verifyOrganisationObject(provider, bytes, opts), name).resolves.toMatchObject({
            kind,
          });
        } else {
          await expect(
            signOrganisationObject(provider, key.privateKey, certificate, body),
            name,
          ).rejects.toMatchObject(code('ERR_FORBIDDEN'));
          const forced = await forceSign(key, certificate, body);
          await expect(verifyOrganisationObject(provider, forced, opts), name).rejects.toMatchObject(
            code('ERR_FORBIDDEN'),
          );
        }
      }
    }
    expect(ORGANISATION_OBJECT_KINDS.some((k) => maySign('auditor', k))).toBe(false);
  });

  it('the signer refuses a key that is not the certified one and another tenant', async () => {
    const { admins } = await setup();
    const stranger = await provider.ed25519.generateKeyPair();
    await expect(
      signOrganisationObject(provider, stranger.privateKey, admins.admin.certificate, await objectOf('wipe')),
    ).rejects.toMatchObject(code('ERR_INVALID_KEY'));
    await expect(
      signOrganisationObject(
        provider,
        admins.admin.key.privateKey,
        admins.admin.certificate,
        await objectOf('wipe', { tenant: tenantId('globex') }),
      ),
    ).rejects.toMatchObject(code('ERR_VALIDATION'));
  });

  it('refuses a non-tenant policy layer that names archive (ERR_FORBIDDEN), in the signer and the verifier', async () => {
    const { admins, opts } = await setup();
    const { key, certificate } = admins.admin;
    for (const layer of ['pool', 'group', 'user'] as const) {
      for (const enabled of [true, false]) {
        const body = await objectOf('policy-layer', {
          payload: {
            layer,
            target: 'alice',
            document: {
              archive: enabled
                ? { enabled, locked: false, config: { publicKey: ARCHIVE_KEY } }
                : { enabled, locked: false },
            },
          },
        } as Partial<OrganisationObjectBody>);
        await expect(
          signOrganisationObject(provider, key.privateKey, certificate, body),
        ).rejects.toMatchObject(code('ERR_FORBIDDEN'));
        await expect(
          verifyOrganisationObject(provider, await forceSign(key, certificate, body), opts),
        ).rejects.toMatchObject(code('ERR_FORBIDDEN'));
      }
    }
    // A user layer without archive is fine; a tenant archive without a 32-byte key is malformed.
    const plain = await objectOf('policy-layer', {
      payload: {
        layer: 'user',
        target: 'alice',
        document: { 'files.send': { enabled: false, locked: false } },
      },
    } as Partial<OrganisationObjectBody>);
    await verifyOrganisationObject(
      provider,
      await signOrganisationObject(provider, key.privateKey, certificate, plain),
      opts,
    );
    const noKey = await objectOf('policy-layer', {
      payload: { layer: 'tenant', target: null, document: { archive: { enabled: true, locked: true } } },
    } as Partial<OrganisationObjectBody>);
    await expect(signOrganisationObject(provider, key.privateKey, certificate, noKey)).rejects.toMatchObject(
      code('ERR_VALIDATION'),
    );
  });

  it('refuses every broken chain, a tenant mismatch, an expired certificate and an older sequence', async () => {
    const { root, admins, opts } = await setup();
    const { key, certificate } = admins.admin;
    const wipe = await objectOf('wipe');
    const good = await signOrganisationObject(provider, key.privateKey, certificate, wipe);

    // An administrator certificate signed by a key that is not the pinned root (the admin's own).
    const selfMade = await issueAdminCertificate(provider, key.privateKey, {
      ...decodeAdminCertificate(certificate),
      role: 'owner',
    });
    await expect(
      verifyOrganisationObject(
        provider,
        await signOrganisationObject(provider, key.privateKey, selfMade, wipe),
        opts,
      ),
    ).rejects.toMatchObject(code('ERR_INVALID_KEY'));

    // Another tenant: the client's tenant is not the object's; the certificate's tenant is not the object's.
    await expect(
      verifyOrganisationObject(provider, good, { ...opts, tenant: tenantId('globex') }),
    ).rejects.toMatchObject(code('ERR_INVALID_KEY'));
    const globex = await certify(root, 'admin', { tenant: tenantId('globex') });
    await expect(
      verifyOrganisationObject(provider, await forceSign(globex.key, globex.certificate, wipe), opts),
    ).rejects.toMatchObject(code('ERR_INVALID_KEY'));

    // Expired at now; not yet valid when the object was issued; object issued in the future.
    const short = await certify(root, 'admin', { issuedAtMs: T0, expiresAtMs: NOW - 1 });
    await expect(
      verifyOrganisationObject(
        provider,
        await forceSign(short.key, short.certificate, await objectOf('wipe', { issuedAtMs: T0 + 1 })),
        opts,
      ),
    ).rejects.toThrow(/certificate.expiresAtMs/);
    const late = await certify(root, 'admin', { issuedAtMs: NOW - 1000 });
    await expect(
      verifyOrganisationObject(
        provider,
        await signOrganisationObject(provider, late.key.privateKey, late.certificate, wipe),
        opts,
      ),
    ).rejects.toThrow(/certificate.issuedAtMs/);
    await expect(
      verifyOrganisationObject(
        provider,
        await signOrganisationObject(
          provider,
          key.privateKey,
          certificate,
          await objectOf('wipe', { issuedAtMs: NOW + 6 * 60_000 }),
        ),
        opts,
      ),
    ).rejects.toThrow(/object.issuedAtMs/);

    // Sequence: older refused, equal and newer accepted.
    await expect(verifyOrganisationObject(provider, good, { ...opts, newestSequence: 6 })).rejects.toThrow(
      /object.sequence/,
    );
    await verifyOrganisationObject(provider, good, { ...opts, newestSequence: 5 });
    await verifyOrganisationObject(provider, good, { ...opts, newestSequence: 4 });
  });

  it('refuses altered bytes, trailing bytes, truncation at every length and unknown version, suite or kind', async () => {
    const { admins, opts } = await setup();
    const { key, certificate } = admins.admin;
    const good = await signOrganisationObject(provider, key.privateKey, certificate, await objectOf('wipe'));
    // The commandId is the payload's last 16 bytes, just before the certificate length.
    const at = good.length - 64 - certificate.length - 2 - 1;
    const altered = good.slice();
    altered[at] = (altered[at] as number) ^ 1;
    await expect(verifyOrganisationObject(provider, altered, opts)).rejects.toThrow(/object.signature/);
    const sig = good.slice();
    sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 1;
    await expect(verifyOrganisationObject(provider, sig, opts)).rejects.toMatchObject(
      code('ERR_INVALID_KEY'),
    );
    await expect(
      verifyOrganisationObject(provider, concatBytes(good, Uint8Array.of(0)), opts),
    ).rejects.toMatchObject(code('ERR_DECODE'));
    for (let n = 0; n < good.length; n++) {
      await expect(
        verifyOrganisationObject(provider, good.subarray(0, n), opts),
        `${n}`,
      ).rejects.toMatchObject(code('ERR_DECODE'));
    }
    for (const [i, v, path] of [
      [0, 2, 'object.version'],
      [1, 2, 'object.suite'],
      [2, 7, 'object.kind'],
      [2, 0, 'object.kind'],
    ] as const) {
      const b = good.slice();
      b[i] = v;
      expect(() => decodeOrganisationObject(b), path).toThrow(expect.objectContaining({ path }));
    }
    // Another kind byte on the same bytes: the payload no longer parses, or the label differs.
    const asBroadcast = good.slice();
    asBroadcast[2] = 3;
    await expect(verifyOrganisationObject(provider, asBroadcast, opts)).rejects.toMatchObject(
      code('ERR_DECODE'),
    );
  });

  it('refuses a policy document that is not canonical JSON', async () => {
    const { admins } = await setup();
    const { key, certificate } = admins.admin;
    const body = await objectOf('policy-layer', {
      payload: {
        layer: 'user',
        target: 'alice',
        document: { 'files.send': { enabled: true, locked: false } },
      },
    } as Partial<OrganisationObjectBody>);
    const good = await signOrganisationObject(provider, key.privateKey, certificate, body);
    const text = Buffer.from(good).toString('latin1');
    const swapped = text.replace('{"enabled":true,"locked":false}', '{"locked":false,"enabled":true}');
    expect(swapped).not.toBe(text);
    expect(() => decodeOrganisationObject(Uint8Array.from(Buffer.from(swapped, 'latin1')))).toThrow(
      expect.objectContaining({ path: 'payload.document' }),
    );
    const spaced = text.replace('"enabled":true,', '"enabled":true ');
    expect(() => decodeOrganisationObject(Uint8Array.from(Buffer.from(spaced, 'latin1')))).toThrow(
      expect.objectContaining({ code: 'ERR_DECODE' }),
    );
  });

  it('refuses an admission whose identity is not self-signed, and an expired or too long delegation', async () => {
    const { root, owner, opts } = await setup();
    const admission = await objectOf('device-admission');
    if (admission.kind !== 'device-admission') throw new Error('kind');
    const badIdentity = { ...admission.payload.identity, dhKeySignature: new Uint8Array(64).fill(1) };
    await expect(
      signOrganisationObject(provider, root.privateKey, owner, {
        ...admission,
        payload: { ...admission.payload, identity: badIdentity },
      }),
    ).rejects.toMatchObject(code('ERR_INVALID_KEY'));
    const delegation = await objectOf('certificate-delegation');
    if (delegation.kind !== 'certificate-delegation') throw new Error('kind');
    const expired = await signOrganisationObject(provider, root.privateKey, owner, {
      ...delegation,
      payload: { ...delegation.payload, notBeforeMs: NOW - 3 * DAY, notAfterMs: NOW },
    });
    await expect(verifyOrganisationObject(provider, expired, opts)).rejects.toThrow(/payload.notAfterMs/);
    await expect(
      signOrganisationObject(provider, root.privateKey, owner, {
        ...delegation,
        payload: { ...delegation.payload, notAfterMs: delegation.payload.notBeforeMs + 7 * DAY + 1 },
      }),
    ).rejects.toMatchObject(code('ERR_VALIDATION'));
    const ok = await verifyOrganisationObject(
      provider,
      await signOrganisationObject(provider, root.privateKey, owner, delegation),
      opts,
    );
    if (ok.kind !== 'certificate-delegation') throw new Error('kind');
    expect(delegationCovers(ok.payload, new Uint8Array(32).fill(9), NOW)).toBe(true);
    expect(delegationCovers(ok.payload, new Uint8Array(32).fill(8), NOW)).toBe(false);
    expect(delegationCovers(ok.payload, new Uint8Array(32).fill(9), NOW + 6 * DAY)).toBe(false);
  });

  it('names the scope of each kind', async () => {
    const scopes = await Promise.all(
      ORGANISATION_OBJECT_KINDS.map(async (k) => organisationObjectScope(await objectOf(k))),
    );
    expect(scopes).toEqual([
      'policy-layer/tenant',
      'wipe/alice/2',
      'broadcast',
      'pool-rules',
      'device-admission/alice',
      'certificate-delegation',
    ]);
  });

  it('canonical JSON: sorted names, no whitespace, integers only', () => {
    expect(new TextDecoder().decode(canonicalJsonBytes({ b: 1, a: [true, null, 'é\n'] }))).toBe(
      '{"a":[true,null,"é\\n"],"b":1}',
    );
    expect(() => canonicalJsonBytes({ a: 1.5 })).toThrow(expect.objectContaining(code('ERR_VALIDATION')));
    expect(() => canonicalJsonBytes({ a: -0 })).toThrow(expect.objectContaining(code('ERR_VALIDATION')));
    for (const t of [
      '{"a":1.0}',
      '{"a":1e2}',
      '{"b":1,"a":2}',
      '{"a":1,"a":1}',
      ' {}',
      '{"a":"\\u0041"}',
      '[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]',
    ]) {
      expect(() => parseCanonicalJson(utf8(t), 'doc'), t).toThrow(
        expect.objectContaining(code('ERR_DECODE')),
      );
    }
  });
});

describe('the operator plays the organisation (issue 14)', () => {
  it('cannot make a client accept a policy, an archive key, a wipe, a broadcast or a delegation it signed itself', async () => {
    const { root, opts } = await setup();
    const operatorRoot = await provider.ed25519.generateKeyPair();
    const operatorKey = await provider.ed25519.generateKeyPair();
    // The operator's own root certifies itself as owner and an admin key of its own.
    const operatorOwner = await issueAdminCertificate(provider, operatorRoot.privateKey, {
      tenant,
      admin: 'founder',
      adminPublicKey: operatorRoot.publicKey,
      role: 'owner',
      issuedAtMs: T0,
      expiresAtMs: T0 + 365 * DAY,
      serial: 1,
    });
    const operatorAdmin = await issueAdminCertificate(provider, operatorRoot.privateKey, {
      tenant,
      admin: 'ops',
      adminPublicKey: operatorKey.publicKey,
      role: 'admin',
      issuedAtMs: T0,
      expiresAtMs: T0 + 90 * DAY,
      serial: 2,
    });
    const archiveForAlice = await objectOf('policy-layer', {
      payload: {
        layer: 'user',
        target: 'alice',
        document: { archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } } },
      },
    } as Partial<OrganisationObjectBody>);
    const attempts: [string, Uint8Array][] = [
      [
        'tenant policy with its archive key, own root',
        await signOrganisationObject(
          provider,
          operatorRoot.privateKey,
          operatorOwner,
          await objectOf('policy-layer'),
        ),
      ],
      ['user-layer archive key, own admin', await forceSign(operatorKey, operatorAdmin, archiveForAlice)],
      [
        'wipe, own admin',
        await signOrganisationObject(provider, operatorKey.privateKey, operatorAdmin, await objectOf('wipe')),
      ],
      [
        'broadcast, own admin',
        await signOrganisationObject(
          provider,
          operatorKey.privateKey,
          operatorAdmin,
          await objectOf('broadcast'),
        ),
      ],
      [
        'delegation, own root',
        await signOrganisationObject(
          provider,
          operatorRoot.privateKey,
          operatorOwner,
          await objectOf('certificate-delegation'),
        ),
      ],
      [
        'admission, own admin',
        await signOrganisationObject(
          provider,
          operatorKey.privateKey,
          operatorAdmin,
          await objectOf('device-admission'),
        ),
      ],
    ];
    for (const [name, bytes] of attempts) {
      // Each verifies against the operator's root (it is well formed) ...
      if (!name.startsWith('user-layer'))
        await verifyOrganisationObject(provider, bytes, { ...opts, rootPublicKey: operatorRoot.publicKey });
      // ... and is refused against the root the client pinned.
      await expect(verifyOrganisationObject(provider, bytes, opts), name).rejects.toThrow(
        /certificate.signature/,
      );
    }
    // Nor by reusing a genuine certificate with a key of its own.
    const genuine = await certify(root, 'owner');
    for (const kind of ['policy-layer', 'wipe', 'broadcast', 'certificate-delegation'] as const) {
      const forged = await forceSign(operatorKey, genuine.certificate, await objectOf(kind));
      await expect(verifyOrganisationObject(provider, forged, opts), kind).rejects.toThrow(
        /object.signature/,
      );
    }
    // Nor does a fingerprint of its root match the one the enrolment token carries.
    const pinned = await rootFingerprint(provider, root.publicKey);
    expect(await rootMatchesFingerprint(provider, operatorRoot.publicKey, pinned)).toBe(false);
  });
});
