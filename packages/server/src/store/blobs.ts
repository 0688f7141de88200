/**
 * Blobs: encrypted files (opaque to the server) uploaded in fixed-size chunks that may arrive
 * in any order and be resent after an interruption. `begin` declares the size (bounded by the
 * store's limit) and the chunk size, so every chunk's length is known in advance and checked on
 * upload; `finish` refuses until every chunk is present. A small part row per chunk answers
 * `status` without reading chunk data. Every row carries the blob's expiry.
 *
 * @module
 */
import { LimitError, ValidationError } from '@cloister/crypto';
import { type BlobId, blobId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBytesIn,
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
import { ConflictError, NotFoundError } from './errors.js';

/**
 * Default chunk size: 1 MiB.
 *
 * @example
 * ```ts
 * const chunks = Math.ceil(size / DEFAULT_BLOB_UPLOAD_CHUNK_BYTES);
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
 * const part = await stores.blobs.read(id, offset, Math.min(wanted, MAX_BLOB_READ_BYTES));
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
}

/**
 * Options of {@link ServerBlobStore.begin}.
 *
 * @example
 * ```ts
 * await stores.blobs.begin(id, size, expiresAt, { chunkSize: 256 * 1024 } satisfies BeginBlobOptions);
 * ```
 */
export interface BeginBlobOptions {
  /** Chunk size in bytes ({@link BLOB_UPLOAD_CHUNK_BYTES}; default {@link DEFAULT_BLOB_UPLOAD_CHUNK_BYTES}). */
  readonly chunkSize?: number;
}

/**
 * Where an upload stands.
 *
 * @example
 * ```ts
 * const status: BlobStatus | undefined = await stores.blobs.status(id);
 * const missing = status === undefined ? [] : [...Array(status.chunkCount).keys()].filter((i) => !status.present.includes(i));
 * ```
 */
export interface BlobStatus {
  readonly id: BlobId;
  readonly size: number;
  readonly chunkSize: number;
  /** Number of chunks: `ceil(size / chunkSize)`. */
  readonly chunkCount: number;
  /** Indexes of the chunks stored so far, ascending. */
  readonly present: readonly number[];
  /** True once {@link ServerBlobStore.finish} succeeded; only then can the blob be read. */
  readonly complete: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Encrypted file blobs with resumable chunked upload.
 *
 * @example
 * ```ts
 * await stores.blobs.begin(id, bytes.length, Date.now() + 86_400_000, { chunkSize: 65_536 });
 * for (let i = 0; i * 65_536 < bytes.length; i++) await stores.blobs.putChunk(id, i, bytes.subarray(i * 65_536, (i + 1) * 65_536));
 * await stores.blobs.finish(id);
 * const first = await stores.blobs.read(id, 0, 1024);
 * ```
 */
export interface ServerBlobStore {
  /**
   * Starts an upload. `LimitError` above the size limit, `ConflictError('blob')` when the id is
   * in use.
   */
  begin(id: BlobId, size: number, expiresAt: number, options?: BeginBlobOptions): Promise<BlobStatus>;
  /**
   * Stores chunk `index` (replacing an earlier upload of it). Its length must be `chunkSize`, or
   * the remainder for the last chunk. `NotFoundError('blob')`, `ConflictError('blob.complete')`.
   */
  putChunk(id: BlobId, index: number, bytes: Uint8Array): Promise<void>;
  status(id: BlobId): Promise<BlobStatus | undefined>;
  /** Marks the upload complete; `ConflictError('blob.incomplete')` while a chunk is missing. */
  finish(id: BlobId): Promise<BlobStatus>;
  /** One chunk of a complete blob; `NotFoundError('blob')`, `ConflictError('blob.incomplete')`. */
  readChunk(id: BlobId, index: number): Promise<Uint8Array>;
  /** Bytes `[offset, offset + length)` of a complete blob (clamped to its end). */
  read(id: BlobId, offset: number, length: number): Promise<Uint8Array>;
  /** Deletes the blob (complete or not); `false` when absent. */
  delete(id: BlobId): Promise<boolean>;
}

interface Meta {
  readonly size: number;
  readonly chunkSize: number;
  readonly complete: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
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
  return meta;
}

function metaRecord(m: Meta): Uint8Array {
  return write({ ...m });
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

function statusOf(id: BlobId, m: Meta, indexes: number[]): BlobStatus {
  return { id, ...m, chunkCount: chunkCount(m), present: indexes };
}

/**
 * Creates the blob store over `run`.
 *
 * @example
 * ```ts
 * const blobs = createServerBlobStore(adapterExecutor(adapter), { maxBlobBytes: 100 * 1024 * 1024 });
 * ```
 */
export function createServerBlobStore(run: Executor, options: ServerBlobStoreOptions = {}): ServerBlobStore {
  const maxBlobBytes =
    options.maxBlobBytes === undefined
      ? DEFAULT_MAX_BLOB_BYTES
      : checkInteger(options.maxBlobBytes, 'maxBlobBytes', 1, Number.MAX_SAFE_INTEGER);

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
      return run(async (tx) => {
        if (expires <= tx.now) throw new ValidationError('expiresAt', 'a time after now');
        const meta: Meta = { size: total, chunkSize, complete: false, createdAt: tx.now, expiresAt: expires };
        const ok = await tx.put(
          T.blobs,
          { partition: key(bid), sort: NO_SORT, value: metaRecord(meta), expiresAt: expires },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('blob', 'the id is in use');
        // Leftovers of an expired blob with this id must not count as uploaded chunks.
        await tx.deletePartition(T.blobParts, key(bid));
        await tx.deletePartition(T.blobChunks, key(bid));
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

    async delete(id) {
      const bid = checkId(id, 'id', blobId);
      return run(async (tx) => {
        const existed = await tx.delete(T.blobs, key(bid), NO_SORT);
        await tx.deletePartition(T.blobParts, key(bid));
        await tx.deletePartition(T.blobChunks, key(bid));
        return existed;
      });
    },
  };
}
