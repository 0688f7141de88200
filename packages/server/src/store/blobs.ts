/**
 * Blobs: encrypted files (opaque to the server) uploaded in fixed-size chunks that may arrive
 * in any order and be resent after an interruption. `begin` declares the size (bounded by the
 * store's limit) and the chunk size, so every chunk's length is known in advance and checked on
 * upload; `finish` refuses until every chunk is present. A small part row per chunk answers
 * `status` without reading chunk data. Every row carries the blob's expiry.
 *
 * Quotas: `begin` may name the uploading device (never stored with the blob) and the quotas to
 * hold it to; the declared size is then counted, from `begin` on, in the usage ledger
 * (`usage.ts`) of the device and of its tenant, and `delete` with the same owner takes it off
 * again. Expiry frees by itself (the ledger's rows expire with the blob's day).
 *
 * @module
 */
import {
  type CryptoProvider,
  createNobleProvider,
  type DeviceId,
  LimitError,
  ValidationError,
} from '@cloister/crypto';
import { type BlobId, blobId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBytesIn,
  checkDeviceId,
  checkId,
  checkInteger,
  checkObject,
  checkTime,
  getRec,
  key,
  NO_SORT,
  type Rec,
  read,
  T,
  u32,
  write,
} from './_util.js';
import { ConflictError, NotFoundError, QuotaExceededError } from './errors.js';
import { createUsageLedger, type UsageLedger, type UsageScope, usageBucket } from './usage.js';

/**
 * Default chunk size: 1 MiB.
 *
 * @example
 * ```ts
 * const chunks = Math.ceil(bytes.length / DEFAULT_BLOB_UPLOAD_CHUNK_BYTES); // chunks of an upload without `chunkSize`
 * ```
 */
export const DEFAULT_BLOB_UPLOAD_CHUNK_BYTES = 1024 * 1024;
/**
 * Smallest and largest chunk size a blob may declare.
 *
 * @example
 * ```ts
 * const chunkSize = Math.min(BLOB_UPLOAD_CHUNK_BYTES.max, 256 * 1024);
 * ```
 */
export const BLOB_UPLOAD_CHUNK_BYTES = { min: 4096, max: 8 * 1024 * 1024 } as const;
/**
 * Default largest blob: 2 GiB.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_MAX_BLOB_BYTES); // 2147483648
 * ```
 */
export const DEFAULT_MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * Largest range one `read` returns: 16 MiB.
 *
 * @example
 * ```ts
 * const status = await stores.blobs.status(blob);
 * const part = await stores.blobs.read(blob, 0, Math.min(status?.size ?? 0, MAX_BLOB_READ_BYTES));
 * ```
 */
export const MAX_BLOB_READ_BYTES = 16 * 1024 * 1024;

/**
 * Options of {@link createServerBlobStore}.
 *
 * @example
 * ```ts
 * const options: ServerBlobStoreOptions = { maxBlobBytes: 100 * 1024 * 1024 };
 * ```
 */
export interface ServerBlobStoreOptions {
  /** Largest declared blob size in bytes (default {@link DEFAULT_MAX_BLOB_BYTES}). */
  readonly maxBlobBytes?: number;
  /** Picks the usage ledger's shards (default: the portable provider). */
  readonly provider?: CryptoProvider;
}

/**
 * The device that uploads a blob: whose quotas it counts against. Passed to
 * {@link ServerBlobStore.begin} and {@link ServerBlobStore.delete}; never stored with the blob.
 *
 * @example
 * ```ts
 * const owner: BlobOwner = { tenant: me.tenant, user: me.user, device: me.device };
 * ```
 */
export interface BlobOwner {
  /** The device's tenant. */
  readonly tenant: TenantId;
  /** The device's user. */
  readonly user: UserId;
  /** The uploading device. */
  readonly device: DeviceId;
}

/**
 * The quotas {@link ServerBlobStore.begin} holds an owner to. Sizes are the declared ones: an
 * unfinished upload counts in full from its `begin`.
 *
 * @example
 * ```ts
 * const quotas: BlobQuotas = { maxBytesPerDevice: 8 * 2 ** 30, maxCountPerDevice: 1000, tenantMaxBytes: 2 ** 40 };
 * ```
 */
export interface BlobQuotas {
  /** Most bytes of blobs one device may hold (`QuotaExceededError('device.blobBytes')` past it). */
  readonly maxBytesPerDevice: number;
  /** Most blobs one device may hold (`QuotaExceededError('device.blobs')`). */
  readonly maxCountPerDevice: number;
  /** Most bytes of blobs and archive items one tenant may hold (`QuotaExceededError('tenant.bytes')`). */
  readonly tenantMaxBytes: number;
}

/**
 * Options of {@link ServerBlobStore.begin}.
 *
 * @example
 * ```ts
 * const options: BeginBlobOptions = { chunkSize: 256 * 1024, owner: { tenant: me.tenant, user: me.user, device: me.device } };
 * await stores.blobs.begin(blob, bytes.length, Date.now() + 86_400_000, options);
 * ```
 */
export interface BeginBlobOptions {
  /** Chunk size in bytes ({@link BLOB_UPLOAD_CHUNK_BYTES}; default {@link DEFAULT_BLOB_UPLOAD_CHUNK_BYTES}). */
  readonly chunkSize?: number;
  /** The uploading device: the blob is counted in its usage and its tenant's (not stored with it). */
  readonly owner?: BlobOwner;
  /** Quotas to hold `owner` to (needs `owner`); without them the blob is counted but not limited. */
  readonly quotas?: BlobQuotas;
}

/**
 * Where an upload stands.
 *
 * @example
 * ```ts
 * const status: BlobStatus | undefined = await stores.blobs.status(blob);
 * const missing = status === undefined ? [] : [...Array(status.chunkCount).keys()].filter((i) => !status.present.includes(i));
 * ```
 */
export interface BlobStatus {
  /** The blob's id. */
  readonly id: BlobId;
  /** The declared size in bytes. */
  readonly size: number;
  /** The chunk size in bytes (every chunk but the last has it). */
  readonly chunkSize: number;
  /** Number of chunks: `ceil(size / chunkSize)`. */
  readonly chunkCount: number;
  /** Indexes of the chunks stored so far, ascending. */
  readonly present: readonly number[];
  /** True once {@link ServerBlobStore.finish} succeeded; only then can the blob be read. */
  readonly complete: boolean;
  /** When the upload began, ms since the epoch (the store's clock). */
  readonly createdAt: number;
  /** When the blob (finished or not) vanishes, ms since the epoch. */
  readonly expiresAt: number;
}

/**
 * Encrypted file blobs with resumable chunked upload.
 *
 * @example
 * ```ts
 * await stores.blobs.begin(blob, bytes.length, Date.now() + 86_400_000, { chunkSize: 65_536 });
 * for (let i = 0; i * 65_536 < bytes.length; i++) await stores.blobs.putChunk(blob, i, bytes.subarray(i * 65_536, (i + 1) * 65_536));
 * await stores.blobs.finish(blob);
 * const first = await stores.blobs.read(blob, 0, 1024);
 * ```
 */
export interface ServerBlobStore {
  /**
   * Starts an upload. `LimitError` above the size limit, `ConflictError('blob')` when the id is
   * in use; with `options.quotas`, `QuotaExceededError` (`device.blobBytes`, `device.blobs`,
   * `tenant.bytes`) when the blob would take its owner or the owner's tenant past one. Nothing is
   * written when it throws.
   *
   * @example
   * ```ts
   * const status = await stores.blobs.begin(blob, bytes.length, Date.now() + 86_400_000, { owner: { tenant, user, device } });
   * ```
   */
  begin(id: BlobId, size: number, expiresAt: number, options?: BeginBlobOptions): Promise<BlobStatus>;
  /**
   * Stores chunk `index` (replacing an earlier upload of it). Its length must be `chunkSize`, or
   * the remainder for the last chunk. `NotFoundError('blob')`, `ConflictError('blob.complete')`.
   *
   * @example
   * ```ts
   * await stores.blobs.putChunk(blob, 0, bytes.subarray(0, DEFAULT_BLOB_UPLOAD_CHUNK_BYTES));
   * ```
   */
  putChunk(id: BlobId, index: number, bytes: Uint8Array): Promise<void>;
  /**
   * Where the upload of `id` stands, or `undefined` when there is no such blob.
   *
   * @example
   * ```ts
   * const status = await stores.blobs.status(blob);
   * if (status !== undefined && !status.complete) console.log(`${status.present.length} of ${status.chunkCount} chunks stored`);
   * ```
   */
  status(id: BlobId): Promise<BlobStatus | undefined>;
  /**
   * Marks the upload complete; `ConflictError('blob.incomplete')` while a chunk is missing.
   *
   * @example
   * ```ts
   * const done = await stores.blobs.finish(blob); // ConflictError('blob.incomplete') while a chunk is missing
   * ```
   */
  finish(id: BlobId): Promise<BlobStatus>;
  /**
   * One chunk of a complete blob; `NotFoundError('blob')`, `ConflictError('blob.incomplete')`.
   *
   * @example
   * ```ts
   * const status = await stores.blobs.status(blob);
   * for (let i = 0; i < (status?.chunkCount ?? 0); i++) {
   *   const chunk = await stores.blobs.readChunk(blob, i); // chunkSize bytes, the last one the remainder
   * }
   * ```
   */
  readChunk(id: BlobId, index: number): Promise<Uint8Array>;
  /**
   * Bytes `[offset, offset + length)` of a complete blob (clamped to its end).
   *
   * @example
   * ```ts
   * const head = await stores.blobs.read(blob, 0, 4096);
   * ```
   */
  read(id: BlobId, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Deletes the blob (complete or not); `false` when absent. With `owner` (who must be the device
   * that began it), its size and count are taken off that device's and tenant's usage.
   *
   * @example
   * ```ts
   * const removed = await stores.blobs.delete(blob, { tenant: me.tenant, user: me.user, device: me.device });
   * ```
   */
  delete(id: BlobId, owner?: BlobOwner): Promise<boolean>;
}

interface Meta {
  readonly size: number;
  readonly chunkSize: number;
  readonly complete: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The usage-ledger bucket the blob was counted in (absent: not counted). */
  readonly usageBucket?: number;
}

function chunkCount(m: Pick<Meta, 'size' | 'chunkSize'>): number {
  return Math.ceil(m.size / m.chunkSize);
}

function chunkLength(m: Meta, index: number): number {
  return Math.min(m.chunkSize, m.size - index * m.chunkSize);
}

function metaFrom(r: Rec): Meta {
  const meta = {
    size: r.int('size', 1),
    chunkSize: r.int('chunkSize', BLOB_UPLOAD_CHUNK_BYTES.min, BLOB_UPLOAD_CHUNK_BYTES.max),
    complete: r.bool('complete'),
    createdAt: r.int('createdAt'),
    expiresAt: r.int('expiresAt'),
  };
  return r.has('usageBucket') ? { ...meta, usageBucket: r.int('usageBucket', 0, 0xffff_ffff) } : meta;
}

function metaRecord(m: Meta): Uint8Array {
  const { usageBucket: bucket, ...rest } = m;
  return write(bucket === undefined ? { ...rest } : { ...rest, usageBucket: bucket });
}

function statusOf(id: BlobId, m: Meta, indexes: number[]): BlobStatus {
  return {
    id,
    size: m.size,
    chunkSize: m.chunkSize,
    complete: m.complete,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt,
    chunkCount: chunkCount(m),
    present: indexes,
  };
}

function checkOwner(value: unknown, field: string): BlobOwner {
  const o = checkObject(value, field);
  return {
    tenant: checkId(o.tenant, `${field}.tenant`, tenantId),
    user: checkId(o.user, `${field}.user`, userId),
    device: checkDeviceId(o.device, `${field}.device`),
  };
}

function checkQuotas(value: unknown): BlobQuotas {
  const o = checkObject(value, 'options.quotas');
  const n = (k: string) => checkInteger(o[k], `options.quotas.${k}`, 0, Number.MAX_SAFE_INTEGER);
  return {
    maxBytesPerDevice: n('maxBytesPerDevice'),
    maxCountPerDevice: n('maxCountPerDevice'),
    tenantMaxBytes: n('tenantMaxBytes'),
  };
}

/** The ledger scopes a blob of `owner` is counted in: the device's and the tenant's blobs. */
function blobScopes(owner: BlobOwner): readonly [UsageScope, UsageScope] {
  return [
    { kind: 'device', tenant: owner.tenant, user: owner.user, device: owner.device },
    { kind: 'tenant-blobs', tenant: owner.tenant },
  ];
}

/**
 * Refuses a blob of `size` bytes that would take `owner` or its tenant past `quotas`, reading
 * their usage in `tx` (the tenant's archive too: the tenant quota covers both).
 */
async function checkBlobQuotas(
  tx: StorageTx,
  ledger: UsageLedger,
  owner: BlobOwner,
  quotas: BlobQuotas,
  size: number,
  expiresAt: number,
): Promise<void> {
  const [device, tenantBlobs] = blobScopes(owner);
  // One device's begins check one after the other, so its quotas hold exactly; the tenant's
  // scopes are not locked (many devices write them), so concurrent begins of one tenant may
  // together pass the tenant quota by what they add (spec/storage-server.md, "Usage").
  await ledger.lock(tx, device, expiresAt);
  const mine = await ledger.read(tx, device);
  if (mine.bytes + size > quotas.maxBytesPerDevice) throw new QuotaExceededError('device.blobBytes');
  if (mine.count + 1 > quotas.maxCountPerDevice) throw new QuotaExceededError('device.blobs');
  const blobs = await ledger.read(tx, tenantBlobs);
  const archive = await ledger.read(tx, { kind: 'tenant-archive', tenant: owner.tenant });
  if (blobs.bytes + archive.bytes + size > quotas.tenantMaxBytes)
    throw new QuotaExceededError('tenant.bytes');
}

async function loadMeta(tx: StorageTx, id: BlobId, forUpdate = false): Promise<Meta | undefined> {
  const r = await getRec(tx, T.blobs, key(id), NO_SORT, forUpdate);
  return r === undefined ? undefined : metaFrom(r);
}

async function present(tx: StorageTx, id: BlobId, count: number): Promise<number[]> {
  const out: number[] = [];
  let after: Uint8Array | undefined;
  for (;;) {
    const rows = await tx.list(T.blobParts, key(id), {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const row of rows) {
      const index = read(row.value, T.blobParts).int('index', 0, count - 1);
      out.push(index);
    }
    const last = rows[rows.length - 1];
    if (rows.length < 1000 || last === undefined) break;
    after = last.sort;
  }
  return out.sort((a, b) => a - b);
}

/**
 * Creates the blob store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const blobs = createServerBlobStore(adapterExecutor(adapter), { maxBlobBytes: 100 * 1024 * 1024 });
 * const status = await blobs.status(blob);
 * ```
 */
export function createServerBlobStore(run: Executor, options: ServerBlobStoreOptions = {}): ServerBlobStore {
  const maxBlobBytes =
    options.maxBlobBytes === undefined
      ? DEFAULT_MAX_BLOB_BYTES
      : checkInteger(options.maxBlobBytes, 'maxBlobBytes', 1, Number.MAX_SAFE_INTEGER);
  const ledger = createUsageLedger(options.provider ?? createNobleProvider());

  async function completeMeta(tx: StorageTx, id: BlobId): Promise<Meta> {
    const m = await loadMeta(tx, id);
    if (m === undefined) throw new NotFoundError('blob');
    if (!m.complete) throw new ConflictError('blob.incomplete', 'the upload is not finished');
    return m;
  }

  async function chunk(tx: StorageTx, id: BlobId, m: Meta, index: number): Promise<Uint8Array> {
    const r = await getRec(tx, T.blobChunks, key(id), u32(index));
    const len = chunkLength(m, index);
    if (r === undefined) throw new NotFoundError('blob');
    return r.bytes('bytes', len, len);
  }

  return {
    async begin(id, size, expiresAt, beginOptions) {
      const bid = checkId(id, 'id', blobId);
      const total = checkInteger(size, 'size', 1, Number.MAX_SAFE_INTEGER);
      if (total > maxBlobBytes) throw new LimitError(`blobs are limited to ${maxBlobBytes} bytes`);
      const expires = checkTime(expiresAt, 'expiresAt');
      const o = beginOptions === undefined ? {} : checkObject(beginOptions, 'options');
      const chunkSize =
        o.chunkSize === undefined
          ? DEFAULT_BLOB_UPLOAD_CHUNK_BYTES
          : checkInteger(
              o.chunkSize,
              'options.chunkSize',
              BLOB_UPLOAD_CHUNK_BYTES.min,
              BLOB_UPLOAD_CHUNK_BYTES.max,
            );
      if (Math.ceil(total / chunkSize) > 0xffff_ffff)
        throw new ValidationError('options.chunkSize', 'fewer chunks');
      const owner = o.owner === undefined ? undefined : checkOwner(o.owner, 'options.owner');
      const quotas = o.quotas === undefined ? undefined : checkQuotas(o.quotas);
      if (quotas !== undefined && owner === undefined)
        throw new ValidationError('options.owner', 'the owner the quotas apply to');
      return run(async (tx) => {
        if (expires <= tx.now) throw new ValidationError('expiresAt', 'a time after now');
        // Quotas first: a refusal has written nothing.
        if (owner !== undefined && quotas !== undefined)
          await checkBlobQuotas(tx, ledger, owner, quotas, total, expires);
        const scopes = owner === undefined ? undefined : blobScopes(owner);
        const base: Meta = { size: total, chunkSize, complete: false, createdAt: tx.now, expiresAt: expires };
        const meta: Meta =
          scopes === undefined ? base : { ...base, usageBucket: usageBucket(scopes[0], expires) };
        const ok = await tx.put(
          T.blobs,
          { partition: key(bid), sort: NO_SORT, value: metaRecord(meta), expiresAt: expires },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('blob', 'the id is in use');
        // Leftovers of an expired blob with this id must not count as uploaded chunks.
        await tx.deletePartition(T.blobParts, key(bid));
        await tx.deletePartition(T.blobChunks, key(bid));
        for (const scope of scopes ?? []) await ledger.add(tx, scope, expires, { bytes: total, count: 1 });
        return statusOf(bid, meta, []);
      });
    },

    async putChunk(id, index, bytes) {
      const bid = checkId(id, 'id', blobId);
      const i = checkInteger(index, 'index', 0, 0xffff_ffff);
      const data = checkBytesIn(bytes, 'bytes', 1, BLOB_UPLOAD_CHUNK_BYTES.max);
      await run(async (tx) => {
        // The lock orders chunk writes against `finish` and `delete` of the same blob.
        const m = await loadMeta(tx, bid, true);
        if (m === undefined) throw new NotFoundError('blob');
        if (m.complete) throw new ConflictError('blob.complete', 'the upload is finished');
        if (i >= chunkCount(m)) throw new ValidationError('index', 'a chunk index below the chunk count');
        if (data.length !== chunkLength(m, i))
          throw new ValidationError('bytes', 'the chunk size (the remainder for the last chunk)');
        const row = { partition: key(bid), sort: u32(i), expiresAt: m.expiresAt };
        await tx.put(T.blobChunks, { ...row, value: write({ bytes: data }) });
        await tx.put(T.blobParts, { ...row, value: write({ index: i }) });
      });
    },

    async status(id) {
      const bid = checkId(id, 'id', blobId);
      return run(
        async (tx) => {
          const m = await loadMeta(tx, bid);
          return m === undefined ? undefined : statusOf(bid, m, await present(tx, bid, chunkCount(m)));
        },
        { readOnly: true },
      );
    },

    async finish(id) {
      const bid = checkId(id, 'id', blobId);
      return run(async (tx) => {
        const m = await loadMeta(tx, bid, true);
        if (m === undefined) throw new NotFoundError('blob');
        const count = chunkCount(m);
        const indexes = await present(tx, bid, count);
        if (indexes.length !== count) throw new ConflictError('blob.incomplete', 'a chunk is missing');
        if (m.complete) return statusOf(bid, m, indexes);
        const done: Meta = { ...m, complete: true };
        await tx.put(T.blobs, {
          partition: key(bid),
          sort: NO_SORT,
          value: metaRecord(done),
          expiresAt: m.expiresAt,
        });
        return statusOf(bid, done, indexes);
      });
    },

    async readChunk(id, index) {
      const bid = checkId(id, 'id', blobId);
      const i = checkInteger(index, 'index', 0, 0xffff_ffff);
      return run(
        async (tx) => {
          const m = await completeMeta(tx, bid);
          if (i >= chunkCount(m)) throw new ValidationError('index', 'a chunk index below the chunk count');
          return chunk(tx, bid, m, i);
        },
        { readOnly: true },
      );
    },

    async read(id, offset, length) {
      const bid = checkId(id, 'id', blobId);
      const start = checkInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
      const want = checkInteger(length, 'length', 0, MAX_BLOB_READ_BYTES);
      return run(
        async (tx) => {
          const m = await completeMeta(tx, bid);
          const end = Math.min(m.size, start + want);
          if (start >= end) return new Uint8Array(0);
          const out = new Uint8Array(end - start);
          for (let i = Math.floor(start / m.chunkSize); i * m.chunkSize < end; i++) {
            const data = await chunk(tx, bid, m, i);
            const from = Math.max(start, i * m.chunkSize);
            const to = Math.min(end, i * m.chunkSize + data.length);
            out.set(data.subarray(from - i * m.chunkSize, to - i * m.chunkSize), from - start);
          }
          return out;
        },
        { readOnly: true },
      );
    },

    async delete(id, owner) {
      const bid = checkId(id, 'id', blobId);
      const by = owner === undefined ? undefined : checkOwner(owner, 'owner');
      return run(async (tx) => {
        // The meta row says whether (and in which bucket) the blob was counted.
        const m = by === undefined ? undefined : await loadMeta(tx, bid, true);
        const existed = await tx.delete(T.blobs, key(bid), NO_SORT);
        await tx.deletePartition(T.blobParts, key(bid));
        await tx.deletePartition(T.blobChunks, key(bid));
        if (by !== undefined && m?.usageBucket !== undefined) {
          for (const scope of blobScopes(by))
            await ledger.subtract(tx, scope, m.usageBucket, { bytes: m.size, count: 1 });
        }
        return existed;
      });
    },
  };
}
