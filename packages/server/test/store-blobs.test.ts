import type { CloisterError } from '@cloister/crypto';
import { blobId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter } from '@cloister/storage';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, createServerStores, SERVER_TABLES, type ServerStores } from '../src/store/index.js';

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

const CHUNK = 4096;
const id = blobId('b_1');
const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251);

let time: number;
let db: StorageAdapter;
let stores: ServerStores;

beforeEach(() => {
  time = 5_000_000;
  db = createMemoryAdapter({ now: () => time });
  stores = createServerStores(db, { maxBlobBytes: 64 * 1024 });
});

const chunkOf = (bytes: Uint8Array, i: number) => bytes.subarray(i * CHUNK, (i + 1) * CHUNK);

describe('blobs', () => {
  it('resumes an upload sent out of order and reads ranges back', async () => {
    const bytes = data(3 * CHUNK + 100);
    const begun = await stores.blobs.begin(id, bytes.length, time + 60_000, { chunkSize: CHUNK });
    expect(begun.chunkCount).toBe(4);
    await stores.blobs.putChunk(id, 3, chunkOf(bytes, 3));
    await stores.blobs.putChunk(id, 1, chunkOf(bytes, 1));
    expect((await stores.blobs.status(id))?.present).toEqual([1, 3]);
    // An interrupted client resends chunk 1 and sends the rest.
    await stores.blobs.putChunk(id, 1, chunkOf(bytes, 1));
    await stores.blobs.putChunk(id, 0, chunkOf(bytes, 0));
    await rejectsWith(stores.blobs.readChunk(id, 0), 'ERR_STORAGE', { constraint: 'blob.incomplete' });
    await stores.blobs.putChunk(id, 2, chunkOf(bytes, 2));
    const done = await stores.blobs.finish(id);
    expect(done.complete).toBe(true);
    expect(done.present).toEqual([0, 1, 2, 3]);
    expect(await stores.blobs.readChunk(id, 3)).toEqual(chunkOf(bytes, 3));
    expect(await stores.blobs.read(id, 0, bytes.length)).toEqual(bytes);
    expect(await stores.blobs.read(id, CHUNK - 10, 20)).toEqual(bytes.subarray(CHUNK - 10, CHUNK + 10));
    expect(await stores.blobs.read(id, bytes.length - 5, 100)).toEqual(bytes.subarray(bytes.length - 5));
    expect(await stores.blobs.read(id, bytes.length, 10)).toEqual(new Uint8Array(0));
    // Finished blobs take no more chunks; finishing again is harmless.
    await rejectsWith(stores.blobs.putChunk(id, 0, chunkOf(bytes, 0)), 'ERR_STORAGE', {
      constraint: 'blob.complete',
    });
    expect((await stores.blobs.finish(id)).complete).toBe(true);
  });

  it('refuses to finish while a chunk is missing', async () => {
    const bytes = data(2 * CHUNK);
    await stores.blobs.begin(id, bytes.length, time + 60_000, { chunkSize: CHUNK });
    await stores.blobs.putChunk(id, 1, chunkOf(bytes, 1));
    const err = await stores.blobs.finish(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).constraint).toBe('blob.incomplete');
    expect((await stores.blobs.status(id))?.complete).toBe(false);
  });

  it('enforces the size limit and the chunk lengths', async () => {
    await rejectsWith(stores.blobs.begin(id, 64 * 1024 + 1, time + 1000), 'ERR_LIMIT');
    await rejectsWith(stores.blobs.begin(id, 0, time + 1000), 'ERR_VALIDATION', { field: 'size' });
    await rejectsWith(stores.blobs.begin(id, 10, time + 1000, { chunkSize: 100 }), 'ERR_VALIDATION', {
      field: 'options.chunkSize',
    });
    await rejectsWith(stores.blobs.begin(id, 10, time), 'ERR_VALIDATION', { field: 'expiresAt' });
    expect(await stores.blobs.status(id)).toBeUndefined();
    await stores.blobs.begin(id, CHUNK + 10, time + 1000, { chunkSize: CHUNK });
    await rejectsWith(stores.blobs.begin(id, 10, time + 1000), 'ERR_STORAGE', { constraint: 'blob' });
    await rejectsWith(stores.blobs.putChunk(id, 0, data(CHUNK - 1)), 'ERR_VALIDATION', { field: 'bytes' });
    await rejectsWith(stores.blobs.putChunk(id, 1, data(11)), 'ERR_VALIDATION', { field: 'bytes' });
    await rejectsWith(stores.blobs.putChunk(id, 2, data(10)), 'ERR_VALIDATION', { field: 'index' });
    await rejectsWith(stores.blobs.putChunk(blobId('b_2'), 0, data(10)), 'ERR_STORAGE', { what: 'blob' });
    expect((await stores.blobs.status(id))?.present).toEqual([]);
  });

  it('expires an upload with its chunks, and lets the id be reused', async () => {
    await stores.blobs.begin(id, 10, time + 1000, { chunkSize: CHUNK });
    await stores.blobs.putChunk(id, 0, data(10));
    time += 1000;
    expect(await stores.blobs.status(id)).toBeUndefined();
    await rejectsWith(stores.blobs.putChunk(id, 0, data(10)), 'ERR_STORAGE', { what: 'blob' });
    const again = await stores.blobs.begin(id, 20, time + 1000, { chunkSize: CHUNK });
    expect(again.present).toEqual([]);
    await rejectsWith(stores.blobs.finish(id), 'ERR_STORAGE', { constraint: 'blob.incomplete' });
  });

  it('deletes a blob and all its rows', async () => {
    await stores.blobs.begin(id, 10, time + 1000, { chunkSize: CHUNK });
    await stores.blobs.putChunk(id, 0, data(10));
    await stores.blobs.finish(id);
    expect(await stores.blobs.delete(id)).toBe(true);
    expect(await stores.blobs.delete(id)).toBe(false);
    await rejectsWith(stores.blobs.read(id, 0, 10), 'ERR_STORAGE', { what: 'blob' });
    const left = await db.transaction(
      async (tx) =>
        (await tx.count(SERVER_TABLES.blobChunks, new TextEncoder().encode(id))) +
        (await tx.count(SERVER_TABLES.blobParts, new TextEncoder().encode(id))),
    );
    expect(left).toBe(0);
  });

  it('property: any upload order and any range read give back the original bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 * CHUNK }),
        fc.infiniteStream(fc.nat()),
        fc.nat(),
        fc.nat(),
        async (size, randoms, a, b) => {
          db = createMemoryAdapter({ now: () => time });
          stores = createServerStores(db, { maxBlobBytes: 64 * 1024 });
          const bytes = data(size);
          const status = await stores.blobs.begin(id, size, time + 1000, { chunkSize: CHUNK });
          const order = Array.from({ length: status.chunkCount }, (_, i) => i);
          const it = randoms[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = (it.next().value as number) % (i + 1);
            [order[i], order[j]] = [order[j] as number, order[i] as number];
          }
          for (const i of order) await stores.blobs.putChunk(id, i, chunkOf(bytes, i));
          await stores.blobs.finish(id);
          const offset = a % (size + 1);
          const length = b % (size + 1);
          expect(await stores.blobs.read(id, offset, length)).toEqual(
            bytes.subarray(offset, offset + length),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
