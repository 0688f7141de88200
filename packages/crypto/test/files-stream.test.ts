import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decryptFile,
  decryptFileStream,
  encryptFile,
  encryptFileStream,
  FILE_STREAM_DEFAULT_CHUNK_SIZE,
  FILE_STREAM_HEADER_LENGTH,
  FILE_STREAM_TAG_LENGTH,
  fileCiphertextLength,
} from '../src/files/index.js';
import { type CryptoProvider, concatBytes, equalBytes } from '../src/index.js';
import { errorCode as codeOf } from './error-code.js';
import { PROVIDERS } from './providers.js';

/** A stream that hands out `bytes` in pieces of the given sizes (cycled). */
function piecewise(bytes: Uint8Array, sizes: readonly number[] = [bytes.length]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const n = Math.max(1, sizes[i++ % sizes.length]!);
      controller.enqueue(bytes.slice(offset, offset + n));
      offset += n;
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return { bytes: concatBytes(...parts) };
      parts.push(r.value);
    }
  } catch (error) {
    return { bytes: concatBytes(...parts), error };
  }
}

/** Splits an encrypted file into header and sealed chunks. */
function split(ciphertext: Uint8Array, chunkSize: number): { header: Uint8Array; chunks: Uint8Array[] } {
  const header = ciphertext.slice(0, FILE_STREAM_HEADER_LENGTH);
  const chunks: Uint8Array[] = [];
  const segment = chunkSize + FILE_STREAM_TAG_LENGTH;
  for (let o = FILE_STREAM_HEADER_LENGTH; o < ciphertext.length; o += segment) {
    chunks.push(ciphertext.slice(o, o + segment));
  }
  return { header, chunks };
}

const SMALL = 64;

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'file stream (%s)',
  (_name, provider: CryptoProvider) => {
    it('round-trips sizes around the 64 KiB chunk boundary', async () => {
      for (const size of [0, 1, 65535, 65536, 65537, 3 * 65536]) {
        const plaintext = provider.randomBytes(size);
        const enc = await encryptFile(provider, plaintext);
        expect(enc.size, `size ${size}`).toBe(size);
        expect(enc.ciphertext.length, `size ${size}`).toBe(fileCiphertextLength(size));
        expect(enc.ciphertextSize, `size ${size}`).toBe(enc.ciphertext.length);
        expect(equalBytes(enc.digest, await provider.sha256(enc.ciphertext)), `digest, size ${size}`).toBe(
          true,
        );
        const out = await decryptFile(provider, enc.fileKey, enc.ciphertext);
        expect(equalBytes(out, plaintext), `size ${size}`).toBe(true);
      }
    });

    it('re-chunks input and output pieces of any size', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: 5 * SMALL }),
          fc.array(fc.integer({ min: 1, max: 3 * SMALL }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.integer({ min: 1, max: 3 * SMALL }), { minLength: 1, maxLength: 5 }),
          async (size, inPieces, outPieces) => {
            const plaintext = provider.randomBytes(size);
            const enc = encryptFileStream(provider, {
              plaintextStream: piecewise(plaintext, inPieces),
              chunkSize: SMALL,
            });
            const { bytes: ciphertext } = await readAll(enc.ciphertext);
            const done = await enc.done;
            expect(done.size).toBe(size);
            expect(ciphertext.length).toBe(fileCiphertextLength(size, SMALL));
            const dec = decryptFileStream(provider, {
              fileKey: enc.fileKey,
              ciphertextStream: piecewise(ciphertext, outPieces),
            });
            const { bytes, error } = await readAll(dec);
            expect(error).toBeUndefined();
            expect(equalBytes(bytes, plaintext)).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('rejects any altered, truncated, reordered, duplicated, extended or foreign chunk', async () => {
      const fileKey = provider.randomBytes(32);
      const plaintext = provider.randomBytes(3 * SMALL + 10);
      const a = await encryptFile(provider, plaintext, { fileKey, chunkSize: SMALL });
      const b = await encryptFile(provider, plaintext, { fileKey, chunkSize: SMALL });
      const { header, chunks } = split(a.ciphertext, SMALL);
      const other = split(b.ciphertext, SMALL);
      const attack = fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
        fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
        fc.record({ kind: fc.constant('duplicate' as const), i: fc.nat() }),
        fc.record({
          kind: fc.constant('append' as const),
          extra: fc.uint8Array({ minLength: 1, maxLength: 90 }),
        }),
        fc.record({ kind: fc.constant('foreign' as const), i: fc.nat() }),
        fc.record({ kind: fc.constant('foreign-header' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(attack, async (x) => {
          let parts = [header, ...chunks];
          let bytes: Uint8Array;
          switch (x.kind) {
            case 'flip':
              bytes = a.ciphertext.slice();
              bytes[x.at % bytes.length]! ^= 1 << x.bit;
              break;
            case 'truncate':
              bytes = a.ciphertext.slice(0, x.at % a.ciphertext.length);
              break;
            case 'drop':
              parts.splice(1 + (x.i % chunks.length), 1);
              bytes = concatBytes(...parts);
              break;
            case 'swap': {
              const i = 1 + (x.i % chunks.length);
              const j = 1 + ((i + (x.j % (chunks.length - 1))) % chunks.length);
              [parts[i], parts[j]] = [parts[j]!, parts[i]!];
              bytes = concatBytes(...parts);
              break;
            }
            case 'duplicate': {
              const i = 1 + (x.i % chunks.length);
              parts.splice(i, 0, parts[i]!);
              bytes = concatBytes(...parts);
              break;
            }
            case 'append':
              bytes = concatBytes(a.ciphertext, x.extra);
              break;
            case 'foreign': {
              const i = x.i % chunks.length;
              parts = [header, ...chunks];
              parts[1 + i] = other.chunks[i]!;
              bytes = concatBytes(...parts);
              break;
            }
            case 'foreign-header':
              bytes = concatBytes(other.header, ...chunks);
              break;
          }
          expect(await codeOf(decryptFile(provider, fileKey, bytes)), x.kind).toBe('ERR_DECRYPTION_FAILED');
        }),
        { numRuns: 60 },
      );
    });

    it('emits only verified chunks: a bad chunk k stops the stream after exactly k chunks', async () => {
      const plaintext = provider.randomBytes(4 * SMALL);
      const enc = await encryptFile(provider, plaintext, { chunkSize: SMALL });
      for (let k = 0; k < 4; k++) {
        const bad = enc.ciphertext.slice();
        bad[FILE_STREAM_HEADER_LENGTH + k * (SMALL + FILE_STREAM_TAG_LENGTH) + 5]! ^= 0x40;
        const { bytes, error } = await readAll(
          decryptFileStream(provider, { fileKey: enc.fileKey, ciphertextStream: piecewise(bad, [7, 200]) }),
        );
        expect((error as { code?: string }).code, `chunk ${k}`).toBe('ERR_DECRYPTION_FAILED');
        expect(equalBytes(bytes, plaintext.slice(0, k * SMALL)), `chunk ${k}`).toBe(true);
      }
    });

    it('rejects a wrong key, a bad header and a header alone', async () => {
      const enc = await encryptFile(provider, new Uint8Array(0));
      expect(enc.ciphertext.length).toBe(FILE_STREAM_HEADER_LENGTH + FILE_STREAM_TAG_LENGTH);
      const wrongKey = provider.randomBytes(32);
      expect(await codeOf(decryptFile(provider, wrongKey, enc.ciphertext))).toBe('ERR_DECRYPTION_FAILED');
      const cases: [string, (h: Uint8Array) => void][] = [
        ['magic', (h) => (h[0] = 0x00)],
        ['version', (h) => (h[4] = 2)],
        ['chunk size below minimum', (h) => (h[5] = 5)],
        ['chunk size above maximum', (h) => (h[5] = 21)],
        ['chunk size changed', (h) => (h[5] = 17)],
      ];
      for (const [name, change] of cases) {
        const bad = enc.ciphertext.slice();
        change(bad);
        expect(await codeOf(decryptFile(provider, enc.fileKey, bad)), name).toBe('ERR_DECRYPTION_FAILED');
      }
      for (const n of [0, 1, FILE_STREAM_HEADER_LENGTH, FILE_STREAM_HEADER_LENGTH + 15]) {
        const cut = enc.ciphertext.slice(0, n);
        expect(await codeOf(decryptFile(provider, enc.fileKey, cut)), `length ${n}`).toBe(
          'ERR_DECRYPTION_FAILED',
        );
      }
    });
  },
);

describe('file stream API', () => {
  const provider = PROVIDERS[0]!;

  it('validates its arguments, naming the field', () => {
    const stream = piecewise(new Uint8Array(1));
    const table: [string, () => unknown][] = [
      [
        'fileKey',
        () => encryptFileStream(provider, { fileKey: new Uint8Array(31), plaintextStream: stream }),
      ],
      ['chunkSize', () => encryptFileStream(provider, { plaintextStream: stream, chunkSize: 1000 })],
      ['chunkSize', () => encryptFileStream(provider, { plaintextStream: stream, chunkSize: 32 })],
      ['chunkSize', () => encryptFileStream(provider, { plaintextStream: stream, chunkSize: 2 ** 21 })],
      [
        'plaintextStream',
        () =>
          encryptFileStream(provider, {
            plaintextStream: new Uint8Array(1) as unknown as ReadableStream<Uint8Array>,
          }),
      ],
      [
        'onProgress',
        () =>
          encryptFileStream(provider, { plaintextStream: stream, onProgress: 1 as unknown as () => void }),
      ],
      [
        'fileKey',
        () => decryptFileStream(provider, { fileKey: new Uint8Array(33), ciphertextStream: stream }),
      ],
      [
        'ciphertextStream',
        () =>
          decryptFileStream(provider, {
            fileKey: new Uint8Array(32),
            ciphertextStream: {} as ReadableStream<Uint8Array>,
          }),
      ],
      ['size', () => fileCiphertextLength(-1)],
    ];
    for (const [field, call] of table) {
      expect(call, field).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION', field }));
    }
  });

  it('errors the stream and rejects done on a piece that is not a Uint8Array', async () => {
    const bad = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue('text' as unknown as Uint8Array);
        c.close();
      },
    });
    const enc = encryptFileStream(provider, { plaintextStream: bad });
    const { error } = await readAll(enc.ciphertext);
    expect((error as { code?: string }).code).toBe('ERR_VALIDATION');
    expect(await codeOf(enc.done)).toBe('ERR_VALIDATION');
  });

  it('passes a failing source through and rejects done with it', async () => {
    const boom = new Error('disk gone');
    const failing = new ReadableStream<Uint8Array>({
      pull(c) {
        c.error(boom);
      },
    });
    const enc = encryptFileStream(provider, { plaintextStream: failing });
    expect((await readAll(enc.ciphertext)).error).toBe(boom);
    await expect(enc.done).rejects.toBe(boom);
  });

  it('rejects done with ERR_USAGE when the reader cancels', async () => {
    const enc = encryptFileStream(provider, {
      plaintextStream: piecewise(new Uint8Array(1000)),
      chunkSize: SMALL,
    });
    const reader = enc.ciphertext.getReader();
    await reader.read();
    await reader.cancel();
    expect(await codeOf(enc.done)).toBe('ERR_USAGE');
  });

  it('reports progress after every chunk', async () => {
    const seen: number[] = [];
    const enc = encryptFileStream(provider, {
      plaintextStream: piecewise(new Uint8Array(150), [1, 99]),
      chunkSize: SMALL,
      onProgress: (n) => seen.push(n),
    });
    const { bytes } = await readAll(enc.ciphertext);
    expect(seen).toEqual([64, 128, 150]);
    const back: number[] = [];
    const { fileKey } = enc;
    await readAll(
      decryptFileStream(provider, {
        fileKey,
        ciphertextStream: piecewise(bytes),
        onProgress: (n) => back.push(n),
      }),
    );
    expect(back).toEqual([64, 128, 150]);
  });

  it('streams 64 MiB through encryption and decryption in bounded memory', async () => {
    const node = PROVIDERS.find((p) => p.name === 'node') ?? provider;
    const total = 64 * 2 ** 20;
    const piece = 100_000;
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (produced >= total) {
          c.close();
          return;
        }
        const n = Math.min(piece, total - produced);
        const out = new Uint8Array(n);
        out.fill(produced & 0xff);
        produced += n;
        c.enqueue(out);
      },
    });
    const enc = encryptFileStream(node, { plaintextStream: source });
    const dec = decryptFileStream(node, { fileKey: enc.fileKey, ciphertextStream: enc.ciphertext });
    // A full collection (and a pause for the array-buffer sweeper) before each sample, so the
    // numbers count live memory, not garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    let peakArrayBuffers = before.arrayBuffers;
    let peakHeap = before.heapUsed;
    let received = 0;
    const reader = dec.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      received += r.value.length;
      if ((received & 0x3fffff) < r.value.length) {
        // Freed array buffers are released by a background sweeper, late on a busy machine: take
        // the smaller of two samples after collections, so the figure is live memory.
        const sample = async (pauseMs: number) => {
          gc();
          await new Promise((resolve) => setTimeout(resolve, pauseMs));
          return process.memoryUsage();
        };
        const m1 = await sample(5);
        const m2 = await sample(25);
        peakArrayBuffers = Math.max(peakArrayBuffers, Math.min(m1.arrayBuffers, m2.arrayBuffers));
        peakHeap = Math.max(peakHeap, Math.min(m1.heapUsed, m2.heapUsed));
      }
    }
    const done = await enc.done;
    expect(received).toBe(total);
    expect(done.ciphertextSize).toBe(fileCiphertextLength(total, FILE_STREAM_DEFAULT_CHUNK_SIZE));
    // Holding the file would need 64 MiB of plaintext and as much ciphertext; a few chunks in
    // flight (64 KiB each, plus 100 kB source pieces) measure under 1 MiB; 8 MiB leaves room.
    expect(peakArrayBuffers - before.arrayBuffers).toBeLessThan(8 * 2 ** 20);
    expect(peakHeap - before.heapUsed).toBeLessThan(8 * 2 ** 20);
  }, 30_000);
});
