/**
 * The audit tree over the store (memory adapter): a checkpoint of a long log reads it in batches
 * of at most 512 records (never the whole log at once), each record once and its root equals RFC 9162's; the log
 * key is made once even when two first uses race, is the same afterwards, and its private half
 * is in no answer; block hashes are cached only for records a checkpoint checked; an interrupted
 * check resumes from its last whole block; a checkpoint over a log shorter than the last signed one is refused.
 */
import { type CryptoProvider, concatBytes, getProvider, utf8 } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { adapterExecutor, createMemoryAdapter, decodeRecord, type StorageAdapter } from '@cloister/storage';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_LOG_KEYS_TABLE,
  AUDIT_TREE_TABLE,
  createAuditTree,
  TREE_BLOCK,
} from '../src/store/audit-tree.js';
import {
  type AuditLog,
  type AuditRange,
  appendAuditRecords,
  createServerStores,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

const acme = tenantId('acme');
let provider: CryptoProvider;
let db: StorageAdapter;
let stores: ServerStores;

beforeAll(async () => {
  provider = await getProvider();
});
beforeEach(() => {
  db = createMemoryAdapter({ now: () => 1_000 });
  stores = createServerStores(db, { provider });
});

async function fill(n: number): Promise<void> {
  for (let done = 0; done < n; done += 5000) {
    const inputs = Array.from({ length: Math.min(5000, n - done) }, (_v, i) => ({
      actor: 'system',
      action: 'user.block',
      target: `u${done + i}`,
      outcome: 'success' as const,
    }));
    await db.transaction((tx) => appendAuditRecords(tx, provider, acme, inputs));
  }
}

/** RFC 9162 MTH over leaf hashes, iteratively level by level (a second, independent method). */
async function rootByLevels(leafData: Uint8Array[]): Promise<Uint8Array> {
  let level = await Promise.all(leafData.map((d) => provider.sha256(concatBytes(Uint8Array.of(0), d))));
  if (level.length === 0) return provider.sha256(new Uint8Array(0));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(
        await provider.sha256(
          concatBytes(Uint8Array.of(1), level[i] as Uint8Array, level[i + 1] as Uint8Array),
        ),
      );
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
    level = next;
  }
  return level[0] as Uint8Array;
}

const node = (l: Uint8Array, r: Uint8Array) => provider.sha256(concatBytes(Uint8Array.of(1), l, r));

/** RFC 9162 §2.1.3.2. */
async function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: Uint8Array[],
  root: Uint8Array,
) {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = await node(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

/** RFC 9162 §2.1.4.2 (0 < first < second). */
async function verifyConsistency(
  first: number,
  second: number,
  h1: Uint8Array,
  h2: Uint8Array,
  proof: Uint8Array[],
) {
  const path = Number.isInteger(Math.log2(first)) ? [h1, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await node(c, fr);
      sr = await node(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else sr = await node(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return Buffer.from(fr).equals(Buffer.from(h1)) && Buffer.from(sr).equals(Buffer.from(h2)) && sn === 0;
}

describe('audit tree over the store', () => {
  it('signs a checkpoint of a long log reading at most 512 records at a time, each once', async () => {
    const n = 12_345;
    await fill(n);
    let largest = 0;
    let reads = 0;
    const counted: AuditLog = {
      ...stores.audit,
      list: async (tenant, range?: AuditRange) => {
        const got = await stores.audit.list(tenant, range);
        largest = Math.max(largest, got.length);
        reads++;
        return got;
      },
    };
    const tree = createAuditTree(adapterExecutor(db), provider, counted);
    const started = performance.now();
    const { note, size, root } = await tree.checkpoint(acme);
    const ms = performance.now() - started;
    expect(size).toBe(n);
    expect(largest).toBeLessThanOrEqual(512);
    // Each record once (the chain check, which also caches the blocks), then the last partial block.
    expect(reads).toBe(Math.ceil(n / 512) + 1);
    expect(note.split('\n')[1]).toBe(String(n));
    const all = [];
    for (let seq = 1; seq <= n; seq += 1000)
      all.push(...(await stores.audit.list(acme, { fromSeq: seq, limit: 1000 })));
    expect(Buffer.from(root)).toEqual(Buffer.from(await rootByLevels(all.map((r) => r.hash))));
    console.info(`audit checkpoint over ${n} records: ${ms.toFixed(0)} ms`);
    // Later checkpoints and proofs read only the records after the last whole block.
    await fill(100);
    reads = 0;
    const next = await tree.checkpoint(acme);
    expect(next.size).toBe(n + 100);
    // The new records, and the partial last blocks of the old and the new tree.
    expect(reads).toBeLessThanOrEqual(3);
    // A proof reads the leaves of the block holding its leaf (one small range per level inside
    // the block) and the partial last block; whole blocks come from the cache.
    reads = 0;
    const proof = await tree.inclusionProof(acme, 7_000, n + 100);
    expect(reads).toBeLessThanOrEqual(2 + Math.log2(TREE_BLOCK));
    reads = 0;
    const consistency = await tree.consistencyProof(acme, n, n + 100);
    expect(reads).toBeLessThanOrEqual(2 + Math.log2(TREE_BLOCK));
    // The proofs from cached blocks verify against roots computed level by level from all leaves.
    const more = await stores.audit.list(acme, { fromSeq: n + 1, limit: 1000 });
    const leafData = [...all, ...more].map((r) => r.hash);
    const newRoot = await rootByLevels(leafData);
    expect(Buffer.from(next.root)).toEqual(Buffer.from(newRoot));
    const leaf7000 = await provider.sha256(concatBytes(Uint8Array.of(0), leafData[7_000] as Uint8Array));
    expect(await verifyInclusion(7_000, n + 100, leaf7000, proof, newRoot)).toBe(true);
    expect(await verifyInclusion(7_001, n + 100, leaf7000, proof, newRoot)).toBe(false);
    expect(await verifyConsistency(n, n + 100, root, newRoot, consistency)).toBe(true);
    expect(await verifyConsistency(n, n + 100, newRoot, newRoot, consistency)).toBe(false);
  }, 120_000);

  it('makes the log key once, even when two first uses race, and never answers its private half', async () => {
    await fill(3);
    const tree = createAuditTree(adapterExecutor(db), provider, stores.audit);
    const [a, b] = await Promise.all([tree.logKey(acme), tree.logKey(acme)]);
    expect(a.verifierKey).toBe(b.verifierKey);
    const { note } = await tree.checkpoint(acme);
    expect(note).toContain(`\u2014 ${a.origin} `);
    const row = await db.transaction((tx) => tx.get(AUDIT_LOG_KEYS_TABLE, utf8('acme'), utf8('key')));
    const stored = decodeRecord(row?.value as Uint8Array, AUDIT_LOG_KEYS_TABLE).d as {
      privateKey: Uint8Array;
    };
    const secret = Buffer.from(stored.privateKey).toString('base64');
    expect(JSON.stringify(a)).not.toContain(secret);
    expect(note).not.toContain(secret);
    expect((await tree.logKey(acme)).verifierKey).toBe(a.verifierKey);
    // Another tenant has another key and origin.
    await stores.audit.append(tenantId('other'), {
      actor: 's',
      action: 'x.y',
      target: '',
      outcome: 'success',
    });
    const other = await tree.logKey(tenantId('other'));
    expect(other.origin).not.toBe(a.origin);
    expect(Buffer.from(other.publicKey)).not.toEqual(Buffer.from(a.publicKey));
  });

  it('caches block hashes only for records a checkpoint has checked', async () => {
    await fill(2 * TREE_BLOCK + 5);
    const tree = createAuditTree(adapterExecutor(db), provider, stores.audit);
    const cachedBlocks = () =>
      db.transaction((tx) => tx.list(AUDIT_TREE_TABLE, utf8('acme'), { limit: 100 }));
    await tree.inclusionProof(acme, 3, 2 * TREE_BLOCK + 5);
    expect(await cachedBlocks()).toHaveLength(0);
    await tree.checkpoint(acme);
    expect(await cachedBlocks()).toHaveLength(2);
  });

  it('resumes a chain check that was interrupted (a request timeout) from its last whole block', async () => {
    const n = 3 * TREE_BLOCK + 10;
    await fill(n);
    let calls = 0;
    const failing: AuditLog = {
      ...stores.audit,
      list: async (tenant, range?: AuditRange) => {
        if (++calls > 4) throw new Error('request timed out');
        return stores.audit.list(tenant, range);
      },
    };
    await expect(createAuditTree(adapterExecutor(db), provider, failing).checkpoint(acme)).rejects.toThrow(
      'request timed out',
    );
    let reads = 0;
    const counted: AuditLog = {
      ...stores.audit,
      list: async (tenant, range?: AuditRange) => {
        reads++;
        return stores.audit.list(tenant, range);
      },
    };
    const { root } = await createAuditTree(adapterExecutor(db), provider, counted).checkpoint(acme);
    // Records 2049.. only (3 batches), then the partial last block.
    expect(reads).toBe(Math.ceil((n - 2 * TREE_BLOCK) / 512) + 1);
    const all = [];
    for (let seq = 1; seq <= n; seq += 1000)
      all.push(...(await stores.audit.list(acme, { fromSeq: seq, limit: 1000 })));
    expect(Buffer.from(root)).toEqual(Buffer.from(await rootByLevels(all.map((r) => r.hash))));
  });

  it('refuses a checkpoint when the log is shorter than the last signed one', async () => {
    await fill(10);
    const tree = createAuditTree(adapterExecutor(db), provider, stores.audit);
    expect((await tree.checkpoint(acme)).size).toBe(10);
    // The operator truncates the log to 8 records and moves the head back (a valid chain).
    const eighth = (await stores.audit.list(acme, { fromSeq: 8, limit: 1 }))[0];
    await db.transaction(async (tx) => {
      for (const seq of [9, 10]) {
        const key = new Uint8Array(8);
        new DataView(key.buffer).setBigUint64(0, BigInt(seq));
        await tx.delete(SERVER_TABLES.audit, utf8('acme'), key);
      }
      const head = await tx.get(SERVER_TABLES.auditHead, utf8('acme'), new Uint8Array(0));
      const { v } = decodeRecord(head?.value as Uint8Array, SERVER_TABLES.auditHead);
      const { encodeRecord } = await import('@cloister/storage');
      await tx.put(SERVER_TABLES.auditHead, {
        partition: utf8('acme'),
        sort: new Uint8Array(0),
        value: encodeRecord(v, { seq: 8, hash: eighth?.hash as Uint8Array }),
      });
    });
    expect(await stores.audit.verifyChain(acme)).toMatchObject({ ok: true, count: 8 });
    await expect(tree.checkpoint(acme)).rejects.toMatchObject({ constraint: 'audit.checkpoint' });
  });
});
