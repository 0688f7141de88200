/**
 * The shredding keyring over the SQL adapters: PGlite always, PostgreSQL when DATABASE_URL is set
 * (in a schema of its own, dropped afterwards). On PostgreSQL several "server instances" (adapters
 * with their own connection pools) seal into a new period at once and must agree on one key.
 */
import { type CryptoProvider, getProvider, utf8 } from '@cloister/crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../src/adapter.js';
import { createShreddingKeyring, DEFAULT_SHRED_TABLE } from '../src/shred/index.js';
import { createPGliteAdapter, createPostgresAdapter } from '../src/sql/index.js';

const DATABASE_URL = process.env.DATABASE_URL;
const DAY = 86_400_000;
const T0 = 1_767_225_600_000;
const SCHEMA = `shred_test_${process.pid}_${Date.now().toString(36)}`;

async function code(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (e) {
    const c = (e as { code?: unknown } | null)?.code;
    if (typeof c === 'string') return c;
    throw e;
  }
  return 'accepted';
}

let provider: CryptoProvider;
beforeAll(async () => {
  provider = await getProvider();
});

async function lifecycle(adapter: StorageAdapter, clock: { t: number }) {
  const keyring = createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'tenant:acme' });
  const sealed = await keyring.seal(utf8('kept in a backup'), { expiresAt: T0 + DAY, aad: utf8('b1') });
  const backup = sealed.slice();
  expect(await keyring.open(backup, { aad: utf8('b1') })).toEqual(utf8('kept in a backup'));
  clock.t = T0 + DAY;
  expect(await code(() => keyring.open(backup, { aad: utf8('b1') }))).toBe('ERR_STORAGE');
  expect(await keyring.destroyExpiredKeys()).toBe(1);
  clock.t = T0;
  expect(await code(() => keyring.open(backup, { aad: utf8('b1') }))).toBe('ERR_DECRYPTION_FAILED');
}

describe('PGlite', () => {
  it('seals, shreds at the period end and purges the key', async () => {
    const clock = { t: T0 };
    const adapter = await createPGliteAdapter({ now: () => clock.t });
    try {
      await lifecycle(adapter, clock);
    } finally {
      await adapter.close();
    }
  });
});

describe.runIf(DATABASE_URL !== undefined)('PostgreSQL', () => {
  const adapters: StorageAdapter[] = [];
  const clock = { t: T0 };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      adapters.push(
        await createPostgresAdapter({
          connectionString: DATABASE_URL as string,
          schema: SCHEMA,
          poolSize: 4,
          now: () => clock.t,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const a of adapters) await a.close();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('seals, shreds at the period end and purges the key', async () => {
    clock.t = T0;
    await lifecycle(adapters[0] as StorageAdapter, clock);
  });

  it('instances sealing into a new period at once agree on one key', async () => {
    clock.t = T0;
    const keyrings = adapters.map((adapter) =>
      createShreddingKeyring({ adapter, provider, periodMs: DAY, scope: 'race' }),
    );
    for (let round = 0; round < 5; round++) {
      const expiresAt = T0 + (10 + round) * DAY;
      const sealed = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (keyrings[i % keyrings.length] as (typeof keyrings)[number]).seal(utf8(`r${round}m${i}`), {
            expiresAt,
          }),
        ),
      );
      for (const [i, s] of sealed.entries()) {
        const reader = keyrings[(i + 1) % keyrings.length] as (typeof keyrings)[number];
        expect(await reader.open(s)).toEqual(utf8(`r${round}m${i}`));
      }
    }
    const rows = await (adapters[0] as StorageAdapter).transaction((tx) =>
      tx.list(DEFAULT_SHRED_TABLE, utf8('race')),
    );
    expect(rows.map((r) => r.expiresAt)).toEqual([10, 11, 12, 13, 14].map((n) => T0 + n * DAY));
  });
});
