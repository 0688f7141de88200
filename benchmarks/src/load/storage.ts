/**
 * The storage load benchmark.
 *
 *   tsx --conditions=@cloister/source benchmarks/src/load/storage.ts [--quick] [--seconds N]
 *       [--concurrency 1,8,64] [--backend pglite] [--backend postgres] [--out FILE]
 *
 * Measures, through the server's typed stores of `@cloister/storage`:
 * - `storage/mailbox-cycle/c<N>/<backend>`: one envelope enqueued, listed and acknowledged (three
 *   transactions, as the relay does on send, delivery and ack), each caller on its own mailbox;
 * - `storage/prekey-take/c<N>/<backend>`: one `takeBundle` (an atomic take of a one-time X25519
 *   and a one-time ML-KEM prekey), all callers fetching from the same 16 devices;
 * under N concurrent callers, on embedded PGlite and on PostgreSQL (when `DATABASE_URL` is set),
 * and as the ceiling `pgbench`'s simple-update script (`-N`) with N clients on the same server in
 * the same run. Writes a JSON report (default `benchmarks/results/storage-<timestamp>.json`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CryptoProvider,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  getProvider,
  kemPreKeyId,
  oneTimePreKeyId,
  registrationId,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { type MessageId, mailboxId, messageId, tenantId, userId } from '@cloister/protocol';
import {
  createServerStores,
  type OneTimePreKeys,
  type ServerStores,
  type SignedPreKeys,
} from '@cloister/server';
import type { StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter, createPostgresAdapter } from '@cloister/storage/sql';
import { describeMachine, loadAverage, PACKAGE_DIR } from '../machine.js';
import { dropSchema, timestamp, writeJson } from '../report-files.js';
import { closedLoop, type LoadResult } from './closed-loop.js';
import { hasPgbench, pgbenchSimpleUpdate, preparePgbench } from './pgbench.js';

const USAGE = `Usage: storage.ts [options]
  --quick               short smoke run (0.5 s per case, concurrency 1 and 8)
  --seconds N           measured seconds per case (default 3)
  --concurrency LIST    comma-separated caller counts (default 1,8,64)
  --backend NAME        pglite or postgres; repeatable (default: pglite, and postgres when DATABASE_URL is set)
  --out FILE            JSON report path (default benchmarks/results/storage-<timestamp>.json)
  --help                this text`;

const TENANT = tenantId('bench');
const DEVICES = 16;
const KEYS_PER_DEVICE = 1000;
const ENVELOPE = new Uint8Array(512).fill(0x5a);
const PGBENCH_DB = 'cloister_pgbench';

interface CaseReport extends LoadResult {
  readonly name: string;
  readonly backend: string;
  readonly op: string;
  /** This case's ops/s divided by pgbench's TPS with the same number of clients, same run. */
  readonly ratioToPgbench: number | null;
  readonly detail?: string;
}

interface Material {
  readonly signed: SignedPreKeys;
  readonly oneTime: OneTimePreKeys;
  readonly identity: Awaited<ReturnType<typeof generateDeviceIdentity>>;
}

async function keyMaterial(provider: CryptoProvider): Promise<Material> {
  const identity = await generateDeviceIdentity(provider);
  const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(1));
  const lastResort = await generateKemPreKey(provider, identity, kemPreKeyId(100_000), { lastResort: true });
  const kem = [];
  for (let i = 0; i < KEYS_PER_DEVICE; i++) {
    kem.push(
      toKemPreKeyPublic(
        await generateKemPreKey(provider, identity, kemPreKeyId(i + 1), { lastResort: false }),
      ),
    );
  }
  const pre = (await generateOneTimePreKeys(provider, oneTimePreKeyId(1), KEYS_PER_DEVICE)).map(
    toOneTimePreKeyPublic,
  );
  return {
    identity,
    signed: {
      signedPreKey: toSignedPreKeyPublic(spk),
      lastResortKemPreKey: toKemPreKeyPublic(lastResort),
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: await signSuites(provider, identity, ['v2'], {
        signedPreKeyId: spk.id,
        issuedAt: 1_700_000_000_000,
      }),
    },
    oneTime: { preKeys: pre, kemPreKeys: kem },
  };
}

async function seedDirectory(stores: ServerStores, m: Material): Promise<void> {
  await stores.tenants.create(TENANT, { name: 'Bench', signingKey: new Uint8Array(32) });
  for (let d = 0; d < DEVICES; d++) {
    const user = userId(`u${d}`);
    await stores.users.create(TENANT, user, { displayName: `User ${d}` });
    await stores.devices.add(TENANT, user, deviceId(1), {
      identity: toPublicIdentity(m.identity),
      registrationId: registrationId(d + 1),
      mailbox: mailboxId(`mbx_dev_${d}`),
      credentialHash: new Uint8Array(32).fill(d + 1),
    });
    await stores.bundles.setSigned(TENANT, user, deviceId(1), m.signed);
  }
}

/** Fresh ids for refills: a device refuses ids it already has, and taken ids must not return. */
let nextRefillId = 200_000;

/**
 * Tops every device up to the full number of one-time prekeys of each kind. Refills reuse the
 * public keys generated once, under fresh ids (the store does not check signatures).
 */
async function refill(stores: ServerStores, m: Material): Promise<void> {
  for (let d = 0; d < DEVICES; d++) {
    const user = userId(`u${d}`);
    const left = await stores.bundles.countOneTime(TENANT, user, deviceId(1));
    const pre = (m.oneTime.preKeys ?? []).slice(0, KEYS_PER_DEVICE - left.preKeys);
    const kem = (m.oneTime.kemPreKeys ?? []).slice(0, KEYS_PER_DEVICE - left.kemPreKeys);
    for (let i = 0; i < Math.max(pre.length, kem.length); i += 250) {
      await stores.bundles.addOneTime(TENANT, user, deviceId(1), {
        preKeys: pre.slice(i, i + 250).map((k) => ({ ...k, id: oneTimePreKeyId(nextRefillId++) })),
        kemPreKeys: kem.slice(i, i + 250).map((k) => ({ ...k, id: kemPreKeyId(nextRefillId++) })),
      });
    }
  }
}

/** Message ids are unique across the whole run: an acknowledged id stays known (a tombstone). */
let messageCounter = 0;

async function mailboxCycle(stores: ServerStores, concurrency: number, seconds: number): Promise<LoadResult> {
  const now = Date.now();
  return closedLoop({
    concurrency,
    durationMs: seconds * 1000,
    warmupMs: Math.min(500, seconds * 200),
    async op(worker) {
      const mailbox = mailboxId(`mbx_w${worker}`);
      const id: MessageId = messageId(`m${messageCounter++}`);
      await stores.mailboxes.enqueue(mailbox, {
        messageId: id,
        envelope: ENVELOPE,
        expiresAt: now + 86_400_000,
      });
      const page = await stores.mailboxes.list(mailbox, { limit: 1 });
      const first = page.items[0];
      if (first === undefined) throw new Error('an enqueued envelope was not listed');
      if ((await stores.mailboxes.ack(mailbox, [first.messageId])) !== 1)
        throw new Error('ack removed nothing');
    },
  });
}

async function prekeyTakes(
  stores: ServerStores,
  concurrency: number,
  seconds: number,
): Promise<LoadResult & { fallbacks: number }> {
  let fallbacks = 0;
  const result = await closedLoop({
    concurrency,
    durationMs: seconds * 1000,
    warmupMs: Math.min(500, seconds * 200),
    async op(worker, i) {
      const d = (worker * 7 + i) % DEVICES;
      const bundle = await stores.bundles.takeBundle(TENANT, userId(`u${d}`), deviceId(1));
      if (bundle === undefined) throw new Error('no bundle');
      if (bundle.oneTimePreKey === undefined) fallbacks++;
    },
  });
  return { ...result, fallbacks };
}

function row(c: CaseReport): string {
  const ratio = c.ratioToPgbench === null ? '' : `  ${(c.ratioToPgbench * 100).toFixed(1)}% of pgbench`;
  return `${c.name.padEnd(40)} ${c.opsPerSecond.toFixed(0).padStart(8)} ops/s  p50 ${c.latencyMs.p50.toFixed(2)} ms  p99 ${c.latencyMs.p99.toFixed(2)} ms${ratio}${c.detail ? `  (${c.detail})` : ''}`;
}

async function openBackend(
  backend: string,
  databaseUrl: string | undefined,
  poolSize: number,
): Promise<{ adapter: StorageAdapter; cleanup: () => Promise<void> }> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'cloister-bench-pglite-'));
    const adapter = await createPGliteAdapter({ dataDir: dir });
    return {
      adapter,
      cleanup: async () => {
        await adapter.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (databaseUrl === undefined) throw new Error('postgres needs DATABASE_URL');
  const schema = `bench_${process.pid}_${Date.now()}`;
  const adapter = await createPostgresAdapter({ connectionString: databaseUrl, schema, poolSize });
  return {
    adapter,
    cleanup: async () => {
      await adapter.close();
      await dropSchema(databaseUrl, schema);
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let values: {
    quick?: boolean;
    seconds?: string;
    concurrency?: string;
    backend?: string[];
    out?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        quick: { type: 'boolean' },
        seconds: { type: 'string' },
        concurrency: { type: 'string' },
        backend: { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const seconds = values.quick ? 0.5 : Number(values.seconds ?? '3');
  const levels = (values.concurrency ?? (values.quick ? '1,8' : '1,8,64')).split(',').map(Number);
  const backends = values.backend ?? (databaseUrl === undefined ? ['pglite'] : ['pglite', 'postgres']);
  if (
    !(seconds > 0 && seconds <= 600) ||
    levels.some((n) => !Number.isInteger(n) || n < 1 || n > 256) ||
    backends.some((b) => b !== 'pglite' && b !== 'postgres')
  ) {
    console.error(`bad arguments\n\n${USAGE}`);
    return 2;
  }
  if (backends.includes('postgres') && databaseUrl === undefined) {
    console.error('--backend postgres needs DATABASE_URL');
    return 2;
  }

  const started = new Date();
  const machine = describeMachine();
  console.log(
    `Cloister storage load: ${backends.join(', ')}; concurrency ${levels.join(', ')}; ${seconds} s per case\n`,
  );
  const provider = await getProvider();
  const material = await keyMaterial(provider);
  const cases: CaseReport[] = [];

  const pgbench = new Map<number, number>();
  if (databaseUrl !== undefined && backends.includes('postgres')) {
    if (await hasPgbench()) {
      await preparePgbench(databaseUrl, PGBENCH_DB);
      for (const n of levels) {
        const tps = await pgbenchSimpleUpdate(databaseUrl, PGBENCH_DB, n, Math.max(1, Math.round(seconds)));
        pgbench.set(n, tps);
        console.log(
          `${`storage/pgbench-simple-update/c${n}/postgres`.padEnd(40)} ${tps.toFixed(0).padStart(8)} tps`,
        );
      }
    } else {
      console.log('pgbench not found: no ceiling in this run');
    }
  }

  for (const backend of backends) {
    const { adapter, cleanup } = await openBackend(backend, databaseUrl, Math.max(...levels) + 2);
    try {
      const stores = createServerStores(adapter, { provider });
      await seedDirectory(stores, material);
      for (const n of levels) {
        const ceiling = backend === 'postgres' ? (pgbench.get(n) ?? null) : null;
        const mail = await mailboxCycle(stores, n, seconds);
        const mailCase: CaseReport = {
          ...mail,
          name: `storage/mailbox-cycle/c${n}/${backend}`,
          backend,
          op: 'mailbox-cycle',
          ratioToPgbench: ceiling === null ? null : mail.opsPerSecond / ceiling,
        };
        cases.push(mailCase);
        console.log(row(mailCase));
        await refill(stores, material);
        const take = await prekeyTakes(stores, n, seconds);
        const takeCase: CaseReport = {
          ...take,
          name: `storage/prekey-take/c${n}/${backend}`,
          backend,
          op: 'prekey-take',
          ratioToPgbench: ceiling === null ? null : take.opsPerSecond / ceiling,
          ...(take.fallbacks > 0
            ? { detail: `${take.fallbacks} fetches fell back to the last-resort key` }
            : {}),
        };
        cases.push(takeCase);
        console.log(row(takeCase));
      }
    } finally {
      await cleanup();
    }
  }

  for (const [n, tps] of pgbench) {
    cases.push({
      name: `storage/pgbench-simple-update/c${n}/postgres`,
      backend: 'postgres',
      op: 'pgbench-simple-update',
      concurrency: n,
      operations: Math.round(tps * Math.max(1, Math.round(seconds))),
      seconds: Math.max(1, Math.round(seconds)),
      opsPerSecond: tps,
      latencyMs: { p50: Number.NaN, p99: Number.NaN, mean: (1000 * n) / tps, max: Number.NaN },
      errors: 0,
      ratioToPgbench: 1,
    });
  }
  const finished = new Date();
  const out = values.out
    ? resolve(values.out)
    : join(PACKAGE_DIR, 'results', `storage-${timestamp(started)}${values.quick ? '-quick' : ''}.json`);
  const report = {
    format: 'cloister-storage-load/1',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    args: [...argv],
    machine,
    loadAverageAtEnd: loadAverage(),
    cases,
  };
  writeJson(out, report);
  console.log(`\nreport: ${out}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
