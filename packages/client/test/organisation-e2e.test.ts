/**
 * Issue 14, the client's half (attacks 1 and 2, broadcasts, delegations), end to end through the
 * SDK and the real server: the client pins the organisation root at enrolment from the code's
 * fingerprint and verifies every organisation object against it. Tests that play the operator —
 * it holds the server's stores, the tenant's server key, a root and "owner" certificate of its
 * own — write objects into the server's store the way an operator would (no admin-API check in
 * the way) and show that a root-pinned client accepts none of them: no seal to its archive key
 * from a tenant or user layer, no wipe, no broadcast, no message under a certificate its own
 * delegation would cover; nor a rollback to an older layer or a fork; nor a substituted root at
 * enrolment. Genuine objects from the owner work end to end.
 */
import {
  concatBytes,
  encodeSenderCertificate,
  InvalidKeyError,
  issueSenderCertificate,
  utf8,
  WipeCommandError,
} from '@cloister/crypto';
import {
  decodeOrganisationObject,
  ORGANISATION_OBJECT_LABELS,
  type OrganisationObjectBody,
  organisationObjectScope,
  organisationObjectSignedBytes,
  poolId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { getTenantSigningKey, recordWipe } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientEvent,
  type CloisterClient,
  createClient,
  createNodeTransport,
  directConversationId,
  type TransportFactory,
} from '../src/index.js';
import { nextEvent, PIN, startSystem, TENANT, type TestSigner, type TestSystem } from './helpers/system.js';

const DAY = 86_400_000;
let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Every event of `types` a client emits from now on. */
function record(client: CloisterClient, ...types: ClientEvent['type'][]): ClientEvent[] {
  const seen: ClientEvent[] = [];
  for (const type of types) client.on(type, (e) => seen.push(e as ClientEvent));
  return seen;
}

/** The operator serves `bytes` as a stored organisation object (no verification on the way). */
async function serve(bytes: Uint8Array): Promise<void> {
  const o = decodeOrganisationObject(bytes);
  await sys.server.context.stores.organisation.put(TENANT, {
    kind: o.kind,
    scope: organisationObjectScope(o),
    sequence: o.sequence,
    issuedAtMs: o.issuedAtMs,
    admin: o.certificate.admin,
    bytes,
  });
}

/** Signs `body` with the signer's key without the signer's kind rules (what an attacker can always do). */
async function craft(signer: TestSigner, body: OrganisationObjectBody, certificate = signer.certificate) {
  const signed = organisationObjectSignedBytes(certificate, body);
  const label = utf8(ORGANISATION_OBJECT_LABELS[body.kind]).length;
  const signature = await sys.server.context.provider.ed25519.sign(signer.root.privateKey, signed);
  return concatBytes(signed.subarray(label), signature);
}

/** The genuine owner certificate with the operator's key in place of the owner's: a forged certificate. */
function forgedCertificate(operator: TestSigner): Uint8Array {
  const genuine = sys.organisation!.certificate;
  const key = sys.organisation!.root.publicKey;
  const at = Buffer.from(genuine).indexOf(Buffer.from(key));
  expect(at).toBeGreaterThan(0);
  const forged = genuine.slice();
  forged.set(operator.root.publicKey, at);
  return forged;
}

/** A transport that lets the test rewrite the JSON answer of one route. */
function rewriting(path: string, rewrite: (json: Record<string, unknown>) => Record<string, unknown>) {
  const factory: TransportFactory = (options) => {
    const inner = createNodeTransport(options);
    return {
      ...inner,
      request: async (method, p, body) => {
        const res = await inner.request(method, p, body);
        if (p !== path || typeof res.json !== 'object' || res.json === null) return res;
        const json = rewrite({ ...(res.json as Record<string, unknown>) });
        return { ...res, json, body: utf8(JSON.stringify(json)) };
      },
    };
  };
  return factory;
}

async function archiveCount(): Promise<number> {
  return (await sys.server.context.stores.archive.list(TENANT, { limit: 1000 })).items.length;
}

describe('enrolment pins the organisation root', () => {
  it('pins the root of the enrolment code, or of the MDM configuration with a plain token', async () => {
    const org = sys.organisation!;
    const ann = await sys.client('ann');
    expect(await ann.organisation()).toEqual({ rootFingerprint: org.fingerprint });
    const mdm = await createClient({
      server: { url: sys.url, pin: sys.server.pin },
      storage: createMemoryAdapter(),
    });
    await mdm.enroll(await sys.rawToken('ann'), { pin: PIN, organisationRoot: org.fingerprint });
    expect(await mdm.organisation()).toEqual({ rootFingerprint: org.fingerprint });
    await mdm.close();
  }, 60_000);

  it('refuses a substituted root, a missing one, and a code and configuration that disagree; nothing is stored', async () => {
    const operator = await sys.operatorSigner();
    for (const rewrite of [
      (j: Record<string, unknown>) => ({ ...j, organisationRoot: b64(operator.root.publicKey) }),
      (j: Record<string, unknown>) => {
        const { organisationRoot: _, ...rest } = j;
        return rest;
      },
    ]) {
      const client = await createClient({
        server: { url: sys.url, pin: sys.server.pin },
        storage: createMemoryAdapter(),
        transport: rewriting('/v1/enrol', rewrite),
      });
      const error = await client.enroll(await sys.token('ben'), { pin: PIN }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidKeyError);
      expect((error as Error).message).toMatch(/^organisationRoot:/);
      expect(client.status).toBe('unenrolled');
      expect(await client.open()).toBe('unenrolled');
      await client.close();
    }
    const client = await createClient({
      server: { url: sys.url, pin: sys.server.pin },
      storage: createMemoryAdapter(),
    });
    await expect(
      client.enroll(await sys.token('ben'), { pin: PIN, organisationRoot: operator.fingerprint }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    expect(client.status).toBe('unenrolled');
    await client.close();
  }, 60_000);

  it('a device enrolled without a fingerprint pins nothing and accepts no archive key and no wipe', async () => {
    const ctx = sys.server.context;
    const archive = await ctx.provider.x25519.generateKeyPair();
    const bare = await sys.client('cid', { code: await sys.rawToken('cid') });
    const dee = await sys.client('dee');
    expect(await bare.organisation()).toEqual({ rootFingerprint: null });
    // Even a genuine tenant layer with an archive key: the rootless device never seals.
    await sys.organisation!.policyLayer('tenant', null, {
      archive: { enabled: true, locked: true, config: { publicKey: b64(archive.publicKey) } },
    });
    await bare.refreshPolicy();
    expect(bare.archive()).toEqual({ on: false });
    expect(bare.policy?.archiveKey).toBeNull();
    const got = nextEvent(dee, 'message');
    const sent = await bare.sendText({ user: 'dee' }, 'no archive');
    expect(sent.content.archived).toBeUndefined();
    expect((await got).message.content.archived).toBeUndefined();
    await sys.organisation!.policyLayer('tenant', null, {});
    // A genuine wipe is refused too: the device cannot tell it from the operator's.
    const refused = nextEvent(bare, 'wipe-refused');
    const wipe = await sys.organisation!.wipe('cid', bare.me.deviceId);
    await expect(bare.applyWipeCommand(wipe)).rejects.toBeInstanceOf(WipeCommandError);
    expect((await refused).reason).toBe('no-root');
    expect(bare.status).toBe('ready');
  }, 60_000);
});

describe('sequences and genuine objects', () => {
  it('refuses a rollback to an older layer and a fork of the held one; the policy stays', async () => {
    const org = sys.organisation!;
    const old = await org.policyLayer('user', 'lea', { 'files.send': { enabled: false, locked: false } });
    const lea = await sys.client('lea');
    expect(lea.policy?.features['files.send']?.enabled).toBe(false);
    const newer = await org.policyLayer('user', 'lea', { 'files.send': { enabled: true, locked: false } });
    await lea.refreshPolicy();
    expect(lea.policy?.features['files.send']?.enabled).toBe(true);
    const seen = record(lea, 'organisation-refused', 'policy');
    // Rollback: the operator serves the older genuine layer again.
    await serve(old);
    await lea.refreshPolicy();
    // Fork: another object with the held sequence (a leaked or double-signing key).
    const fork = await org.sign({
      kind: 'policy-layer',
      sequence: decodeOrganisationObject(newer).sequence,
      payload: { layer: 'user', target: 'lea', document: { 'files.send': { enabled: false, locked: true } } },
    });
    await serve(fork);
    await lea.refreshPolicy();
    // (A background refresh after reconnecting may refuse the same object once more.)
    const mine = seen.filter((e) => e.type === 'policy' || (e as { kind?: string }).kind === 'policy-layer');
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (const e of mine) {
      expect(e).toEqual({ type: 'organisation-refused', kind: 'policy-layer', reason: 'ERR_INVALID_KEY' });
    }
    expect(lea.policy?.features['files.send']?.enabled).toBe(true);
  }, 60_000);

  it('applies a signed pool layer and retention (broadcasts: broadcast-e2e.test.ts)', async () => {
    const org = sys.organisation!;
    await sys.server.context.stores.pools.put(TENANT, poolId('sales'), { name: 'Sales' });
    const code = await sys.token('max', 'sales');
    await org.policyLayer('pool', 'sales', { 'clipboard.copy': { enabled: false, locked: false } });
    await org.policyLayer('user', 'max', {
      retention: {
        enabled: true,
        locked: false,
        config: { rules: { 'message.device': { maxLifetimeMs: 7 * DAY } } },
      },
    });
    const max = await sys.client('max', { code });
    expect(max.policy?.signed).toBe(true);
    expect(max.policy?.features['clipboard.copy']?.enabled).toBe(false);
    expect(max.policy?.messageLifetimeMs).toBe(7 * DAY);
  }, 60_000);
});

describe('the operator cannot command in the organisation’s name', () => {
  it('(1, 2) refuses a tenant or user layer with the operator’s archive key: nothing is sealed to it', async () => {
    const ctx = sys.server.context;
    const operator = await sys.operatorSigner();
    const evil = await ctx.provider.x25519.generateKeyPair();
    const archive = { enabled: true, locked: true, config: { publicKey: b64(evil.publicKey) } };
    const eve = await sys.client('eve');
    const fay = await sys.client('fay');
    const seen = record(eve, 'organisation-refused', 'archive');
    // (1) A tenant layer signed under the operator's own root, and its own in the server's policy
    // store so that the server would file seals to it.
    const now = Date.now();
    await serve(
      await operator.sign({
        kind: 'policy-layer',
        sequence: 1_000_000,
        payload: { layer: 'tenant', target: null, document: { archive } },
      }),
    );
    await ctx.stores.policies.set({ kind: 'tenant', tenant: TENANT }, { archive });
    // (2) A user layer for eve naming the key, under the operator's root and under a forged
    // certificate that names the genuine root's key.
    const userLayer = (sequence: number): OrganisationObjectBody => ({
      kind: 'policy-layer',
      tenant: tenantId(TENANT),
      issuedAtMs: now,
      sequence,
      payload: { layer: 'user', target: 'eve', document: { archive } },
    });
    await serve(await craft(operator, userLayer(1_000_001)));
    await eve.refreshPolicy();
    await serve(await craft(operator, userLayer(1_000_002), forgedCertificate(operator)));
    await eve.refreshPolicy();
    expect(
      seen.filter((e) => e.type === 'organisation-refused').map((e) => (e as { reason: string }).reason),
    ).toEqual(['ERR_INVALID_KEY', 'ERR_INVALID_KEY', 'ERR_INVALID_KEY', 'ERR_INVALID_KEY']);
    expect(seen.some((e) => e.type === 'archive')).toBe(false);
    expect(eve.archive()).toEqual({ on: false });
    expect(eve.policy?.archiveKey).toBeNull();
    const before = await archiveCount();
    const got = nextEvent(fay, 'message');
    const sent = await eve.sendText({ user: 'fay' }, 'salary figures');
    expect(sent.content.archived).toBeUndefined();
    await got;
    await eve.flush();
    expect(await archiveCount()).toBe(before);
    // The owner's genuine tenant layer takes the scope back for the next tests.
    await ctx.stores.policies.set({ kind: 'tenant', tenant: TENANT }, {});
    await sys.organisation!.policyLayer('tenant', null, {});
  }, 60_000);

  it('(3) refuses a wipe the operator signed and served: the device is not wiped', async () => {
    const ctx = sys.server.context;
    const operator = await sys.operatorSigner();
    const gus = await sys.client('gus');
    const hal = await sys.client('hal');
    const got = nextEvent(gus, 'message');
    await hal.sendText({ user: 'gus' }, 'keep this');
    await got;
    const command = await operator.sign({
      kind: 'wipe',
      sequence: 1_000_000,
      payload: { user: userId('gus'), deviceId: gus.me.deviceId, commandId: new Uint8Array(16).fill(7) },
    });
    await ctx.adapter.transaction((tx) =>
      recordWipe(
        tx,
        { tenant: TENANT, user: userId('gus'), device: gus.me.deviceId },
        { commandId: b64(new Uint8Array(16).fill(7)), command, issuedAt: Date.now(), confirmedAt: null },
      ),
    );
    const refused = nextEvent(gus, 'wipe-refused');
    expect(await gus.checkWipe()).toBe(false);
    expect((await refused).reason).toBe('ERR_INVALID_KEY');
    expect(gus.status).toBe('ready');
    expect((await gus.wipeStatus()).wiped).toBe(false);
    expect((await gus.history(directConversationId('hal'))).items.length).toBe(1);
    // The same through a forged certificate naming the genuine root's key.
    const forged = await craft(
      operator,
      {
        kind: 'wipe',
        tenant: tenantId(TENANT),
        issuedAtMs: Date.now(),
        sequence: 1_000_001,
        payload: { user: userId('gus'), deviceId: gus.me.deviceId, commandId: new Uint8Array(16).fill(8) },
      },
      forgedCertificate(operator),
    );
    await expect(gus.applyWipeCommand(forged)).rejects.toBeInstanceOf(WipeCommandError);
    expect(gus.status).toBe('ready');
  }, 60_000);

  it('(5) refuses a delegation the operator signed: messages under certificates only it covers are undecryptable', async () => {
    const ctx = sys.server.context;
    const operator = await sys.operatorSigner();
    let now = Date.now();
    const clock = () => now;
    const jay = await sys.client('jay', { now: clock });
    // The operator signs, with the tenant's server key, certificates valid long after the owners'
    // delegation ends, and a delegation of its own that covers them.
    const later = Date.now() + 8 * DAY;
    const tenantKey = await getTenantSigningKey(ctx, TENANT);
    const forging: TransportFactory = (options) => {
      const inner = createNodeTransport(options);
      return {
        ...inner,
        request: async (method, path, body) => {
          const res = await inner.request(method, path, body);
          if (path !== '/v1/certificate' || res.status !== 200) return res;
          const { decodeSenderCertificate } = await import('@cloister/crypto');
          const genuine = decodeSenderCertificate(
            new Uint8Array(Buffer.from((res.json as { certificate: string }).certificate, 'base64url')),
          );
          const { signature: _, ...fields } = genuine;
          const cert = await issueSenderCertificate(ctx.provider, tenantKey, {
            ...fields,
            expiresAt: later + 3_600_000,
          });
          const json = { certificate: b64(encodeSenderCertificate(cert)), expiresAt: cert.expiresAt };
          return { ...res, json, body: utf8(JSON.stringify(json)) };
        },
      };
    };
    const kim = await sys.client('kim', { transport: forging });
    await serve(
      await operator.sign({
        kind: 'certificate-delegation',
        sequence: 1_000_000,
        payload: {
          serverSigningPublicKey: sys.signingPublicKey,
          notBeforeMs: later - DAY,
          notAfterMs: later + DAY,
        },
      }),
    );
    const refused = nextEvent(jay, 'organisation-refused');
    now = later;
    await jay.refreshPolicy();
    expect(await refused).toEqual({
      type: 'organisation-refused',
      kind: 'certificate-delegation',
      reason: 'ERR_INVALID_KEY',
    });
    const lost = nextEvent(jay, 'undecryptable');
    await kim.sendText({ user: 'jay' }, 'under a certificate the owners never delegated');
    expect(await lost).toMatchObject({ type: 'undecryptable', reason: 'certificate' });

    // The owners' own delegation for that time makes the same kind of certificate acceptable.
    await sys.organisation!.publish({
      kind: 'certificate-delegation',
      sequence: 2_000_000,
      payload: {
        serverSigningPublicKey: sys.signingPublicKey,
        notBeforeMs: later - DAY,
        notAfterMs: later + DAY,
      },
    });
    await jay.refreshPolicy();
    const got = nextEvent(jay, 'message');
    await kim.sendText({ user: 'jay' }, 'delegated by the owners');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'delegated by the owners' });
    tenantKey.fill(0);
  }, 60_000);
  // (4) a broadcast the operator signs: packages/client/test/broadcast-e2e.test.ts (through the mailbox).
});
