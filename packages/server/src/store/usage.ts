/**
 * The usage ledger: what a scope (one device's blobs, a tenant's blobs, a tenant's archive) holds,
 * in bytes and items, counted as things are stored and deleted so that a quota check reads a few
 * small rows instead of the things themselves. Blob rows name neither tenant nor uploader (the
 * blob id is a capability), so their owner's figure can only be kept on the side like this.
 *
 * Rows of `s_usage`: partition = the scope's key, sort = `u32(bucket) ‖ u8(shard)`, value =
 * `u8(1) ‖ u64(bytes) ‖ u64(count)`, expiring at the bucket's end. Something that expires at `t` is counted in
 * bucket `ceil(t / granularity)`, whose row expires at `bucket × granularity ≥ t`: it leaves the
 * figure when its bucket row expires, never before it expires itself (conservative). A writer
 * adds to one of {@link USAGE_SHARDS} rows of the bucket, picked at random once per transaction
 * and scope, locked (`forUpdate`) and rewritten in the caller's transaction, so concurrent writers
 * rarely wait on one row. Reading a figure lists the partition (expired rows are hidden by the
 * engine) and sums. A scope whose quota must hold exactly under concurrency (a device's blobs) is
 * locked first ({@link UsageLedger.lock}): its checks then run one at a time. Layout and limits: `spec/storage-server.md`, "Usage".
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  type DeviceId,
  StorageError,
  toHex,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkDeviceId, checkId, deviceKey, key, NO_SORT, readUint, T, u32, u64 } from './_util.js';

/**
 * Rows one bucket of a scope is spread over (a writer picks one at random).
 *
 * @example
 * ```ts
 * const days = 30; // blobs expiring within 30 days
 * const rowsAtMost = USAGE_SHARDS * Math.ceil((days * 86_400_000) / BLOB_USAGE_BUCKET_MS); // → 240 rows to read
 * ```
 */
export const USAGE_SHARDS = 8;
/**
 * Bucket width of blob usage (device and tenant scopes): one day. A blob is counted until the end
 * of the day its expiry falls in.
 *
 * @example
 * ```ts
 * const expiresAt = Date.now() + 7 * 86_400_000;
 * const bucket = Math.ceil(expiresAt / BLOB_USAGE_BUCKET_MS); // counted until the end of that day
 * ```
 */
export const BLOB_USAGE_BUCKET_MS = 86_400_000;
/**
 * Bucket width of archive usage: 90 days, so that ten years of retention is about 41 buckets (a
 * figure's read stays a few hundred rows; an item counts at most 90 days past its expiry).
 *
 * @example
 * ```ts
 * const expiresAt = Date.now() + 10 * 365 * 86_400_000;
 * const bucket = Math.ceil(expiresAt / ARCHIVE_USAGE_BUCKET_MS);
 * ```
 */
export const ARCHIVE_USAGE_BUCKET_MS = 90 * 86_400_000;
/** The bucket of things that never expire (its rows never expire either). */
const NEVER = 0xffff_ffff;
const PAGE = 1000;

/**
 * Whose usage: one device's blobs, all blobs of a tenant, or a tenant's archive.
 *
 * @example
 * ```ts
 * const scope: UsageScope = { kind: 'device', tenant, user, device };
 * const { bytes: held, count } = await stores.usage.read(scope);
 * ```
 */
export type UsageScope =
  | { readonly kind: 'device'; readonly tenant: TenantId; readonly user: UserId; readonly device: DeviceId }
  | { readonly kind: 'tenant-blobs'; readonly tenant: TenantId }
  | { readonly kind: 'tenant-archive'; readonly tenant: TenantId };

/**
 * Bytes and items counted in a scope.
 *
 * @example
 * ```ts
 * const figure: UsageFigure = await stores.usage.read({ kind: 'tenant-blobs', tenant });
 * console.log(`${figure.count} blobs, ${figure.bytes} bytes`);
 * ```
 */
export interface UsageFigure {
  /** Bytes counted. */
  readonly bytes: number;
  /** Items counted. */
  readonly count: number;
}

/**
 * What a tenant's blobs and archive hold.
 *
 * @example
 * ```ts
 * const { blobs, archive }: TenantUsage = await stores.usage.tenant(tenant);
 * const total = blobs.bytes + archive.bytes;
 * ```
 */
export interface TenantUsage {
  /** What all the tenant's blobs hold. */
  readonly blobs: UsageFigure;
  /** What the tenant's compliance archive holds. */
  readonly archive: UsageFigure;
}

/**
 * Reads the usage ledger (the stores that store things write it).
 *
 * @example
 * ```ts
 * const mine = await stores.usage.read({ kind: 'device', tenant, user, device });
 * const { blobs, archive } = await stores.usage.tenant(tenant);
 * ```
 */
export interface UsageStore {
  /**
   * What `scope` holds now.
   *
   * @example
   * ```ts
   * const held = await stores.usage.read({ kind: 'device', tenant, user, device });
   * ```
   */
  read(scope: UsageScope): Promise<UsageFigure>;
  /**
   * What the tenant's blobs and archive hold now (one transaction).
   *
   * @example
   * ```ts
   * const { blobs, archive } = await stores.usage.tenant(tenant);
   * console.log(blobs.bytes + archive.bytes); // what the tenant quota counts
   * ```
   */
  tenant(tenant: TenantId): Promise<TenantUsage>;
}

/** The ledger's writes and reads inside a caller's transaction. */
export interface UsageLedger {
  /**
   * Locks `scope` until the transaction ends, so that quota checks of the scope run one after the
   * other (call it before the first `read`). Its lock row (sort key `ε`, `{ bytes: 0, count: 0 }`)
   * is created when missing and expires with the bucket of `expiresAt`; adding to the scope does
   * not need it.
   */
  lock(tx: StorageTx, scope: UsageScope, expiresAt: number | null): Promise<void>;
  /** What `scope` holds at `tx.now` (read once per transaction, then moved by its own writes). */
  read(tx: StorageTx, scope: UsageScope): Promise<UsageFigure>;
  /** Counts `delta` in `scope` until `expiresAt` (`null`: never); resolves the bucket it used. */
  add(tx: StorageTx, scope: UsageScope, expiresAt: number | null, delta: UsageFigure): Promise<number>;
  /**
   * Takes `delta` off `bucket` of `scope`, never below zero; resolves what was taken (less than
   * `delta` when the bucket held less, e.g. after its rows expired).
   */
  subtract(tx: StorageTx, scope: UsageScope, bucket: number, delta: UsageFigure): Promise<UsageFigure>;
}

/** Bucket width of a scope. */
export function usageBucketMs(scope: UsageScope): number {
  return scope.kind === 'tenant-archive' ? ARCHIVE_USAGE_BUCKET_MS : BLOB_USAGE_BUCKET_MS;
}

/** The bucket something of `scope` expiring at `expiresAt` (`null`: never) is counted in. */
export function usageBucket(scope: UsageScope, expiresAt: number | null): number {
  if (expiresAt === null) return NEVER;
  const bucket = Math.ceil(expiresAt / usageBucketMs(scope));
  // A bucket whose end is not a safe time never ends (only for expiries near 2^53 ms).
  return Number.isSafeInteger(bucket * usageBucketMs(scope)) ? bucket : NEVER;
}

function bucketEnd(scope: UsageScope, bucket: number): number | null {
  return bucket === NEVER ? null : bucket * usageBucketMs(scope);
}

/** The partition of a scope: `k("device", tenant, user, u32(device))`, `k("tenant-blobs", tenant)`, `k("tenant-archive", tenant)`. */
export function usagePartition(scope: UsageScope): Uint8Array {
  switch (scope.kind) {
    case 'device':
      return key('device', deviceKey(scope.tenant, scope.user, scope.device));
    case 'tenant-blobs':
      return key('tenant-blobs', scope.tenant);
    case 'tenant-archive':
      return key('tenant-archive', scope.tenant);
  }
}

const sortOf = (bucket: number, shard: number): Uint8Array => concatBytes(u32(bucket), Uint8Array.of(shard));

/**
 * A row's value: `u8(1) ‖ u64(bytes) ‖ u64(count)`, 17 bytes whatever the figures, so that under
 * encryption at rest a copy of the database cannot read a figure's size from its sealed length.
 */
const RECORD_VERSION = 1;
const RECORD_BYTES = 17;

function encodeFigure(f: UsageFigure): Uint8Array {
  return concatBytes(Uint8Array.of(RECORD_VERSION), u64(f.bytes), u64(f.count));
}

function figureOf(value: Uint8Array): UsageFigure {
  if (value.length !== RECORD_BYTES || value[0] !== RECORD_VERSION) {
    throw new DecodeError(T.usage, 'not a usage record');
  }
  const bytes = readUint(value, 1, 8);
  const count = readUint(value, 9, 8);
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(count)) {
    throw new DecodeError(T.usage, 'a figure above 2^53 - 1');
  }
  return { bytes, count };
}

const plus = (a: UsageFigure, b: UsageFigure): UsageFigure => ({
  bytes: Math.min(a.bytes + b.bytes, Number.MAX_SAFE_INTEGER),
  count: Math.min(a.count + b.count, Number.MAX_SAFE_INTEGER),
});

function checkFigure(value: UsageFigure, field: string): UsageFigure {
  for (const k of ['bytes', 'count'] as const) {
    const n = value[k];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new ValidationError(`${field}.${k}`, 'an integer of at least 0');
    }
  }
  return { bytes: value.bytes, count: value.count };
}

/** What one transaction has read and picked, per scope partition (a retried transaction is a new `tx`). */
interface Seen {
  figure?: UsageFigure;
  shard?: number;
}

/**
 * Per transaction, what the ledger has read and picked: shared by every store of the transaction,
 * so that the blob store and the archive store see each other's writes to a tenant's figures.
 */
const SEEN = new WeakMap<StorageTx, Map<string, Seen>>();

function seenIn(tx: StorageTx, partition: Uint8Array): Seen {
  let scopes = SEEN.get(tx);
  if (scopes === undefined) {
    scopes = new Map();
    SEEN.set(tx, scopes);
  }
  const id = toHex(partition);
  let s = scopes.get(id);
  if (s === undefined) {
    s = {};
    scopes.set(id, s);
  }
  return s;
}

async function sum(tx: StorageTx, partition: Uint8Array): Promise<UsageFigure> {
  let total: UsageFigure = { bytes: 0, count: 0 };
  let after: Uint8Array | undefined;
  for (;;) {
    const rows = await tx.list(T.usage, partition, {
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const row of rows) total = plus(total, figureOf(row.value));
    const last = rows[rows.length - 1];
    if (rows.length < PAGE || last === undefined) return total;
    after = last.sort;
  }
}

/**
 * Creates the ledger; `provider` picks the shards.
 *
 * @example
 * ```ts
 * const ledger = createUsageLedger(provider);
 * await run(async (tx) => ledger.add(tx, { kind: 'tenant-blobs', tenant }, expiresAt, { bytes: size, count: 1 }));
 * ```
 */
export function createUsageLedger(provider: Pick<CryptoProvider, 'randomBytes'>): UsageLedger {
  return {
    async lock(tx, scope, expiresAt) {
      const partition = usagePartition(scope);
      const row = {
        partition,
        sort: NO_SORT,
        value: encodeFigure({ bytes: 0, count: 0 }),
        expiresAt: bucketEnd(scope, usageBucket(scope, expiresAt)),
      };
      // Lock the row; when it is missing, create it (an insert holds its row until commit); a
      // create lost to another transaction means the row exists now: lock it.
      for (let attempt = 0; attempt < 2; attempt++) {
        if ((await tx.get(T.usage, partition, NO_SORT, { forUpdate: true })) !== undefined) return;
        if (await tx.put(T.usage, row, { ifAbsent: true })) return;
      }
      throw new StorageError('usage: a ledger lock row vanished under its lock');
    },

    async read(tx, scope) {
      const partition = usagePartition(scope);
      const s = seenIn(tx, partition);
      s.figure ??= await sum(tx, partition);
      return s.figure;
    },

    async add(tx, scope, expiresAt, delta) {
      const d = checkFigure(delta, 'delta');
      const partition = usagePartition(scope);
      const bucket = usageBucket(scope, expiresAt);
      const s = seenIn(tx, partition);
      // One shard per transaction and scope: a transaction locks one row of each bucket it writes.
      s.shard ??= (provider.randomBytes(1)[0] ?? 0) % USAGE_SHARDS;
      const sort = sortOf(bucket, s.shard);
      const row = { partition, sort, expiresAt: bucketEnd(scope, bucket) };
      // Read for update; a row another transaction creates first makes our insert lose, and the
      // read after it sees (and locks) that row.
      for (let attempt = 0; ; attempt++) {
        const held = await tx.get(T.usage, partition, sort, { forUpdate: true });
        const next = held === undefined ? d : plus(figureOf(held.value), d);
        const options = held === undefined ? { ifAbsent: true } : undefined;
        if (await tx.put(T.usage, { ...row, value: encodeFigure(next) }, options)) break;
        // The row exists now and is ours to rewrite; losing twice means the database is not sane.
        if (attempt > 0) throw new StorageError('usage: a ledger row vanished under its lock');
      }
      if (s.figure !== undefined) s.figure = plus(s.figure, d);
      return bucket;
    },

    async subtract(tx, scope, bucket, delta) {
      const d = checkFigure(delta, 'delta');
      const partition = usagePartition(scope);
      const keys = Array.from({ length: USAGE_SHARDS }, (_, shard) => ({
        partition,
        sort: sortOf(bucket, shard),
      }));
      const rows = await tx.getMany(T.usage, keys);
      let bytes = d.bytes;
      let count = d.count;
      // Shards in ascending order, so two subtracting transactions lock in the same order.
      for (let shard = 0; shard < USAGE_SHARDS && (bytes > 0 || count > 0); shard++) {
        if (rows[shard] === undefined) continue;
        const sort = sortOf(bucket, shard);
        const held = await tx.get(T.usage, partition, sort, { forUpdate: true });
        if (held === undefined) continue;
        const have = figureOf(held.value);
        const b = Math.min(bytes, have.bytes);
        const c = Math.min(count, have.count);
        if (b === 0 && c === 0) continue;
        // A row at zero stays until its bucket expires (deleting it could race a writer creating it).
        await tx.put(T.usage, {
          partition,
          sort,
          value: encodeFigure({ bytes: have.bytes - b, count: have.count - c }),
          expiresAt: held.expiresAt,
        });
        bytes -= b;
        count -= c;
      }
      const taken = { bytes: d.bytes - bytes, count: d.count - count };
      const s = seenIn(tx, partition);
      if (s.figure !== undefined) {
        s.figure = {
          bytes: Math.max(0, s.figure.bytes - taken.bytes),
          count: Math.max(0, s.figure.count - taken.count),
        };
      }
      return taken;
    },
  };
}

function checkScope(value: unknown): UsageScope {
  const o = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const tenant = checkId(o.tenant, 'scope.tenant', tenantId);
  if (o.kind === 'tenant-blobs' || o.kind === 'tenant-archive') return { kind: o.kind, tenant };
  if (o.kind !== 'device') throw new ValidationError('scope.kind', 'device, tenant-blobs or tenant-archive');
  const user = checkId(o.user, 'scope.user', userId);
  return { kind: 'device', tenant, user, device: checkDeviceId(o.device, 'scope.device') };
}

/**
 * Creates the read side of the ledger over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const usage = createUsageStore(adapterExecutor(adapter));
 * const { blobs, archive } = await usage.tenant(tenant);
 * ```
 */
export function createUsageStore(run: Executor): UsageStore {
  return {
    async read(scope) {
      const partition = usagePartition(checkScope(scope));
      return run((tx) => sum(tx, partition), { readOnly: true });
    },

    async tenant(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(
        async (tx) => ({
          blobs: await sum(tx, usagePartition({ kind: 'tenant-blobs', tenant: tid })),
          archive: await sum(tx, usagePartition({ kind: 'tenant-archive', tenant: tid })),
        }),
        { readOnly: true },
      );
    },
  };
}
