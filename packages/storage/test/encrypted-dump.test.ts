/**
 * The acceptance test of encryption at rest: canaries written through the wrapper must not be
 * found anywhere in what the backend holds, in any of the usual encodings. Each scan is paired
 * with a control run without the wrapper, which must find every canary, so the scan cannot pass
 * by looking in the wrong place.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoProvider, getProvider, toHex, utf8 } from '@cloister/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter, StorageTx } from '../src/adapter.js';
import { createEncryptedAdapter } from '../src/encrypted/index.js';
import { createMemoryAdapter } from '../src/memory.js';
import { encodeRecord } from '../src/records.js';
import { createPGliteAdapter } from '../src/sql/index.js';

let provider: CryptoProvider;
beforeAll(async () => {
  provider = await getProvider();
});

const DATA_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 3);
const identityKey = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

/** The secrets that must never reach the backend in clear. */
const CANARIES: Record<string, Uint8Array> = {
  userName: utf8('canary-alice-7f3a'),
  message: utf8('canary message: meet me at the north gate at 7 (7f3a)'),
  identityKey,
  identityKeyHex: utf8(toHex(identityKey)),
  partitionId: utf8('canary-conversation-7f3a-partition'),
  sortKey: utf8('canary-device-7f3a-sortkey'),
};

/** Writes the canaries the way typed stores do: as keys, raw bytes and JSON records. */
async function seed(tx: StorageTx): Promise<void> {
  const c = CANARIES;
  await tx.put('c_identities', {
    partition: c.userName!,
    sort: c.sortKey!,
    value: encodeRecord(1, { name: 'canary-alice-7f3a', key: identityKey, keyHex: toHex(identityKey) }),
  });
  await tx.put('c_identities', { partition: c.userName!, sort: utf8('raw'), value: identityKey });
  await tx.put('c_messages', {
    partition: c.partitionId!,
    sort: Uint8Array.of(0, 0, 1, 0x8c, 0x12, 0x34),
    value: encodeRecord(1, {
      text: 'canary message: meet me at the north gate at 7 (7f3a)',
      from: 'canary-alice-7f3a',
    }),
    expiresAt: 4_000_000_000_000,
  });
  await tx.put('c_messages', {
    partition: c.partitionId!,
    sort: Uint8Array.of(0, 0, 1, 0x8c, 0x12, 0x35),
    value: c.message!,
  });
  await tx.put('c_settings', { partition: new Uint8Array(), sort: c.userName!, value: c.identityKeyHex! });
}

/** Every form in which `bytes` could show up in a dump. */
function encodings(bytes: Uint8Array, utf16: boolean): Buffer[] {
  const out: Buffer[] = [Buffer.from(bytes)];
  const hex = Buffer.from(bytes).toString('hex');
  const strings = [hex, hex.toUpperCase()];
  for (let shift = 0; shift < 3; shift++) {
    // base64 of the canary at each alignment within a larger encoded string: keep only the
    // 4-character groups made entirely of canary bytes.
    const padded = Buffer.concat([Buffer.alloc(shift), Buffer.from(bytes)]);
    const skip = shift === 0 ? 0 : 4;
    const first = shift === 0 ? 0 : 3 - shift;
    const groups = Math.floor((bytes.length - first) / 3);
    for (const alphabet of ['base64', 'base64url'] as const) {
      strings.push(padded.toString(alphabet).slice(skip, skip + 4 * groups));
    }
  }
  for (const s of strings) {
    out.push(Buffer.from(s, 'utf8'));
    if (utf16) out.push(Buffer.from(s, 'utf16le'));
  }
  if (utf16) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    out.push(Buffer.from(text, 'utf16le'));
  }
  return out;
}

/** Names of the canaries found in `dump`. */
function findCanaries(dump: Buffer, utf16: boolean): string[] {
  return Object.entries(CANARIES)
    .filter(([, bytes]) => encodings(bytes, utf16).some((needle) => dump.includes(needle)))
    .map(([name]) => name);
}

/** Wraps an adapter to record every (table, partition) it is asked to write. */
function recording(inner: StorageAdapter): {
  adapter: StorageAdapter;
  stored: Map<string, [string, Uint8Array]>;
} {
  const stored = new Map<string, [string, Uint8Array]>();
  const adapter: StorageAdapter = {
    kind: inner.kind,
    now: inner.now,
    transaction: (fn, options) =>
      inner.transaction(
        (tx) =>
          fn({
            now: tx.now,
            get: (...a) => tx.get(...a),
            put: (table, row, o) => {
              stored.set(`${table}/${toHex(row.partition)}`, [table, row.partition.slice()]);
              return tx.put(table, row, o);
            },
            putMany: (table, rows, o) => {
              for (const row of rows) {
                stored.set(`${table}/${toHex(row.partition)}`, [table, row.partition.slice()]);
              }
              return tx.putMany(table, rows, o);
            },
            claimMany: (table, claims, behind) => {
              for (const row of claims)
                stored.set(`${table}/${toHex(row.partition)}`, [table, row.partition.slice()]);
              for (const row of behind.rows) {
                stored.set(`${behind.table}/${toHex(row.partition)}`, [behind.table, row.partition.slice()]);
              }
              return tx.claimMany(table, claims, behind);
            },
            getMany: (...a) => tx.getMany(...a),
            deleteMany: (...a) => tx.deleteMany(...a),
            delete: (...a) => tx.delete(...a),
            list: (...a) => tx.list(...a),
            take: (...a) => tx.take(...a),
            count: (...a) => tx.count(...a),
            usage: (...a) => tx.usage(...a),
            deletePartition: (...a) => tx.deletePartition(...a),
          }),
        options,
      ),
    purgeExpired: (options) => inner.purgeExpired(options),
    close: () => inner.close(),
  };
  return { adapter, stored };
}

/** Every byte the inner adapter holds in the recorded partitions, read back through its own `list`. */
async function dumpRows(inner: StorageAdapter, stored: Map<string, [string, Uint8Array]>): Promise<Buffer> {
  const parts: Buffer[] = [];
  await inner.transaction(async (tx) => {
    for (const [table, partition] of stored.values()) {
      for (const row of await tx.list(table, partition, { limit: 10_000 })) {
        parts.push(
          Buffer.from(table),
          Buffer.from(row.partition),
          Buffer.from(row.sort),
          Buffer.from(row.value),
        );
      }
    }
  });
  return Buffer.concat(parts);
}

describe('encryption at rest: dump of the inner adapter', () => {
  it('a plain memory adapter holds every canary (control)', async () => {
    const { adapter, stored } = recording(createMemoryAdapter());
    await adapter.transaction(seed);
    expect(findCanaries(await dumpRows(adapter, stored), false).sort()).toEqual(Object.keys(CANARIES).sort());
  });

  it('an encrypted memory adapter holds none, with ordered or hashed sort keys', async () => {
    for (const orderedTables of [[], ['c_messages']]) {
      const { adapter: inner, stored } = recording(createMemoryAdapter());
      const db = createEncryptedAdapter(inner, { dataKey: DATA_KEY, provider, orderedTables });
      await db.transaction(seed);
      const dump = await dumpRows(inner, stored);
      expect(dump.length).toBeGreaterThan(500);
      expect(findCanaries(dump, false)).toEqual([]);
      // The caller still reads everything back.
      const back = await db.transaction((tx) => tx.get('c_settings', new Uint8Array(), CANARIES.userName!));
      expect(back?.value).toEqual(CANARIES.identityKeyHex);
      expect(await db.transaction((tx) => tx.count('c_messages', CANARIES.partitionId!))).toBe(2);
    }
  });
});

describe('encryption at rest: files of a PGlite data directory', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function filesUnder(dir: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) parts.push(await readFile(join(entry.parentPath, entry.name)));
    }
    return Buffer.concat(parts);
  }

  async function writeAndScan(encrypted: boolean): Promise<{ found: string[]; size: number }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'cloister-enc-dump-'));
    dirs.push(dataDir);
    const pglite = await createPGliteAdapter({ dataDir });
    const db = encrypted
      ? createEncryptedAdapter(pglite, { dataKey: DATA_KEY, provider, orderedTables: ['c_messages'] })
      : pglite;
    await db.transaction(seed);
    // Replace and delete some rows too, so old row versions are left in the files.
    await db.transaction(async (tx) => {
      await tx.put('c_settings', {
        partition: new Uint8Array(),
        sort: CANARIES.userName!,
        value: CANARIES.message!,
      });
      await tx.delete('c_identities', CANARIES.userName!, utf8('raw'));
    });
    // The wrapper reads its rows back from PGlite.
    const back = await db.transaction(async (tx) => ({
      setting: await tx.get('c_settings', new Uint8Array(), CANARIES.userName!),
      messages: await tx.list('c_messages', CANARIES.partitionId!, { reverse: true }),
    }));
    expect(back.setting?.value).toEqual(CANARIES.message);
    expect(back.messages.map((r) => r.sort[5])).toEqual([0x35, 0x34]);
    await db.close();
    const dump = await filesUnder(dataDir);
    return { found: findCanaries(dump, true), size: dump.length };
  }

  it('finds every canary in a plain PGlite directory (control) and none behind the wrapper', async () => {
    const [plain, sealed] = await Promise.all([writeAndScan(false), writeAndScan(true)]);
    expect(plain.found.sort()).toEqual(Object.keys(CANARIES).sort());
    expect(sealed.size).toBeGreaterThan(1_000_000);
    expect(sealed.found).toEqual([]);
  }, 120_000);
});
