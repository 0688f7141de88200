/**
 * Shared plumbing of the conformance cases: the controlled clock, opening and closing the
 * adapter around each case, byte helpers and random partitions.
 *
 * @module
 */
import type { Row, RowInput, StorageAdapter, StorageTx } from '../adapter.js';
import { fail, show } from './_expect.js';
import { ConformanceFailure } from './_failure.js';
import type { ConformanceCase, ConformanceTarget } from './index.js';

/** The clock value every case starts at (an arbitrary fixed instant in 2023). */
export const T0 = 1_700_000_000_000;

/** A clock the suite moves by hand; adapters read it through `now`. */
export class Clock {
  private t = T0;
  readonly now = (): number => this.t;
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** What a case body gets. */
export interface CaseContext {
  readonly db: StorageAdapter;
  readonly clock: Clock;
  readonly target: ConformanceTarget;
  /** Tells the harness that the body closed `db` itself. */
  closedByCase(): void;
}

/** Wraps a body into a named case that opens and closes its own adapter. */
export function defineCase(name: string, body: (ctx: CaseContext) => Promise<void>): ConformanceCase {
  return {
    name,
    async run(target: ConformanceTarget): Promise<void> {
      const clock = new Clock();
      let db: StorageAdapter;
      try {
        db = await target.open({ now: clock.now });
      } catch (e) {
        throw new ConformanceFailure(name, `target.open failed: ${show(e)}`, { cause: e });
      }
      let closed = false;
      let failure: unknown;
      try {
        await body({
          db,
          clock,
          target,
          closedByCase: () => {
            closed = true;
          },
        });
      } catch (e) {
        failure = e;
      }
      try {
        if (target.close !== undefined) await target.close(db);
        else if (!closed) await db.close();
      } catch (e) {
        if (failure === undefined && !closed) {
          failure = new ConformanceFailure(name, `closing the adapter failed: ${show(e)}`, { cause: e });
        }
      }
      if (failure !== undefined) throw asFailure(name, failure);
    },
  };
}

function asFailure(name: string, e: unknown): ConformanceFailure {
  if (e instanceof ConformanceFailure) {
    return e.caseName === name ? e : new ConformanceFailure(name, e.detail, { cause: e.cause });
  }
  return new ConformanceFailure(name, `unexpected error: ${show(e)}`, { cause: e });
}

/** Bytes from numbers. */
export function u8(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Concatenation of byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Cryptographically random bytes (so partitions of concurrent runs never collide). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65_536) globalThis.crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}

/** A fresh random partition key. */
export function partition(): Uint8Array {
  return randomBytes(16);
}

/** Deterministic filler bytes of length `n` (cheap, every byte value occurs). */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A 4-byte big-endian encoding of `n` (sorts like the number). */
export function be32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** Decodes {@link be32}. */
export function readBe32(bytes: Uint8Array, what: string): number {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 4)
    fail(`${what}: expected a 4-byte value, got ${show(bytes)}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

/** Writes rows in one transaction. */
export async function putAll(db: StorageAdapter, table: string, rows: readonly RowInput[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const r of rows) {
      const written = await tx.put(table, r);
      if (written !== true) fail(`put of a new row resolved ${show(written)}, expected true`);
    }
  });
}

/** Every live row of a partition, in order (one transaction). */
export function listAll(db: StorageAdapter, table: string, p: Uint8Array): Promise<Row[]> {
  return db.transaction((tx) => tx.list(table, p, { limit: 10_000 }), { readOnly: true });
}

/** Runs a read in its own transaction. */
export function read<T>(db: StorageAdapter, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
  return db.transaction(fn, { readOnly: true });
}

/** Resolves after `ms` milliseconds (macrotask). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails when `promise` has not settled within `ms` (the underlying work is not cancelled). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConformanceFailure('', `${what}: did not finish within ${ms} ms (deadlock?)`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
