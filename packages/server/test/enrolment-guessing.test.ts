/**
 * Guessing enrolment tokens (issue "hard to knock over", item 4): the attacks, performed.
 *
 * - A concurrent burst of wrong tokens: before, every attempt passed a read-only check before any
 *   failure was counted, so a burst evaluated about 3x the limit on PostgreSQL. Now each attempt
 *   is counted before its token is evaluated, so exactly `maxFailures` tokens are evaluated.
 * - An IPv6 attacker rotating through its /64: all its addresses share one counter.
 * - Valid enrolments between failures give their count back and never lock out their address.
 *
 * On PostgreSQL (when `DATABASE_URL` is set) two server instances share one database and the
 * attempts are spread over both, so the row locks are what keep the count; otherwise one
 * instance on PGlite.
 */
import {
  type CryptoProvider,
  generateDeviceIdentity,
  getProvider,
  RateLimitedError,
  toPublicIdentity,
  UnauthenticatedError,
} from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter, StorageTx } from '@cloister/storage';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEnrolmentToken,
  ENROL_TOKENS_TABLE,
  type EnrolmentContext,
  type EnrolmentInput,
  type EnrolmentTokenInput,
  enrolDevice,
  signEnrolmentProof,
} from '../src/enrolment.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { createTenant } from '../src/tenants.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `enrol_guess_${process.pid}_${Date.now()}`;
const WINDOW = 15 * 60_000;
const LIMITS = { maxFailures: 10, windowMs: WINDOW };
const tenant = tenantId('hooli');
let clock = Date.UTC(2026, 2, 1);
let provider: CryptoProvider;
const servers: TestServer[] = [];
/** Distinct token hashes looked up in the token table, over every instance. */
const evaluated = new Set<string>();

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');

/** The adapter, with every lookup of the token table recorded (the evaluation of a token). */
function observed(adapter: StorageAdapter): StorageAdapter {
  const watch = (tx: StorageTx): StorageTx =>
    new Proxy(tx, {
      get(target, property) {
        if (property === 'get') {
          return (table: string, partition: Uint8Array, ...rest: [Uint8Array, never]) => {
            if (table === ENROL_TOKENS_TABLE) evaluated.add(Buffer.from(partition).toString('hex'));
            return target.get(table, partition, ...rest);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return {
    kind: adapter.kind,
    now: adapter.now,
    transaction: (fn, options) => adapter.transaction((tx) => fn(watch(tx)), options),
    purgeExpired: (options) => adapter.purgeExpired(options),
    close: () => adapter.close(),
  };
}

/** The context of instance `i` (round robin), observed. */
function context(i: number): EnrolmentContext {
  const ctx = servers[i % servers.length]!.server.context;
  return { adapter: observed(ctx.adapter), provider: ctx.provider };
}

async function token(input: Partial<EnrolmentTokenInput> = {}): Promise<string> {
  return (await createEnrolmentToken(servers[0]!.server.context, { tenant, ...input })).token;
}

async function input(tok: string, user?: string): Promise<EnrolmentInput> {
  const identity = await generateDeviceIdentity(provider);
  const pub = toPublicIdentity(identity);
  return {
    token: tok,
    ...(user === undefined ? {} : { user: { id: userId(user) } }),
    identity: pub,
    registrationId: 7,
    proof: await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, tok, pub),
  };
}

const wrongToken = async () => b64(await provider.randomBytes(32));

/** Runs the attempts at once (spread over the instances) and sorts their outcomes. */
async function burst(attempts: readonly { input: EnrolmentInput; address: string }[]) {
  const results = await Promise.allSettled(
    attempts.map((a, i) => enrolDevice(context(i), a.input, { clientAddress: a.address, limits: LIMITS })),
  );
  const out = { enrolled: 0, unauthenticated: 0, limited: [] as number[], other: [] as unknown[] };
  for (const r of results) {
    if (r.status === 'fulfilled') out.enrolled++;
    else if (r.reason instanceof RateLimitedError) out.limited.push(r.reason.retryAfterSeconds);
    else if (r.reason instanceof UnauthenticatedError) out.unauthenticated++;
    else out.other.push(r.reason);
  }
  return out;
}

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
  const common = { storageKey, now: () => clock, extraRoutes: [createEnrolmentRoutes()] };
  if (DATABASE_URL !== undefined) {
    for (let i = 0; i < 2; i++) {
      servers.push(await startTestServer({ ...common, database: DATABASE_URL, databaseSchema: schema }));
    }
  } else {
    servers.push(await startTestServer(common));
  }
  await createTenant(servers[0]!.server.context, { id: tenant, name: 'Hooli' });
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  if (DATABASE_URL !== undefined) await dropSchema();
});

beforeEach(() => {
  // A fresh window for every test.
  clock += WINDOW + 1000;
  evaluated.clear();
});

describe(`guessing enrolment tokens on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL (two instances)'}`, () => {
  it('a concurrent burst of 50 wrong tokens from one address evaluates exactly maxFailures of them', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 50 }, async () => ({
        input: await input(await wrongToken(), 'u-burst'),
        address: '198.51.100.7',
      })),
    );
    const out = await burst(attempts);
    expect(out.other).toEqual([]);
    expect(out.enrolled).toBe(0);
    expect(out.unauthenticated).toBe(LIMITS.maxFailures);
    expect(out.limited).toHaveLength(50 - LIMITS.maxFailures);
    for (const s of out.limited) {
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThanOrEqual(WINDOW / 1000);
    }
    // The refused attempts never reached the token table.
    expect(evaluated.size).toBe(LIMITS.maxFailures);

    // Settled: the address is locked for the rest of the window, even with a valid token.
    const tok = await token();
    const locked = await enrolDevice(context(0), await input(tok, 'u-burst'), {
      clientAddress: '198.51.100.7',
      limits: LIMITS,
    }).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(RateLimitedError);
    expect((locked as RateLimitedError).retryAfterSeconds).toBe(WINDOW / 1000);
    // Another address is not affected; after the window the first one is free again.
    const other = await enrolDevice(context(1), await input(await wrongToken(), 'u-burst'), {
      clientAddress: '198.51.100.8',
      limits: LIMITS,
    }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(UnauthenticatedError);
    clock += WINDOW;
    const later = await enrolDevice(context(0), await input(tok, 'u-burst'), {
      clientAddress: '198.51.100.7',
      limits: LIMITS,
    });
    expect(later.user).toBe('u-burst');
  });

  it('20 addresses of one IPv6 /64 share one counter (an IPv4-mapped address counts as its IPv4)', async () => {
    // Spelled every way: compressed, full with leading zeros, upper case, mixed.
    const addresses = Array.from({ length: 20 }, (_, i) => {
      const host = (i * 3001 + 1).toString(16);
      if (i % 4 === 0) return `2001:db8:7:1::${host}`;
      if (i % 4 === 1) return `2001:0db8:0007:0001:0000:0000:0000:${host.padStart(4, '0')}`;
      if (i % 4 === 2) return `2001:DB8:7:1:${host.toUpperCase()}::1`;
      return `2001:db8:7:1:ffff:${host}:0:1`;
    });
    const attempts = await Promise.all(
      addresses.map(async (address) => ({ input: await input(await wrongToken(), 'u-v6'), address })),
    );
    const out = await burst(attempts);
    expect(out.other).toEqual([]);
    expect(out.unauthenticated).toBe(LIMITS.maxFailures);
    expect(out.limited).toHaveLength(20 - LIMITS.maxFailures);
    expect(evaluated.size).toBe(LIMITS.maxFailures);

    // Yet another address of the /64 is locked out; the neighbouring /64 is not.
    const tok = await token({ maxUses: 2 });
    await expect(
      enrolDevice(context(0), await input(tok, 'u-v6'), {
        clientAddress: '2001:db8:7:1:abcd::42',
        limits: LIMITS,
      }),
    ).rejects.toBeInstanceOf(RateLimitedError);
    const neighbour = await enrolDevice(context(1), await input(tok, 'u-v6'), {
      clientAddress: '2001:db8:7:2::1',
      limits: LIMITS,
    });
    expect(neighbour.user).toBe('u-v6');

    // IPv4 and its IPv4-mapped IPv6 spelling share a counter too.
    const v4 = await burst(
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => ({
          input: await input(await wrongToken(), 'u-v4'),
          address: i % 2 === 0 ? '203.0.113.9' : '::ffff:203.0.113.9',
        })),
      ),
    );
    expect(v4.unauthenticated).toBe(LIMITS.maxFailures);
    expect(v4.limited).toHaveLength(2);
  });

  it('valid enrolments between failures still work and do not use up the budget', async () => {
    const address = '192.0.2.55';
    const at = { clientAddress: address, limits: LIMITS };
    const wrong = async () => enrolDevice(context(0), await input(await wrongToken(), 'u-valid'), at);
    for (let i = 0; i < LIMITS.maxFailures - 1; i++)
      await expect(wrong()).rejects.toBeInstanceOf(UnauthenticatedError);

    // One place left: five valid enrolments in a row take it and give it back each time.
    const tok = await token({ maxUses: 5, existingUsers: true });
    for (let i = 0; i < 5; i++) {
      const e = await enrolDevice(context(i), await input(tok, 'u-valid'), at);
      expect(e.deviceId).toBe(i + 1);
    }
    // Refusals that are not a wrong token give it back too (a token bound to another user).
    const bound = await token({ user: userId('u-bound') });
    for (let i = 0; i < 3; i++) {
      await expect(enrolDevice(context(i), await input(bound, 'u-other'), at)).rejects.toMatchObject({
        code: 'ERR_FORBIDDEN',
      });
    }
    // So does a wrong proof (checked before anything is counted).
    const bad = { ...(await input(bound, 'u-bound')), proof: new Uint8Array(64) };
    await expect(enrolDevice(context(0), bad, at)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });

    // The tenth wrong token is still evaluated; only the eleventh attempt is refused.
    await expect(wrong()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(wrong()).rejects.toBeInstanceOf(RateLimitedError);
    await expect(enrolDevice(context(1), await input(bound, 'u-bound'), at)).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    expect(evaluated.size).toBe(LIMITS.maxFailures + 2);
  });

  it('a concurrent mix of valid and wrong tokens evaluates no more wrong ones than the limit', async () => {
    const address = '192.0.2.77';
    const tok = await token({ maxUses: 20 });
    const attempts = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => ({
        input: await input(i % 2 === 0 ? tok : await wrongToken(), `u-mix-${i}`),
        address,
      })),
    );
    const out = await burst(attempts);
    expect(out.other).toEqual([]);
    expect(out.unauthenticated).toBeLessThanOrEqual(LIMITS.maxFailures);
    expect(out.enrolled + out.unauthenticated + out.limited.length).toBe(40);
    // Every place was settled: the valid ones gave theirs back.
    const left = LIMITS.maxFailures - out.unauthenticated;
    for (let i = 0; i < left; i++) {
      await expect(
        enrolDevice(context(i), await input(await wrongToken(), 'u-mix-x'), {
          clientAddress: address,
          limits: LIMITS,
        }),
      ).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    await expect(
      enrolDevice(context(0), await input(await wrongToken(), 'u-mix-x'), {
        clientAddress: address,
        limits: LIMITS,
      }),
    ).rejects.toBeInstanceOf(RateLimitedError);
  });
});
