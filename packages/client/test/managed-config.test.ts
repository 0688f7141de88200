/**
 * R24 through the client (spec/managed-config.md): a device enrols from the MDM configuration
 * with no user action (a keystore secret instead of a PIN), pins the organisation root it names,
 * is recorded `enrolledVia: 'managed'` and audited, applies the configuration's policy overrides
 * as narrowing only, and receives a message from a peer. Attacks: a configuration whose root or
 * tenant differs from the server's answer (refused, nothing stored), a reused managed token, an expired
 * one, a configuration for another server, and a bad key (ValidationError naming the key, the
 * token never echoed, nothing spent).
 */
import { randomBytes } from 'node:crypto';
import { InvalidKeyError, PIN_SCRYPT_FLOOR, ValidationError } from '@cloister/crypto';
import { type ManagedConfigValues, managedConfigValues, userId } from '@cloister/protocol';
import { createEnrolmentToken } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CloisterClient,
  clientOptionsFromManagedConfig,
  createClient,
  secretPin,
} from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;
const opened: CloisterClient[] = [];

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => undefined);
  await sys?.close();
});

async function managedToken(user: string, ttlMs?: number): Promise<string> {
  const { token } = await createEnrolmentToken(sys.server.context, {
    tenant: TENANT,
    user: userId(user),
    managed: true,
    ...(ttlMs === undefined ? {} : { ttlMs }),
  });
  return token;
}

async function configFor(
  user: string,
  extra: Partial<ManagedConfigValues> = {},
): Promise<ManagedConfigValues> {
  return managedConfigValues({
    serverUrl: sys.url,
    serverPin: sys.server.pin,
    organisationRoot: sys.organisation?.fingerprint ?? '',
    enrolmentToken: await managedToken(user),
    tenant: TENANT,
    userHint: user,
    ...extra,
  });
}

async function managedClient(config: unknown): Promise<CloisterClient> {
  const client = await createClient(
    clientOptionsFromManagedConfig(config, createMemoryAdapter(), { pinWrap: { scrypt: PIN_SCRYPT_FLOOR } }),
  );
  opened.push(client);
  return client;
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe('enrollFromManagedConfig', () => {
  it('enrols with no PIN prompt, pins the root, narrows the capabilities and receives a message', async () => {
    const config = await configFor('mdm-ann', { screenshots: false, notificationPreview: 'sender' });
    const secret = new Uint8Array(randomBytes(32));
    const ann = await managedClient(config);
    const head = (await sys.server.context.stores.audit.head(TENANT))?.seq ?? 0;
    const { userId: who } = await ann.enrollFromManagedConfig(config, { secret });
    expect(who).toBe('mdm-ann');
    expect(await ann.organisation()).toEqual({ rootFingerprint: sys.organisation?.fingerprint });
    const devices = await sys.server.context.stores.devices.list(TENANT, userId('mdm-ann'));
    expect(devices.map((d) => d.enrolledVia)).toEqual(['managed']);
    const audit = (await sys.server.context.stores.audit.list(TENANT)).filter((r) => r.seq > head);
    expect(audit.map((r) => [r.action, r.target])).toContainEqual(['enrolment.managed', 'mdm-ann']);

    const caps = ann.capabilities();
    expect(caps.map.screenshots.value).toBe(false);
    expect(caps.map['notifications.preview'].value).toBe('sender');
    expect(caps.map['clipboard.copy'].value).toBe(true);

    // The keystore secret opens the data again, as a PIN would.
    await ann.lock();
    await ann.unlock(secretPin(secret));
    await ann.start();
    const bob = await sys.client('bob');
    const got = nextEvent(ann, 'message');
    await bob.sendText({ user: 'mdm-ann' }, 'hello from a peer');
    const received = (await got).message;
    expect(received.from.userId).toBe('bob');
    expect(received.content.body).toEqual({ type: 'text', text: 'hello from a peer' });
  }, 60_000);

  it('refuses a configuration whose root or tenant is not the server’s answer: nothing stored', async () => {
    const operator = await sys.operatorSigner();
    const config = await configFor('mdm-ben', { organisationRoot: operator.fingerprint });
    const ben = await managedClient(config);
    const error = await rejection(
      ben.enrollFromManagedConfig(config, { secret: new Uint8Array(32).fill(1) }),
    );
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect(error?.message).toMatch(/^organisationRoot:/);
    expect(ben.status).toBe('unenrolled');
    expect(await ben.open()).toBe('unenrolled');

    // A configuration naming another tenant than the server enrols into: refused the same way.
    const elsewhere = await configFor('mdm-ben', { tenant: 'globex' });
    const ben2 = await managedClient(elsewhere);
    const wrongTenant = await rejection(
      ben2.enrollFromManagedConfig(elsewhere, { secret: new Uint8Array(32).fill(1) }),
    );
    expect(wrongTenant).toBeInstanceOf(InvalidKeyError);
    expect(wrongTenant?.message).toMatch(/^tenant:/);
    expect(await ben2.open()).toBe('unenrolled');
  }, 60_000);

  it('refuses a reused managed token and an expired one', async () => {
    const config = await configFor('mdm-cat');
    const first = await managedClient(config);
    await first.enrollFromManagedConfig(config, { secret: new Uint8Array(32).fill(2) });
    const second = await managedClient(config);
    const reused = await rejection(
      second.enrollFromManagedConfig(config, { secret: new Uint8Array(32).fill(3) }),
    );
    expect((reused as { code?: string }).code).toBe('ERR_UNAUTHENTICATED');
    expect(second.status).toBe('unenrolled');
    expect(await sys.server.context.stores.devices.list(TENANT, userId('mdm-cat'))).toHaveLength(1);

    const short = { ...config, enrolmentToken: await managedToken('mdm-dan', 1000) };
    await new Promise((r) => setTimeout(r, 1100));
    const late = await managedClient(short);
    const expired = await rejection(
      late.enrollFromManagedConfig(short, { secret: new Uint8Array(32).fill(4) }),
    );
    expect((expired as { code?: string }).code).toBe('ERR_UNAUTHENTICATED');
    expect(await sys.server.context.stores.devices.list(TENANT, userId('mdm-dan'))).toEqual([]);
  }, 60_000);

  it('a bad key is a ValidationError naming it, never echoing the token, and spends nothing', async () => {
    const config = await configFor('mdm-eve');
    const token = config.enrolmentToken as string;
    const eve = await managedClient(config);
    const cases: [string, Record<string, unknown>][] = [
      ['enrolmentToken', { ...config, enrolmentToken: `${token}!` }],
      ['serverPin', { ...config, serverPin: 'sha256/not-a-pin' }],
      ['organisationRoot', { ...config, organisationRoot: `x${token}` }],
      ['screenshots', { ...config, screenshots: 'perhaps' }],
    ];
    for (const [field, bad] of cases) {
      const error = await rejection(eve.enrollFromManagedConfig(bad, { secret: new Uint8Array(32).fill(5) }));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect(error?.message).not.toContain(token);
    }
    // A configuration for another server, and a short secret: refused before the token is spent.
    const other = { ...config, serverPin: `sha256/${Buffer.alloc(32, 9).toString('base64')}` };
    expect(
      (
        (await rejection(
          eve.enrollFromManagedConfig(other, { secret: new Uint8Array(32) }),
        )) as ValidationError
      ).field,
    ).toBe('serverPin');
    expect(
      (
        (await rejection(
          eve.enrollFromManagedConfig(config, { secret: new Uint8Array(31) }),
        )) as ValidationError
      ).field,
    ).toBe('secret');
    expect(eve.status).toBe('unenrolled');
    await eve.enrollFromManagedConfig(config, { secret: new Uint8Array(32).fill(6) });
    expect(eve.status).toBe('ready');
  }, 60_000);
});
