import { type CloisterError, DecodeError, utf8 } from '@cloister/crypto';
import { groupId, poolId, tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter, encodeRecord } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createServerStores,
  type PolicyDocument,
  type PolicyLayer,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  detail?: Record<string, string>,
): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  for (const [k, v] of Object.entries(detail ?? {}))
    expect((error as unknown as Record<string, unknown>)[k]).toBe(v);
}

const acme = tenantId('acme');
const other = tenantId('other');
const doc: PolicyDocument = {
  'files.send': { enabled: false, locked: true },
  retention: { enabled: true, locked: false, config: { days: 30, scopes: ['server', 'device'] } },
};

let time: number;
let db: StorageAdapter;
let stores: ServerStores;

beforeEach(() => {
  time = 10_000;
  db = createMemoryAdapter({ now: () => time });
  stores = createServerStores(db);
});

describe('policies', () => {
  it('stores one document per layer and lists a tenant’s layers', async () => {
    const layers: PolicyLayer[] = [
      { kind: 'server' },
      { kind: 'tenant', tenant: acme },
      { kind: 'pool', tenant: acme, pool: poolId('ward-3') },
      { kind: 'group', tenant: acme, group: groupId('g1') },
      { kind: 'user', tenant: acme, user: userId('alice') },
      { kind: 'user', tenant: other, user: userId('alice') },
    ];
    for (const layer of layers) await stores.policies.set(layer, doc);
    const got = await stores.policies.get({ kind: 'pool', tenant: acme, pool: poolId('ward-3') });
    expect(got?.document).toEqual(doc);
    expect(got?.revision).toBe(1);
    expect(got?.updatedAt).toBe(10_000);
    const page1 = await stores.policies.list(acme, { limit: 2 });
    const page2 = await stores.policies.list(acme, { after: page1.next as string, limit: 10 });
    const kinds = [...page1.items, ...page2.items].map((p) => p.layer.kind).sort();
    expect(kinds).toEqual(['group', 'pool', 'tenant', 'user']);
    expect((await stores.policies.get({ kind: 'server' }))?.layer).toEqual({ kind: 'server' });
    expect(await stores.policies.delete({ kind: 'group', tenant: acme, group: groupId('g1') })).toBe(true);
    expect(await stores.policies.get({ kind: 'group', tenant: acme, group: groupId('g1') })).toBeUndefined();
  });

  it('bumps revisions and refuses a stale write', async () => {
    const layer: PolicyLayer = { kind: 'tenant', tenant: acme };
    await rejectsWith(stores.policies.set(layer, doc, { expectedRevision: 3 }), 'ERR_STORAGE', {
      constraint: 'policy.revision',
    });
    const p1 = await stores.policies.set(layer, doc, { expectedRevision: 0 });
    const p2 = await stores.policies.set(layer, {}, { expectedRevision: p1.revision });
    expect(p2.revision).toBe(2);
    await rejectsWith(stores.policies.set(layer, doc, { expectedRevision: 1 }), 'ERR_STORAGE', {
      constraint: 'policy.revision',
    });
    expect((await stores.policies.get(layer))?.document).toEqual({});
  });

  it('validates layers and documents', async () => {
    const layer: PolicyLayer = { kind: 'tenant', tenant: acme };
    await rejectsWith(stores.policies.set({ kind: 'planet' } as never, doc), 'ERR_VALIDATION', {
      field: 'layer.kind',
    });
    await rejectsWith(stores.policies.set({ kind: 'pool', tenant: acme } as never, doc), 'ERR_VALIDATION', {
      field: 'layer.pool',
    });
    await rejectsWith(
      stores.policies.set(layer, { 'Bad Name': { enabled: true, locked: false } }),
      'ERR_VALIDATION',
    );
    await rejectsWith(
      stores.policies.set(layer, { x: { enabled: 'yes', locked: false } } as never),
      'ERR_VALIDATION',
      {
        field: 'document.x.enabled',
      },
    );
    await rejectsWith(
      stores.policies.set(layer, { x: { enabled: true, locked: false, config: 'y'.repeat(70_000) } }),
      'ERR_VALIDATION',
      { field: 'document' },
    );
    await rejectsWith(stores.policies.list(acme, { after: '{not json' }), 'ERR_VALIDATION', {
      field: 'after',
    });
    expect(await stores.policies.get(layer)).toBeUndefined();
  });

  it('reports a damaged stored policy as DecodeError', async () => {
    await stores.policies.set({ kind: 'tenant', tenant: acme }, doc);
    await db.transaction(async (tx) => {
      const [row] = await tx.list(SERVER_TABLES.policies, utf8('acme'));
      if (row === undefined) throw new Error('no row');
      await tx.put(SERVER_TABLES.policies, {
        ...row,
        value: encodeRecord(1, {
          layer: { kind: 'tenant', tenant: 'acme' },
          document: { x: 1 },
          revision: 1,
          updatedAt: 0,
        }),
      });
    });
    await expect(stores.policies.get({ kind: 'tenant', tenant: acme })).rejects.toBeInstanceOf(DecodeError);
  });
});

describe('archive', () => {
  const sealed = (n: number) => new Uint8Array(100 + n).fill(n);

  it('appends per tenant and lists by time range with paging', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      time = 10_000 + i * 1000;
      const item = await stores.archive.append(acme, { sealed: sealed(i), expiresAt: null });
      expect(item.receivedAt).toBe(time);
      expect(item.size).toBe(100 + i);
      ids.push(item.id);
    }
    await stores.archive.append(other, { sealed: sealed(99), expiresAt: null });
    const range = await stores.archive.list(acme, { from: 12_000, to: 15_000 });
    expect(range.items.map((x) => x.receivedAt)).toEqual([12_000, 13_000, 14_000]);
    expect(range.items[0]?.sealed).toEqual(sealed(2));
    const all: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await stores.archive.list(acme, {
        limit: 4,
        from: 11_000,
        ...(after === undefined ? {} : { after }),
      });
      all.push(...page.items.map((x) => x.receivedAt));
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(all).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19].map((s) => s * 1000));
    expect((await stores.archive.get(acme, ids[3] as string))?.sealed).toEqual(sealed(3));
    expect(await stores.archive.get(other, ids[3] as string)).toBeUndefined();
    expect(await stores.archive.delete(acme, ids[3] as string)).toBe(true);
    expect((await stores.archive.list(acme, { from: 13_000, to: 14_000 })).items).toEqual([]);
  });

  it('keeps items until their own expiry', async () => {
    await stores.archive.append(acme, { sealed: sealed(1), expiresAt: 20_000 });
    await stores.archive.append(acme, { sealed: sealed(2), expiresAt: null });
    time = 20_000;
    expect((await stores.archive.list(acme)).items.map((x) => x.size)).toEqual([102]);
    expect((await db.purgeExpired({ tables: [SERVER_TABLES.archive] })).deleted).toBe(1);
  });

  it('validates input', async () => {
    await rejectsWith(
      stores.archive.append(acme, { sealed: new Uint8Array(0), expiresAt: null }),
      'ERR_VALIDATION',
      {
        field: 'sealed',
      },
    );
    await rejectsWith(
      stores.archive.append(acme, { sealed: new Uint8Array(300_000), expiresAt: null }),
      'ERR_VALIDATION',
      {
        field: 'sealed',
      },
    );
    await rejectsWith(stores.archive.append(acme, { sealed: sealed(1), expiresAt: time }), 'ERR_VALIDATION', {
      field: 'expiresAt',
    });
    await rejectsWith(stores.archive.get(acme, 'abc'), 'ERR_VALIDATION', { field: 'id' });
    await rejectsWith(stores.archive.list(acme, { after: '00' }), 'ERR_VALIDATION', { field: 'after' });
    expect((await stores.archive.list(acme)).items).toEqual([]);
  });
});
