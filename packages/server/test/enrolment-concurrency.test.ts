/**
 * Concurrent redemption of limited-use enrolment tokens. On PostgreSQL (when `DATABASE_URL` is
 * set) two server instances share one database and the redemptions are spread over both, so the
 * row lock is what keeps the count; otherwise one instance on PGlite.
 */
import { type CryptoProvider, generateDeviceIdentity, getProvider, toPublicIdentity } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrolmentToken, signEnrolmentProof } from '../src/enrolment.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { createTenant } from '../src/tenants.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `enrol_conc_${process.pid}_${Date.now()}`;
const servers: TestServer[] = [];
let provider: CryptoProvider;
const tenant = tenantId('initech');
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  provider = await getProvider();
  const storageKey = await provider.randomBytes(32);
  // Generous address limits: every request comes from 127.0.0.1.
  const routes = createEnrolmentRoutes({ limits: { maxFailures: 1000 } });
  if (DATABASE_URL !== undefined) {
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startTestServer({
          database: DATABASE_URL,
          databaseSchema: schema,
          storageKey,
          extraRoutes: [routes],
        }),
      );
    }
  } else {
    servers.push(await startTestServer({ storageKey, extraRoutes: [routes] }));
  }
  await createTenant(servers[0]!.server.context, { id: tenant, name: 'Initech' });
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  if (DATABASE_URL !== undefined) await dropSchema();
});

async function attempt(i: number, token: string, user: string) {
  const identity = await generateDeviceIdentity(provider);
  const pub = toPublicIdentity(identity);
  const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, token, pub);
  const server = servers[i % servers.length]!;
  return server.request('POST', '/v1/enrol', {
    json: {
      token,
      user: { id: user },
      device: {
        identity: {
          signingKey: b64(pub.signingKey),
          dhKey: b64(pub.dhKey),
          dhKeySignature: b64(pub.dhKeySignature),
        },
        registrationId: i,
        proof: b64(proof),
      },
    },
  });
}

describe(`concurrent enrolment on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL (two instances)'}`, () => {
  it('never lets concurrent redemptions exceed the uses of a token', async () => {
    for (const uses of [1, 4]) {
      const { token } = await createEnrolmentToken(servers[0]!.server.context, { tenant, maxUses: uses });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => attempt(i, token, `u-${uses}-${i}`)),
      );
      const ok = results.filter((r) => r.status === 201);
      expect(ok).toHaveLength(uses);
      for (const r of results) if (r.status !== 201) expect(r.json.error.code).toBe('ERR_UNAUTHENTICATED');
      let created = 0;
      for (let i = 0; i < 12; i++) {
        if (await servers[0]!.server.context.stores.users.get(tenant, userId(`u-${uses}-${i}`))) created++;
      }
      expect(created).toBe(uses);
    }
  });

  it('gives concurrent enrolments of one user distinct device ids', async () => {
    const { token } = await createEnrolmentToken(servers[0]!.server.context, {
      tenant,
      user: userId('u-many'),
      maxUses: 6,
    });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i, token, 'u-many')));
    for (const r of results) expect(r.status).toBe(201);
    const ids = results.map((r) => r.json.deviceId as number);
    expect([...ids].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const devices = await servers[0]!.server.context.stores.devices.list(tenant, userId('u-many'));
    expect(devices.map((d) => d.id).sort()).toEqual([...ids].sort());
  });
});
