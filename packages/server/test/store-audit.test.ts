import { type CloisterError, type CryptoProvider, concatBytes, getProvider, utf8 } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter, decodeRecord, encodeRecord, type RecordValue } from '@cloister/storage';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_CHAIN_LABEL,
  type AuditInput,
  canonicalBytes,
  createServerStores,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
}

const acme = tenantId('acme');
const other = tenantId('other');
const entry = (n: number): AuditInput => ({
  actor: `admin-${n % 3}`,
  action: 'user.block',
  target: `user-${n}`,
  outcome: 'success',
  details: { n, reason: 'left the company' },
});
const seqKey = (n: number) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

let provider: CryptoProvider;
let time: number;
let db: StorageAdapter;
let stores: ServerStores;

beforeAll(async () => {
  provider = await getProvider();
});

beforeEach(() => {
  time = 1_000;
  db = createMemoryAdapter({ now: () => time });
  stores = createServerStores(db, { provider });
});

/** Rewrites the stored audit record `seq` of acme through `change`. */
async function tamper(seq: number, change: (d: Record<string, RecordValue>) => void): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await tx.get(SERVER_TABLES.audit, utf8('acme'), seqKey(seq));
    if (row === undefined) throw new Error('no such record');
    const d = decodeRecord(row.value, 'test').d as Record<string, RecordValue>;
    change(d);
    await tx.put(SERVER_TABLES.audit, { ...row, value: encodeRecord(1, d) });
  });
}

describe('audit log', () => {
  it('chains records with the documented hash', async () => {
    const first = await stores.audit.append(acme, {
      actor: 'admin-1',
      action: 'user.block',
      target: 'alice',
      outcome: 'success',
      details: { reason: 'left' },
    });
    expect(first.seq).toBe(1);
    expect(first.at).toBe(1_000);
    expect(first.prevHash).toEqual(new Uint8Array(32));
    const canonical =
      '{"action":"user.block","actor":"admin-1","at":1000,"details":{"reason":"left"},"outcome":"success","seq":1,"target":"alice","tenant":"acme"}';
    const expected = await provider.sha256(
      concatBytes(utf8('cloister/v1/audit/chain'), new Uint8Array(32), utf8(canonical)),
    );
    expect(first.hash).toEqual(expected);
    expect(AUDIT_CHAIN_LABEL).toBe('cloister/v1/audit/chain');
    const second = await stores.audit.append(acme, { ...entry(2), at: 500 });
    expect(second.seq).toBe(2);
    expect(second.at).toBe(500);
    expect(second.prevHash).toEqual(first.hash);
    expect(await stores.audit.head(acme)).toEqual({ seq: 2, hash: second.hash });
  });

  it('canonical bytes sort keys and encode bytes like the record codec', () => {
    const text = new TextDecoder().decode(
      canonicalBytes({ b: [1, 'x', null], a: { d: true, c: new Uint8Array([1, 2]) } }),
    );
    expect(text).toBe('{"a":{"c":{"$b":"AQI="},"d":true},"b":[1,"x",null]}');
  });

  it('50 concurrent appends form one chain that verifies', async () => {
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores.audit.append(acme, entry(i))),
    );
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    await stores.audit.append(other, entry(0));
    const check = await stores.audit.verifyChain(acme);
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.count).toBe(50);
      expect(check.head).toEqual((await stores.audit.head(acme))?.hash);
    }
    const listed = await stores.audit.list(acme, { fromSeq: 10, toSeq: 14 });
    expect(listed.map((r) => r.seq)).toEqual([10, 11, 12, 13, 14]);
    expect((await stores.audit.list(acme, { fromSeq: 49 })).map((r) => r.seq)).toEqual([49, 50]);
    expect(await stores.audit.list(acme, { fromSeq: 5, toSeq: 4 })).toEqual([]);
    expect(await stores.audit.verifyChain(other)).toMatchObject({ ok: true, count: 1 });
  });

  it('finds the first altered, removed or undecodable record', async () => {
    for (let i = 0; i < 20; i++) await stores.audit.append(acme, entry(i));
    expect((await stores.audit.verifyChain(acme)).ok).toBe(true);

    await tamper(17, (d) => {
      d.actor = 'someone-else';
    });
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 17 });
    await tamper(12, (d) => {
      d.details = { n: 12, reason: 'changed' };
    });
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 12 });
  });

  it('detects a rewritten hash, a gap, a truncated tail and garbage', async () => {
    for (let i = 0; i < 10; i++) await stores.audit.append(acme, entry(i));
    // Re-hashing one record does not help: the next record's prevHash no longer matches.
    await tamper(4, (d) => {
      d.target = 'x';
      d.hash = new Uint8Array(32).fill(1);
    });
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 4 });

    db = createMemoryAdapter({ now: () => time });
    stores = createServerStores(db, { provider });
    for (let i = 0; i < 10; i++) await stores.audit.append(acme, entry(i));
    await db.transaction((tx) => tx.delete(SERVER_TABLES.audit, utf8('acme'), seqKey(6)));
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 6 });

    db = createMemoryAdapter({ now: () => time });
    stores = createServerStores(db, { provider });
    for (let i = 0; i < 10; i++) await stores.audit.append(acme, entry(i));
    await db.transaction((tx) => tx.delete(SERVER_TABLES.audit, utf8('acme'), seqKey(10)));
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 10 });

    await db.transaction(async (tx) => {
      const row = await tx.get(SERVER_TABLES.audit, utf8('acme'), seqKey(3));
      if (row !== undefined) await tx.put(SERVER_TABLES.audit, { ...row, value: utf8('{"v":1,"d":{}}') });
    });
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: false, firstBadSeq: 3 });
  });

  it('validates entries and writes nothing for bad ones', async () => {
    await rejectsWith(
      stores.audit.append(acme, { ...entry(1), action: 'Bad Action' }),
      'ERR_VALIDATION',
      'action',
    );
    await rejectsWith(
      stores.audit.append(acme, { ...entry(1), outcome: 'maybe' as never }),
      'ERR_VALIDATION',
      'outcome',
    );
    await rejectsWith(stores.audit.append(acme, { ...entry(1), actor: '' }), 'ERR_VALIDATION', 'actor');
    await rejectsWith(
      stores.audit.append(acme, { ...entry(1), details: { big: 'x'.repeat(20_000) } }),
      'ERR_VALIDATION',
      'details',
    );
    await rejectsWith(
      stores.audit.append(acme, { ...entry(1), details: { n: Number.NaN } }),
      'ERR_VALIDATION',
    );
    await rejectsWith(stores.audit.list(acme, { limit: 5000 }), 'ERR_VALIDATION', 'range.limit');
    expect(await stores.audit.head(acme)).toBeUndefined();
    expect(await stores.audit.verifyChain(acme)).toEqual({ ok: true, count: 0, head: new Uint8Array(32) });
  });

  it('audit rows never expire', async () => {
    await stores.audit.append(acme, entry(1));
    time = Number.MAX_SAFE_INTEGER - 1;
    expect((await db.purgeExpired()).deleted).toBe(0);
    expect((await stores.audit.verifyChain(acme)).ok).toBe(true);
  });
});
