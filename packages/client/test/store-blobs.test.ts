/** Client blob store: chunking at 1 MiB, streaming reads, replacement, expiry and validation. */
import { CloisterError } from '@cloister/crypto';
import { blobId } from '@cloister/protocol';
import { createMemoryAdapter, decodeRecord } from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import { BLOB_CHUNK_BYTES, CLIENT_TABLES, createClientStores } from '../src/store/index.js';

const MiB = 1024 * 1024;

async function thrown(fn: () => Promise<unknown>): Promise<CloisterError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError');
}

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function join(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Byte equality without vitest's per-element deep compare (slow on megabytes). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.compare(a, b) === 0;
}

/** Counts the chunk rows of the version of blob `id` currently named by its meta row (spec layout). */
async function chunkRowsOfCurrent(adapter: ReturnType<typeof createMemoryAdapter>, id: string) {
  return adapter.transaction(async (tx) => {
    const meta = await tx.get(CLIENT_TABLES.blobs, new TextEncoder().encode(id), new Uint8Array());
    if (meta === undefined) throw new Error('missing');
    const { d } = decodeRecord(meta.value, 'test');
    const generation = (d as { generation: Uint8Array }).generation;
    const partition = new Uint8Array([...new TextEncoder().encode(id), 0, ...generation]);
    return { partition, count: await tx.count(CLIENT_TABLES.blobChunks, partition) };
  });
}

describe('blobs', () => {
  it('stores a 0-byte blob', async () => {
    const { blobs } = createClientStores(createMemoryAdapter());
    await blobs.put(blobId('empty'), new Uint8Array(0));
    expect(await blobs.get(blobId('empty'))).toEqual(new Uint8Array(0));
    const reader = await blobs.read(blobId('empty'));
    expect(reader?.info.size).toBe(0);
    expect(await collect(reader as AsyncIterable<Uint8Array>)).toEqual([]);
  });

  it('stores exactly 1 MiB as one chunk', async () => {
    const { blobs } = createClientStores(createMemoryAdapter());
    const data = pattern(MiB);
    await blobs.put(blobId('one'), data);
    const reader = await blobs.read(blobId('one'));
    const chunks = await collect(reader as AsyncIterable<Uint8Array>);
    expect(chunks.map((c) => c.length)).toEqual([BLOB_CHUNK_BYTES]);
    expect(same(join(chunks), data)).toBe(true);
    expect(same(await blobs.get(blobId('one')), data)).toBe(true);
  });

  it('streams 2.5 MiB as chunks of at most 1 MiB, also as a ReadableStream', async () => {
    const { blobs } = createClientStores(createMemoryAdapter());
    const data = pattern(2.5 * MiB, 7);
    await blobs.put(blobId('big'), data);
    const reader = await blobs.read(blobId('big'));
    if (reader === undefined) throw new Error('missing');
    expect(reader.info.size).toBe(data.length);
    const chunks = await collect(reader);
    expect(chunks.map((c) => c.length)).toEqual([MiB, MiB, MiB / 2]);
    expect(same(join(chunks), data)).toBe(true);
    const streamed: Uint8Array[] = [];
    const r = reader.stream().getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      streamed.push(value);
    }
    expect(same(join(streamed), data)).toBe(true);
  });

  it('replaces a blob, deleting the old chunks, and fails a read that spans the replacement', async () => {
    const adapter = createMemoryAdapter();
    const { blobs } = createClientStores(adapter);
    await blobs.put(blobId('b'), pattern(2 * MiB, 1));
    const old = await chunkRowsOfCurrent(adapter, 'b');
    expect(old.count).toBe(2);
    const reader = await blobs.read(blobId('b'));
    if (reader === undefined) throw new Error('missing');
    const it = reader[Symbol.asyncIterator]();
    expect((await it.next()).value).toHaveLength(MiB);
    const small = pattern(10, 2);
    await blobs.put(blobId('b'), small);
    expect((await thrown(() => it.next())).code).toBe('ERR_STORAGE');
    expect(await blobs.get(blobId('b'))).toEqual(small);
    expect((await blobs.info(blobId('b')))?.size).toBe(10);
    // The old version's chunk rows are gone; the new version has one chunk row.
    expect(await adapter.transaction((tx) => tx.count(CLIENT_TABLES.blobChunks, old.partition))).toBe(0);
    const current = await chunkRowsOfCurrent(adapter, 'b');
    expect(current.count).toBe(1);
    expect(await blobs.delete(blobId('b'))).toBe(true);
    expect(await blobs.delete(blobId('b'))).toBe(false);
    expect(await blobs.get(blobId('b'))).toBeUndefined();
    expect(await blobs.read(blobId('b'))).toBeUndefined();
    expect(await adapter.transaction((tx) => tx.count(CLIENT_TABLES.blobChunks, current.partition))).toBe(0);
    expect((await adapter.purgeExpired({ now: Number.MAX_SAFE_INTEGER })).deleted).toBe(0);
  });

  it('expires a blob with all its chunks', async () => {
    let now = 1_000;
    const adapter = createMemoryAdapter({ now: () => now });
    const { blobs } = createClientStores(adapter);
    await blobs.put(blobId('tmp'), pattern(MiB + 1), { expiresAt: 5_000 });
    expect((await blobs.info(blobId('tmp')))?.expiresAt).toBe(5_000);
    now = 5_000;
    expect(await blobs.get(blobId('tmp'))).toBeUndefined();
    expect(await blobs.info(blobId('tmp'))).toBeUndefined();
    // Meta row and both chunk rows carry the expiry.
    expect((await adapter.purgeExpired()).deleted).toBe(3);
  });

  it('rejects bad input and reports corrupted metadata', async () => {
    const adapter = createMemoryAdapter();
    const { blobs } = createClientStores(adapter);
    const cases: (() => Promise<unknown>)[] = [
      () => blobs.put('bad id' as never, new Uint8Array(1)),
      () => blobs.put(blobId('x'), 'text' as never),
      () => blobs.put(blobId('x'), new Uint8Array(1), { expiresAt: -5 }),
      () => blobs.get('' as never),
    ];
    for (const c of cases) expect((await thrown(c)).code).toBe('ERR_VALIDATION');
    expect(await blobs.info(blobId('x'))).toBeUndefined();
    await blobs.put(blobId('x'), new Uint8Array(3));
    await adapter.transaction(async (tx) => {
      const row = await tx.get(CLIENT_TABLES.blobs, new TextEncoder().encode('x'), new Uint8Array());
      if (row === undefined) throw new Error('missing');
      await tx.put(CLIENT_TABLES.blobs, { ...row, value: row.value.subarray(0, row.value.length - 2) });
    });
    expect((await thrown(() => blobs.get(blobId('x')))).code).toBe('ERR_DECODE');
  });
});
