/**
 * Encrypted file bytes of any size, stored as chunk rows of at most 1 MiB, read back as a
 * stream. The bytes are expected to be already encrypted (for example with crypto's file
 * encryption); the store neither knows nor needs the key.
 *
 * @module
 */
import { DecodeError, StorageError, ValidationError } from '@cloister/crypto';
import { type BlobId, blobId as toBlobId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkBytesArg,
  checkObjectArg,
  checkOptionalExpiry,
  concat,
  dBytes,
  decodeObject,
  dTime,
  dUint32,
  EMPTY,
  encode,
  randomBytes,
  u32,
  utf8Bytes,
} from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * Bytes per chunk row (1 MiB); the last chunk may be shorter.
 *
 * @example
 * ```ts
 * const rows = Math.ceil(bytes.length / BLOB_CHUNK_BYTES); // chunk rows one blob takes
 * ```
 */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

/**
 * Facts about a stored blob.
 *
 * @example
 * ```ts
 * import { blobId } from '@cloister/protocol';
 * const info: BlobInfo | undefined = await stores.blobs.info(blobId('b_1'));
 * console.log(info?.size); // e.g. 3145728
 * ```
 */
export interface BlobInfo {
  /** The blob's id. */
  readonly id: BlobId;
  /** Length in bytes. */
  readonly size: number;
  /** When it was stored (ms since the epoch). */
  readonly createdAt: number;
  /** When it disappears, or `null`. */
  readonly expiresAt: number | null;
}

/**
 * A blob being read: its facts and its bytes as an async iterable of chunks (or a web
 * `ReadableStream`). Each chunk is read in its own step; over transaction-bound stores, read it
 * before the transaction ends. Throws `StorageError` if the blob is replaced or deleted midway.
 *
 * @example
 * ```ts
 * import { blobId } from '@cloister/protocol';
 * const reader: BlobReader | undefined = await stores.blobs.read(blobId('b_1'));
 * const chunks: Uint8Array[] = [];
 * if (reader !== undefined) for await (const chunk of reader) chunks.push(chunk);
 * ```
 */
export interface BlobReader extends AsyncIterable<Uint8Array> {
  /** Facts about the blob being read (as they were when it was opened). */
  readonly info: BlobInfo;
  /**
   * The same bytes as a `ReadableStream`.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * const reader = await stores.blobs.read(blobId('b_1'));
   * const response = reader === undefined ? undefined : new Response(reader.stream());
   * ```
   */
  stream(): ReadableStream<Uint8Array>;
}

/**
 * Options of {@link BlobStore.put}.
 *
 * @example
 * ```ts
 * import { blobId } from '@cloister/protocol';
 * const options: PutBlobOptions = { expiresAt: Date.now() + 7 * 86_400_000 };
 * await stores.blobs.put(blobId('b_1'), bytes, options);
 * ```
 */
export interface PutBlobOptions {
  /** When the blob disappears (ms since the epoch); absent or `null` for never. */
  readonly expiresAt?: number | null;
}

/**
 * Encrypted file blobs.
 *
 * @example
 * ```ts
 * import { blobId } from '@cloister/protocol';
 * await stores.blobs.put(blobId('b_1'), bytes, { expiresAt: Date.now() + 86_400_000 }); // bytes already encrypted
 * const whole = await stores.blobs.get(blobId('b_1')); // or stream it with read()
 * ```
 */
export interface BlobStore {
  /**
   * Stores (or replaces) a blob, all chunks in one transaction.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * await stores.blobs.put(blobId('b_1'), bytes); // bytes already encrypted; kept until deleted
   * ```
   */
  put(id: BlobId, bytes: Uint8Array, options?: PutBlobOptions): Promise<void>;
  /**
   * The whole blob, or `undefined`.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * const whole = await stores.blobs.get(blobId('b_1')); // undefined when there is none
   * ```
   */
  get(id: BlobId): Promise<Uint8Array | undefined>;
  /**
   * Facts about the blob, or `undefined`.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * const info = await stores.blobs.info(blobId('b_1'));
   * if (info !== undefined) console.log(info.size, info.expiresAt === null ? 'kept' : new Date(info.expiresAt));
   * ```
   */
  info(id: BlobId): Promise<BlobInfo | undefined>;
  /**
   * Opens the blob for streaming, or `undefined` when there is none.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * const reader = await stores.blobs.read(blobId('b_1'));
   * let received = 0;
   * if (reader !== undefined) for await (const chunk of reader) received += chunk.length; // at most BLOB_CHUNK_BYTES each
   * ```
   */
  read(id: BlobId): Promise<BlobReader | undefined>;
  /**
   * Deletes the blob and its chunks; resolves `true` when it existed.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * const existed = await stores.blobs.delete(blobId('b_1'));
   * ```
   */
  delete(id: BlobId): Promise<boolean>;
}

const T = CLIENT_TABLES;
const PATH = 'c_blobs';
const CPATH = 'c_blob_chunks';
const VERSION = 1;
const GENERATION_BYTES = 8;
/** Largest blob: chunk indexes are u32 and sizes safe integers. */
const MAX_BLOB_BYTES = Number.MAX_SAFE_INTEGER;

interface Meta {
  size: number;
  chunks: number;
  generation: Uint8Array;
  createdAt: number;
}

function decodeMeta(bytes: Uint8Array): Meta {
  const d = decodeObject(bytes, PATH, VERSION);
  const size = dTime(d, 'size', PATH);
  const chunks = dUint32(d, 'chunks', PATH);
  if (chunks !== Math.ceil(size / BLOB_CHUNK_BYTES))
    throw new DecodeError(`${PATH}.chunks`, 'does not match size');
  return {
    size,
    chunks,
    generation: dBytes(d, 'generation', PATH, GENERATION_BYTES),
    createdAt: dTime(d, 'createdAt', PATH),
  };
}

/** Chunks of one stored version live in their own partition: id ‖ 0x00 ‖ generation. */
function chunkPartition(id: BlobId, generation: Uint8Array): Uint8Array {
  return concat(utf8Bytes(id), new Uint8Array(1), generation);
}

function chunkLength(meta: Meta, index: number): number {
  return index < meta.chunks - 1 ? BLOB_CHUNK_BYTES : meta.size - BLOB_CHUNK_BYTES * (meta.chunks - 1);
}

function checkId(id: unknown): BlobId {
  try {
    return toBlobId(id);
  } catch {
    throw new ValidationError('id', 'a BlobId');
  }
}

/**
 * Creates the blob store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const blobs = createBlobStore(adapterExecutor(adapter));
 * ```
 */
export function createBlobStore(run: Executor): BlobStore {
  const loadMeta = (id: BlobId) =>
    run(
      async (tx) => {
        const row = await tx.get(T.blobs, utf8Bytes(id), EMPTY);
        return row === undefined ? undefined : { meta: decodeMeta(row.value), expiresAt: row.expiresAt };
      },
      { readOnly: true },
    );

  const readChunk = async (id: BlobId, meta: Meta, index: number): Promise<Uint8Array> => {
    const row = await run((tx) => tx.get(T.blobChunks, chunkPartition(id, meta.generation), u32(index)), {
      readOnly: true,
    });
    if (row === undefined) throw new StorageError('the blob was replaced or deleted while being read');
    const d = decodeObject(row.value, CPATH, VERSION);
    const bytes = dBytes(d, 'bytes', CPATH);
    if (bytes.length !== chunkLength(meta, index))
      throw new DecodeError(`${CPATH}.bytes`, 'wrong chunk length');
    return bytes;
  };

  return {
    async put(id, bytes, options = {}) {
      const i = checkId(id);
      const data = checkBytesArg(bytes, 'bytes');
      if (data.length > MAX_BLOB_BYTES) throw new ValidationError('bytes', 'a smaller blob');
      const expiresAt = checkOptionalExpiry(
        checkObjectArg(options, 'options').expiresAt,
        'options.expiresAt',
      );
      const chunks = Math.ceil(data.length / BLOB_CHUNK_BYTES);
      const values: Uint8Array[] = [];
      for (let c = 0; c < chunks; c++) {
        values.push(
          encode(VERSION, { bytes: data.subarray(c * BLOB_CHUNK_BYTES, (c + 1) * BLOB_CHUNK_BYTES) }),
        );
      }
      await run(async (tx) => {
        const partition = utf8Bytes(i);
        const old = await tx.get(T.blobs, partition, EMPTY, { forUpdate: true });
        if (old !== undefined)
          await tx.deletePartition(T.blobChunks, chunkPartition(i, decodeMeta(old.value).generation));
        const generation = randomBytes(GENERATION_BYTES);
        const cp = chunkPartition(i, generation);
        for (const [c, value] of values.entries()) {
          await tx.put(T.blobChunks, { partition: cp, sort: u32(c), value, expiresAt });
        }
        const meta = encode(VERSION, { size: data.length, chunks, generation, createdAt: tx.now });
        await tx.put(T.blobs, { partition, sort: EMPTY, value: meta, expiresAt });
      });
    },
    async get(id) {
      const i = checkId(id);
      return run(
        async (tx) => {
          const row = await tx.get(T.blobs, utf8Bytes(i), EMPTY);
          if (row === undefined) return undefined;
          const meta = decodeMeta(row.value);
          const cp = chunkPartition(i, meta.generation);
          // Read every chunk before allocating, so a size claimed by a damaged record is never
          // trusted beyond the chunks that really exist.
          const parts: Uint8Array[] = [];
          for (let c = 0; c < meta.chunks; c++) {
            const chunk = await tx.get(T.blobChunks, cp, u32(c));
            if (chunk === undefined) throw new DecodeError(CPATH, 'missing chunk');
            const bytes = dBytes(decodeObject(chunk.value, CPATH, VERSION), 'bytes', CPATH);
            if (bytes.length !== chunkLength(meta, c))
              throw new DecodeError(`${CPATH}.bytes`, 'wrong chunk length');
            parts.push(bytes);
          }
          return parts.length === 1 ? (parts[0] as Uint8Array) : concat(...parts);
        },
        { readOnly: true },
      );
    },
    async info(id) {
      const i = checkId(id);
      const found = await loadMeta(i);
      return found === undefined
        ? undefined
        : { id: i, size: found.meta.size, createdAt: found.meta.createdAt, expiresAt: found.expiresAt };
    },
    async read(id) {
      const i = checkId(id);
      const found = await loadMeta(i);
      if (found === undefined) return undefined;
      const { meta } = found;
      const info: BlobInfo = {
        id: i,
        size: meta.size,
        createdAt: meta.createdAt,
        expiresAt: found.expiresAt,
      };
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let c = 0; c < meta.chunks; c++) yield await readChunk(i, meta, c);
      }
      return {
        info,
        [Symbol.asyncIterator]: chunks,
        stream() {
          const it = chunks();
          return new ReadableStream<Uint8Array>({
            async pull(controller) {
              try {
                const next = await it.next();
                if (next.done) controller.close();
                else controller.enqueue(next.value);
              } catch (e) {
                controller.error(e);
              }
            },
            async cancel() {
              await it.return(undefined);
            },
          });
        },
      };
    },
    async delete(id) {
      const i = checkId(id);
      return run(async (tx) => {
        const partition = utf8Bytes(i);
        const old = await tx.get(T.blobs, partition, EMPTY, { forUpdate: true });
        if (old === undefined) return false;
        await tx.deletePartition(T.blobChunks, chunkPartition(i, decodeMeta(old.value).generation));
        return tx.delete(T.blobs, partition, EMPTY);
      });
    },
  };
}
