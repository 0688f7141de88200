/**
 * The organisation's trust chain (`test-vectors/organisation.json`, format in
 * spec/organisation.md): a root and its fingerprint, administrator certificates of every role
 * (the owner's self-issued by the root), one signed object of each kind, and objects every client
 * must refuse, each with the rule it breaks and the error code. Keys come from the noble provider
 * over `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/organisation/" + name))`;
 * Ed25519 signatures are deterministic, so every byte is reproducible. Every object is checked
 * with the node provider before the file is written.
 */
import {
  concatBytes,
  createNobleProvider,
  deviceId,
  generateDeviceIdentity,
  type KeyPair,
  toHex,
  toPublicIdentity,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
import {
  ADMIN_CERTIFICATE_LABEL,
  type AdminRole,
  adminCertificateSignedBytes,
  decodeAdminCertificate,
  issueAdminCertificate,
  ORGANISATION_OBJECT_LABELS,
  ORGANISATION_PERMISSIONS,
  type OrganisationObjectBody,
  organisationObjectSignedBytes,
  poolId,
  ROOT_FINGERPRINT_LABEL,
  rootFingerprint,
  tenantId,
  userId,
  verifyOrganisationObject,
} from '@cloister/protocol';

const SEED_PREFIX = 'cloister/test-vectors/organisation/';
const noble = createNobleProvider();
const node = createNodeProvider();
const tenant = tenantId('acme');
const T0 = 1_780_000_000_000;
const DAY = 86_400_000;
const NOW = T0 + DAY;

function seeded(name: string) {
  return noble.withRandom(INSECURE_seededRandomForTestsOnly(utf8(SEED_PREFIX + name)));
}

function key(name: string): Promise<KeyPair> {
  return seeded(name).ed25519.generateKeyPair();
}

function fail(what: string): never {
  throw new Error(`organisation vector self-check failed: ${what}`);
}

/** Signs an object without the signer's checks (role, kind rules), as a dishonest signer could. */
async function forceSign(
  k: KeyPair,
  certificate: Uint8Array,
  object: OrganisationObjectBody,
): Promise<Uint8Array> {
  const signed = organisationObjectSignedBytes(certificate, object);
  const label = utf8(ORGANISATION_OBJECT_LABELS[object.kind]).length;
  return concatBytes(signed.subarray(label), await noble.ed25519.sign(k.privateKey, signed));
}

export async function generateOrganisationVectors() {
  const root = await key('root');
  const operatorRoot = await key('operator-root');
  const operatorAdmin = await key('operator-admin');
  const roles: AdminRole[] = ['admin', 'user-manager', 'auditor', 'integration'];
  const adminKeys = Object.fromEntries(
    await Promise.all(roles.map(async (r) => [r, await key(`admin/${r}`)] as const)),
  );
  const device = await generateDeviceIdentity(seeded('device'));

  const certBody = (admin: string, k: KeyPair, role: AdminRole, serial: number) => ({
    tenant,
    admin,
    adminPublicKey: k.publicKey,
    role,
    issuedAtMs: T0,
    expiresAtMs: T0 + (role === 'owner' ? 365 : 90) * DAY,
    serial,
  });
  const certificates: {
    name: string;
    signer: string;
    body: ReturnType<typeof certBody>;
    bytes: Uint8Array;
  }[] = [];
  const issue = async (
    name: string,
    signer: KeyPair,
    signerName: string,
    body: ReturnType<typeof certBody>,
  ) => {
    const bytes = await issueAdminCertificate(noble, signer.privateKey, body);
    certificates.push({ name, signer: signerName, body, bytes });
    return bytes;
  };
  const owner = await issue('owner', root, 'root', certBody('founder', root, 'owner', 1));
  const certs: Record<string, Uint8Array> = { owner };
  for (const [i, r] of roles.entries()) {
    certs[r] = await issue(r, root, 'root', certBody(`${r}-1`, adminKeys[r] as KeyPair, r, i + 2));
  }
  const opOwner = await issue(
    'operator-owner',
    operatorRoot,
    'operator-root',
    certBody('founder', operatorRoot, 'owner', 1),
  );
  const opAdmin = await issue(
    'operator-admin',
    operatorRoot,
    'operator-root',
    certBody('ops', operatorAdmin, 'admin', 2),
  );
  const expired = await issue('admin-expired', root, 'root', {
    ...certBody('admin-2', adminKeys.admin as KeyPair, 'admin', 10),
    expiresAtMs: NOW - 1,
  });
  const keyOf = (role: string): KeyPair => (role === 'owner' ? root : (adminKeys[role] as KeyPair));

  const base = { tenant, issuedAtMs: NOW - 60_000, sequence: 5 };
  const bodies: { name: string; signer: string; body: OrganisationObjectBody }[] = [
    {
      name: 'policy-layer-tenant',
      signer: 'admin',
      body: {
        ...base,
        kind: 'policy-layer',
        payload: {
          layer: 'tenant',
          target: null,
          document: {
            archive: {
              enabled: true,
              locked: true,
              config: { publicKey: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' },
            },
            'files.send': { enabled: false, locked: true },
            retention: { enabled: true, locked: false, config: { days: 30 } },
          },
        },
      },
    },
    {
      name: 'policy-layer-user',
      signer: 'admin',
      body: {
        ...base,
        kind: 'policy-layer',
        payload: {
          layer: 'user',
          target: 'alice',
          document: { 'clipboard.copy': { enabled: false, locked: false } },
        },
      },
    },
    {
      name: 'wipe',
      signer: 'admin',
      body: {
        ...base,
        kind: 'wipe',
        payload: { user: userId('alice'), deviceId: deviceId(2), commandId: new Uint8Array(16).fill(0x11) },
      },
    },
    {
      name: 'broadcast',
      signer: 'user-manager',
      body: {
        ...base,
        kind: 'broadcast',
        payload: {
          broadcastId: new Uint8Array(16).fill(0x22),
          audience: { kind: 'pools', pools: [poolId('ward-3'), poolId('ward-4')] },
          text: 'Fire drill at 10:00 — leave by the east stairs.',
        },
      },
    },
    {
      name: 'pool-rules',
      signer: 'admin',
      body: {
        ...base,
        kind: 'pool-rules',
        payload: {
          rules: [
            { pool: poolId('board'), mayContact: [poolId('staff')] },
            { pool: poolId('staff'), mayContact: [] },
          ],
        },
      },
    },
    {
      name: 'device-admission',
      signer: 'integration',
      body: {
        ...base,
        kind: 'device-admission',
        payload: { user: userId('alice'), deviceId: deviceId(4), identity: toPublicIdentity(device) },
      },
    },
    {
      name: 'certificate-delegation',
      signer: 'owner',
      body: {
        ...base,
        kind: 'certificate-delegation',
        payload: {
          serverSigningPublicKey: (await key('server-signing')).publicKey,
          notBeforeMs: NOW - DAY,
          notAfterMs: NOW + 6 * DAY,
        },
      },
    },
  ];
  const objects = [];
  const signedByName: Record<string, Uint8Array> = {};
  const verify = { tenant, now: NOW, rootPublicKey: root.publicKey };
  for (const o of bodies) {
    const cert = certs[o.signer] as Uint8Array;
    const bytes = await forceSign(keyOf(o.signer), cert, o.body);
    const back = await verifyOrganisationObject(node, bytes, verify);
    if (back.kind !== o.body.kind) fail(o.name);
    signedByName[o.name] = bytes;
    objects.push({
      name: o.name,
      kind: o.body.kind,
      signer: o.signer,
      issuedAtMs: o.body.issuedAtMs,
      sequence: o.body.sequence,
      payloadBytes: toHex(back.payloadBytes),
      signedBytes: toHex(organisationObjectSignedBytes(cert, o.body)),
      bytes: toHex(bytes),
    });
  }

  const wipe = bodies[2]?.body as OrganisationObjectBody;
  const wipeBytes = signedByName.wipe as Uint8Array;
  const altered = wipeBytes.slice();
  const at = altered.length - 64 - (certs.admin as Uint8Array).length - 2 - 1;
  altered[at] = (altered[at] as number) ^ 1;
  const userArchive: OrganisationObjectBody = {
    ...base,
    kind: 'policy-layer',
    payload: {
      layer: 'user',
      target: 'alice',
      document: {
        archive: {
          enabled: true,
          locked: true,
          config: { publicKey: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' },
        },
      },
    },
  };
  const selfMade = await issueAdminCertificate(noble, (adminKeys.admin as KeyPair).privateKey, {
    ...certBody('admin-1', adminKeys.admin as KeyPair, 'owner', 2),
  });
  const globexCert = await issueAdminCertificate(noble, root.privateKey, {
    ...certBody('admin-1', adminKeys.admin as KeyPair, 'admin', 20),
    tenant: tenantId('globex'),
  });
  const refuse: {
    name: string;
    description: string;
    bytes: Uint8Array;
    newestSequence?: number;
    error: string;
  }[] = [
    {
      name: 'operator-root-policy',
      description: 'a tenant policy with an archive key, signed under the operator’s own root',
      bytes: await forceSign(operatorRoot, opOwner, bodies[0]?.body as OrganisationObjectBody),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'operator-root-user-archive',
      description: 'a user-layer archive key signed by the operator’s own admin',
      bytes: await forceSign(operatorAdmin, opAdmin, userArchive),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'operator-root-wipe',
      description: 'a wipe signed by the operator’s own admin',
      bytes: await forceSign(operatorAdmin, opAdmin, wipe),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'operator-root-broadcast',
      description: 'a broadcast signed by the operator’s own admin',
      bytes: await forceSign(operatorAdmin, opAdmin, bodies[3]?.body as OrganisationObjectBody),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'operator-root-delegation',
      description: 'a sender-certificate delegation signed under the operator’s own root',
      bytes: await forceSign(operatorRoot, opOwner, bodies[6]?.body as OrganisationObjectBody),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'operator-key-genuine-certificate',
      description: 'a genuine owner certificate embedded, the object signed by the operator’s key',
      bytes: await forceSign(operatorAdmin, owner, wipe),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'certificate-not-from-root',
      description: 'an administrator certifies itself as owner with its own key',
      bytes: await forceSign(adminKeys.admin as KeyPair, selfMade, wipe),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'certificate-expired',
      description: 'the admin certificate expired before now',
      bytes: await forceSign(adminKeys.admin as KeyPair, expired, { ...wipe, issuedAtMs: T0 + 1 }),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'certificate-other-tenant',
      description: 'an admin certificate of tenant globex signs for acme',
      bytes: await forceSign(adminKeys.admin as KeyPair, globexCert, wipe),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'object-other-tenant',
      description: 'an object for globex, honestly signed there, served to acme',
      bytes: await forceSign(adminKeys.admin as KeyPair, globexCert, { ...wipe, tenant: tenantId('globex') }),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'auditor-signs-wipe',
      description: 'an auditor’s certified key signs a wipe',
      bytes: await forceSign(adminKeys.auditor as KeyPair, certs.auditor as Uint8Array, wipe),
      error: 'ERR_FORBIDDEN',
    },
    {
      name: 'admin-signs-delegation',
      description: 'an admin (not an owner) signs a certificate delegation',
      bytes: await forceSign(
        adminKeys.admin as KeyPair,
        certs.admin as Uint8Array,
        bodies[6]?.body as OrganisationObjectBody,
      ),
      error: 'ERR_FORBIDDEN',
    },
    {
      name: 'user-layer-archive',
      description: 'a genuine admin signs a user-layer policy naming archive',
      bytes: await forceSign(adminKeys.admin as KeyPair, certs.admin as Uint8Array, userArchive),
      error: 'ERR_FORBIDDEN',
    },
    {
      name: 'older-sequence',
      description: 'sequence 5 when the client accepted 6 in this scope',
      bytes: wipeBytes,
      newestSequence: 6,
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'payload-altered',
      description: 'one bit of the wipe’s command id flipped after signing',
      bytes: altered,
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'issued-in-the-future',
      description: 'issuedAtMs 6 minutes after now',
      bytes: await forceSign(adminKeys.admin as KeyPair, certs.admin as Uint8Array, {
        ...wipe,
        issuedAtMs: NOW + 6 * 60_000,
      }),
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'trailing-byte',
      description: 'one byte after the signature',
      bytes: concatBytes(wipeBytes, Uint8Array.of(0)),
      error: 'ERR_DECODE',
    },
    {
      name: 'truncated',
      description: 'the last byte of the signature missing',
      bytes: wipeBytes.subarray(0, wipeBytes.length - 1),
      error: 'ERR_DECODE',
    },
    {
      name: 'unknown-suite',
      description: 'suite byte 2 (reserved for Ed25519 + ML-DSA-65)',
      bytes: Uint8Array.from(wipeBytes, (b, i) => (i === 1 ? 2 : b)),
      error: 'ERR_DECODE',
    },
  ];
  for (const c of refuse) {
    const got = await verifyOrganisationObject(node, c.bytes, {
      ...verify,
      ...(c.newestSequence === undefined ? {} : { newestSequence: c.newestSequence }),
    }).then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );
    if (got !== c.error) fail(`${c.name}: ${got}, not ${c.error}`);
  }
  if (decodeAdminCertificate(owner).role !== 'owner') fail('owner');

  return {
    meta: {
      source: 'generated by scripts/vectors/organisation.ts; do not edit by hand',
      spec: 'spec/organisation.md',
      randomness: `each key comes from the noble provider over INSECURE_seededRandomForTestsOnly(ASCII("${SEED_PREFIX}" + name)); Ed25519 signatures are deterministic`,
      encoding: 'byte strings are lower-case hex',
      labels: {
        rootFingerprint: ROOT_FINGERPRINT_LABEL,
        adminCertificate: ADMIN_CERTIFICATE_LABEL,
        objects: ORGANISATION_OBJECT_LABELS,
      },
      permissions: ORGANISATION_PERMISSIONS,
      tenant,
      now: NOW,
    },
    keys: Object.fromEntries(
      [
        ['root', root],
        ['operator-root', operatorRoot],
        ['operator-admin', operatorAdmin],
        ...roles.map((r) => [r, adminKeys[r]] as const),
      ].map(([n, k]) => [
        n as string,
        { privateKey: toHex((k as KeyPair).privateKey), publicKey: toHex((k as KeyPair).publicKey) },
      ]),
    ),
    root: {
      publicKey: toHex(root.publicKey),
      fingerprintInput: toHex(concatBytes(utf8(ROOT_FINGERPRINT_LABEL), Uint8Array.of(1), root.publicKey)),
      fingerprint: await rootFingerprint(noble, root.publicKey),
      operatorFingerprint: await rootFingerprint(noble, operatorRoot.publicKey),
    },
    certificates: certificates.map((c) => ({
      name: c.name,
      signer: c.signer,
      admin: c.body.admin,
      role: c.body.role,
      tenant: c.body.tenant,
      adminPublicKey: toHex(c.body.adminPublicKey),
      issuedAtMs: c.body.issuedAtMs,
      expiresAtMs: c.body.expiresAtMs,
      serial: c.body.serial,
      signedBytes: toHex(adminCertificateSignedBytes(c.body)),
      bytes: toHex(c.bytes),
    })),
    objects,
    refuse: refuse.map((c) => ({
      name: c.name,
      description: c.description,
      bytes: toHex(c.bytes),
      ...(c.newestSequence === undefined ? {} : { newestSequence: c.newestSequence }),
      error: c.error,
    })),
  };
}

export default { file: 'organisation.json', generate: generateOrganisationVectors };
