/**
 * A randomized case: seeded sequences of operations on a few tables, partitions and tricky sort
 * keys (with purges in between), checked step by step against a small model of the contract
 * written here.
 *
 * @module
 */
import type { Row, StorageAdapter, StorageTx } from '../adapter.js';
import { bytes, compareUnsigned, equal, fail, sameBytes, show, sorts } from './_expect.js';
import { defineCase, partition, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const TABLES = ['conf_model_a', 'conf_model_b'] as const;

/** Sort keys chosen to sit on the boundaries SQL and key-encoding adapters get wrong. */
const KEYS: readonly Uint8Array[] = [
  u8(),
  u8(0x00),
  u8(0x00, 0x00),
  u8(0x00, 0x01),
  u8(0x01),
  u8(0x41),
  u8(0x41, 0x00),
  u8(0x41, 0xff),
  u8(0x7f),
  u8(0x7f, 0xff),
  u8(0x80),
  u8(0x80, 0x00),
  u8(0xfe, 0xff),
  u8(0xff),
  u8(0xff, 0x00),
  u8(0xff, 0xff),
];
const PROBES: readonly Uint8Array[] = [...KEYS, u8(0x42), u8(0xff, 0xff, 0xff), u8(0x00, 0x00, 0x00)];

interface ModelRow {
  readonly sort: Uint8Array;
  readonly value: Uint8Array;
  readonly expiresAt: number | null;
}

type Model = Map<string, ModelRow>; // key: table + '/' + partition index + '/' + hex(sort)

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)] as T;
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && sameBytes(b.subarray(0, prefix.length), prefix);
}

class Reference {
  readonly rows: Model = new Map();
  private key(table: string, p: number, sort: Uint8Array): string {
    return `${table}/${p}/${hex(sort)}`;
  }
  live(table: string, p: number, now: number): ModelRow[] {
    const out: ModelRow[] = [];
    for (const [k, r] of this.rows) {
      if (k.startsWith(`${table}/${p}/`) && (r.expiresAt === null || r.expiresAt > now)) out.push(r);
    }
    return out.sort((a, b) => compareUnsigned(a.sort, b.sort));
  }
  get(table: string, p: number, sort: Uint8Array, now: number): ModelRow | undefined {
    const r = this.rows.get(this.key(table, p, sort));
    return r !== undefined && (r.expiresAt === null || r.expiresAt > now) ? r : undefined;
  }
  set(table: string, p: number, r: ModelRow | undefined, sort: Uint8Array): void {
    if (r === undefined) this.rows.delete(this.key(table, p, sort));
    else this.rows.set(this.key(table, p, sort), r);
  }
  deletePartition(table: string, p: number): number {
    let n = 0;
    for (const k of [...this.rows.keys()]) {
      if (k.startsWith(`${table}/${p}/`)) {
        this.rows.delete(k);
        n++;
      }
    }
    return n;
  }
  clone(): Reference {
    const c = new Reference();
    for (const [k, v] of this.rows) c.rows.set(k, v);
    return c;
  }
}

class Rollback extends Error {}

async function step(
  tx: StorageTx,
  m: Reference,
  r: () => number,
  parts: readonly Uint8Array[],
  first: number,
  clockNow: number,
  label: string,
): Promise<void> {
  const table = pick(r, TABLES);
  const local = Math.floor(r() * parts.length);
  const p = parts[local] as Uint8Array;
  const pi = first + local;
  const now = tx.now;
  const op = r();
  if (op < 0.3) {
    const sort = pick(r, KEYS);
    const value = u8(Math.floor(r() * 256), Math.floor(r() * 256));
    const e = r();
    const expiresAt = e < 0.6 ? null : e < 0.75 ? clockNow - 5 : clockNow + 1 + Math.floor(r() * 40);
    const ifAbsent = r() < 0.3;
    const got = await tx.put(table, { partition: p, sort, value, expiresAt }, { ifAbsent });
    const blocked = ifAbsent && m.get(table, pi, sort, now) !== undefined;
    equal(got, !blocked, `${label}: put${ifAbsent ? ' ifAbsent' : ''} ${show(sort)}`);
    if (!blocked) m.set(table, pi, { sort, value, expiresAt }, sort);
  } else if (op < 0.42) {
    const sort = pick(r, KEYS);
    const want = m.get(table, pi, sort, now) !== undefined;
    equal(await tx.delete(table, p, sort), want, `${label}: delete ${show(sort)}`);
    m.set(table, pi, undefined, sort);
  } else if (op < 0.55) {
    const sort = pick(r, PROBES);
    const got = await tx.get(table, p, sort);
    const want = m.get(table, pi, sort, now);
    if (want === undefined) equal(got, undefined, `${label}: get ${show(sort)}`);
    else {
      if (got === undefined) fail(`${label}: get ${show(sort)}: expected a row, got undefined`);
      bytes(got.value, want.value, `${label}: get ${show(sort)} value`);
      equal(got.expiresAt, want.expiresAt, `${label}: get ${show(sort)} expiresAt`);
    }
  } else if (op < 0.78) {
    const o: { after?: Uint8Array; prefix?: Uint8Array; reverse?: boolean; limit?: number } = {};
    if (r() < 0.4) o.after = pick(r, PROBES);
    if (r() < 0.4) o.prefix = pick(r, PROBES).subarray(0, 1 + Math.floor(r() * 2));
    if (r() < 0.4) o.reverse = true;
    if (r() < 0.5) o.limit = 1 + Math.floor(r() * 6);
    let want = m.live(table, pi, now).filter((x) => o.prefix === undefined || startsWith(x.sort, o.prefix));
    if (o.reverse === true) want.reverse();
    const after = o.after;
    if (after !== undefined) {
      want = want.filter((x) =>
        o.reverse === true ? compareUnsigned(x.sort, after) < 0 : compareUnsigned(x.sort, after) > 0,
      );
    }
    want = want.slice(0, o.limit ?? 100);
    const got = await tx.list(table, p, o);
    const desc = [
      o.after === undefined ? '' : ` after ${show(o.after)}`,
      o.prefix === undefined ? '' : ` prefix ${show(o.prefix)}`,
      o.reverse === true ? ' reverse' : '',
      o.limit === undefined ? '' : ` limit ${o.limit}`,
    ].join('');
    sorts(
      got,
      want.map((x) => x.sort),
      `${label}: list${desc}`,
    );
    for (const [i, x] of want.entries())
      bytes((got[i] as Row).value, x.value, `${label}: list${desc} value ${i}`);
  } else if (op < 0.88) {
    const prefix = r() < 0.4 ? pick(r, PROBES).subarray(0, 1) : undefined;
    const limit = 1 + Math.floor(r() * 3);
    const want = m
      .live(table, pi, now)
      .filter((x) => prefix === undefined || startsWith(x.sort, prefix))
      .slice(0, limit);
    const got = await tx.take(table, p, prefix === undefined ? { limit } : { limit, prefix });
    sorts(
      got,
      want.map((x) => x.sort),
      `${label}: take limit ${limit}${prefix === undefined ? '' : ` prefix ${show(prefix)}`}`,
    );
    for (const x of want) m.set(table, pi, undefined, x.sort);
  } else if (op < 0.96) {
    const prefix = r() < 0.5 ? pick(r, PROBES).subarray(0, 1 + Math.floor(r() * 2)) : undefined;
    const want = m
      .live(table, pi, now)
      .filter((x) => prefix === undefined || startsWith(x.sort, prefix)).length;
    equal(
      await tx.count(table, p, prefix === undefined ? {} : { prefix }),
      want,
      `${label}: count${prefix === undefined ? '' : ` prefix ${show(prefix)}`}`,
    );
  } else {
    equal(await tx.deletePartition(table, p), m.deletePartition(table, pi), `${label}: deletePartition`);
  }
}

async function runSeed(
  db: StorageAdapter,
  setClock: (t: number) => void,
  seed: number,
  state: { model: Reference; parts: Uint8Array[] },
): Promise<void> {
  const r = rng(seed);
  // Partitions of earlier seeds stay in play (indices into state.parts), the new ones are used.
  const first = state.parts.length;
  state.parts.push(partition(), partition());
  const parts = state.parts.slice(first);
  let clock = T0;
  setClock(clock);
  for (let t = 0; t < 40; t++) {
    if (r() < 0.3) {
      clock += Math.floor(r() * 20);
      setClock(clock);
    }
    const label = `seed ${seed}, transaction ${t}`;
    if (r() < 0.08) {
      const batchSize = 1 + Math.floor(r() * 4);
      let want = 0;
      for (const [k, v] of [...state.model.rows]) {
        if (v.expiresAt !== null && v.expiresAt <= clock) {
          state.model.rows.delete(k);
          want++;
        }
      }
      const got = await db.purgeExpired({ tables: [...TABLES], batchSize });
      equal(got.deleted, want, `${label}: purgeExpired (batchSize ${batchSize}) deleted`);
      continue;
    }
    const rollback = r() < 0.2;
    const draft = state.model.clone();
    const ops = 1 + Math.floor(r() * 8);
    try {
      await db.transaction(async (tx) => {
        for (let i = 0; i < ops; i++) await step(tx, draft, r, parts, first, clock, `${label}, step ${i}`);
        if (rollback) throw new Rollback();
      });
      if (rollback) fail(`${label}: a transaction whose callback threw resolved`);
      state.model = draft;
    } catch (e) {
      if (!(e instanceof Rollback)) throw e;
    }
  }
}

async function checkFinal(
  db: StorageAdapter,
  setClock: (t: number) => void,
  state: { model: Reference; parts: Uint8Array[] },
): Promise<void> {
  // Every stored row, including expired ones not yet purged, seen with the clock moved back.
  setClock(T0 - 1_000_000);
  for (const table of TABLES) {
    for (const [pi, p] of state.parts.entries()) {
      const got = await db.transaction((tx) => tx.list(table, p, { limit: 10_000 }), { readOnly: true });
      const want = state.model.live(table, pi, T0 - 1_000_000);
      sorts(
        got,
        want.map((x) => x.sort),
        `final rows of ${table}, partition ${pi} (expired included)`,
      );
    }
  }
  await db.transaction(async (tx) => {
    for (const table of TABLES) for (const p of state.parts) await tx.deletePartition(table, p);
  });
}

export function modelCases(): ConformanceCase[] {
  return [
    defineCase('model: random operation sequences agree with a reference model', async ({ db, clock }) => {
      const state = { model: new Reference(), parts: [] as Uint8Array[] };
      for (const seed of [1, 2, 3, 4, 5, 6]) await runSeed(db, (t) => clock.set(t), seed, state);
      await checkFinal(db, (t) => clock.set(t), state);
    }),
  ];
}
