/**
 * Encrypted files through the streaming API (`encryptFileStream`, `decryptFileStream`): a 16 MiB
 * file fed as a `ReadableStream` of 64 KiB pieces, the output stream read to the end. Baseline:
 * raw `node:crypto` AES-256-GCM over the whole 16 MiB in one buffer (one key, one nonce, one
 * tag), the least work any authenticated encryption of the file could do; the streaming format
 * adds a header, a key derivation, one nonce and tag per 64 KiB chunk, the stream machinery and a
 * SHA-256 of the ciphertext (encrypt).
 *
 * `files/encrypt/1GiB/node` (full runs only, not under `--quick`) encrypts 1 GiB generated on
 * the fly, never held in memory, and prints the peak `rss` and `arrayBuffers` sampled during each
 * iteration, since the report has no field for them.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  decryptFileStream,
  encryptFile,
  encryptFileStream,
  equalBytes,
  FILE_KEY_LENGTH,
} from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { nextNonce, once, randomInput } from '../inputs.js';
import { PROVIDERS_WITHOUT_WEBCRYPTO } from '../providers.js';

const AREA = 'files';
const SIZE = { label: '16MiB', bytes: 16 * 1024 * 1024 } as const;
const HUGE = { label: '1GiB', bytes: 1024 * 1024 * 1024 } as const;
/** The piece size the plaintext and ciphertext streams are fed in. */
const PIECE_BYTES = 64 * 1024;
/** The native provider should keep at least this share of one-shot AES-256-GCM's throughput. */
const MIN_RATIO = 0.8;
/** Memory is sampled during the 1 GiB case every this many ciphertext pieces read (about 4 MiB). */
const MEMORY_SAMPLE_EVERY = 64;

const plaintext = once(() => randomInput(SIZE.bytes));
const fileKey = once(() => randomInput(FILE_KEY_LENGTH));
/** The 16 MiB file encrypted once by the node provider; every decrypt case opens it. */
const encrypted = once(async () => {
  const node = PROVIDERS_WITHOUT_WEBCRYPTO.find((p) => p.id === 'node');
  if (node === undefined) throw new Error('no node provider');
  return (await encryptFile(await node.load(), plaintext(), { fileKey: fileKey() })).ciphertext;
});
const rawKey = once(() => randomInput(32));

/** `bytes` as a stream of `PIECE_BYTES` views (no copies). */
function piecesOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(at, at + PIECE_BYTES));
      at += PIECE_BYTES;
    },
  });
}

/**
 * Reads a stream to the end and returns the number of bytes it gave; calls `every` after each
 * `MEMORY_SAMPLE_EVERY` pieces when given.
 */
async function drain(stream: ReadableStream<Uint8Array>, every?: () => void): Promise<number> {
  let total = 0;
  let pieces = 0;
  const reader = stream.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) return total;
    total += r.value.length;
    if (every !== undefined && ++pieces % MEMORY_SAMPLE_EVERY === 0) every();
  }
}

/** Reads a stream to the end and returns its bytes in one buffer. */
async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

/** One-shot AES-256-GCM: `ciphertext ‖ tag` in one buffer. */
function rawSeal(nonce: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', rawKey(), nonce);
  return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
}

function rawOpen(nonce: Uint8Array, sealed: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-gcm', rawKey(), nonce);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

function rawCases(): BenchCase[] {
  const common = { area: AREA, size: SIZE.label, bytes: SIZE.bytes, tier: 'huge', impl: 'raw-node' } as const;
  return [
    defineCase({
      ...common,
      op: 'encrypt',
      async prepare() {
        const data = plaintext();
        const nonce = randomInput(12);
        const fn = () => rawSeal(nextNonce(nonce), data);
        const sealed = fn();
        check(equalBytes(rawOpen(nonce, sealed), data), 'raw-node round trip');
        return { kind: 'sync', fn };
      },
    }),
    defineCase({
      ...common,
      op: 'decrypt',
      async prepare() {
        const data = plaintext();
        const nonce = randomInput(12);
        const sealed = rawSeal(nonce, data);
        const fn = () => rawOpen(nonce, sealed);
        check(equalBytes(fn(), data), 'raw-node decrypts');
        return { kind: 'sync', fn };
      },
    }),
  ];
}

function providerCases(): BenchCase[] {
  return PROVIDERS_WITHOUT_WEBCRYPTO.flatMap((p) => {
    const common = { area: AREA, size: SIZE.label, bytes: SIZE.bytes, tier: 'huge', impl: p.id } as const;
    const baseline = (op: string) => caseName({ area: AREA, op, size: SIZE.label, impl: 'raw-node' });
    const target = (op: string) =>
      p.id === 'node' ? { target: { baseline: baseline(op), minRatio: MIN_RATIO } } : {};
    return [
      defineCase({
        ...common,
        op: 'encrypt',
        baseline: baseline('encrypt'),
        ...target('encrypt'),
        async prepare() {
          const provider = await p.load();
          const data = plaintext();
          const key = fileKey();
          const run = async () => {
            const enc = encryptFileStream(provider, { fileKey: key, plaintextStream: piecesOf(data) });
            const written = await drain(enc.ciphertext);
            const done = await enc.done;
            return { written, done };
          };
          const enc = encryptFileStream(provider, { fileKey: key, plaintextStream: piecesOf(data) });
          const ciphertext = await collect(enc.ciphertext);
          const opened = await collect(
            decryptFileStream(provider, { fileKey: key, ciphertextStream: piecesOf(ciphertext) }),
          );
          check(equalBytes(opened, data), `${p.id} round trip`);
          const { written, done } = await run();
          check(written === done.ciphertextSize && done.size === data.length, `${p.id} sizes`);
          return { kind: 'async', fn: run };
        },
      }),
      defineCase({
        ...common,
        op: 'decrypt',
        baseline: baseline('decrypt'),
        ...target('decrypt'),
        async prepare() {
          const provider = await p.load();
          const data = plaintext();
          const key = fileKey();
          const ciphertext = await encrypted();
          const open = () =>
            decryptFileStream(provider, { fileKey: key, ciphertextStream: piecesOf(ciphertext) });
          check(equalBytes(await collect(open()), data), `${p.id} decrypts`);
          return { kind: 'async', fn: () => drain(open()) };
        },
      }),
    ];
  });
}

/** `HUGE.bytes` of plaintext made on the fly: the same random 64 KiB piece, over and over. */
function generatedStream(piece: Uint8Array, total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      controller.enqueue(piece);
      sent += piece.length;
    },
  });
}

/** The 1 GiB streamed case; it prints the peak memory of each iteration on stderr. */
function hugeCase(): BenchCase {
  const name = caseName({ area: AREA, op: 'encrypt', size: HUGE.label, impl: 'node' });
  return defineCase({
    area: AREA,
    op: 'encrypt',
    size: HUGE.label,
    impl: 'node',
    bytes: HUGE.bytes,
    tier: 'huge',
    async prepare() {
      const node = PROVIDERS_WITHOUT_WEBCRYPTO.find((p) => p.id === 'node');
      if (node === undefined) throw new Error('no node provider');
      const provider = await node.load();
      const piece = randomInput(PIECE_BYTES);
      const key = fileKey();
      const run = async () => {
        const before = process.memoryUsage();
        let rss = before.rss;
        let arrayBuffers = before.arrayBuffers;
        // Sampled from the read loop: the stream runs on microtasks, so a timer would not fire.
        const sample = () => {
          const m = process.memoryUsage();
          rss = Math.max(rss, m.rss);
          arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers);
        };
        const enc = encryptFileStream(provider, {
          fileKey: key,
          plaintextStream: generatedStream(piece, HUGE.bytes),
        });
        const written = await drain(enc.ciphertext, sample);
        const done = await enc.done;
        sample();
        const mib = (n: number) => (n / 2 ** 20).toFixed(1);
        process.stderr.write(
          `${name}: peak rss ${mib(rss)} MiB (${mib(before.rss)} before), peak arrayBuffers ` +
            `${mib(arrayBuffers)} MiB (${mib(before.arrayBuffers)} before)\n`,
        );
        return { written, done };
      };
      // The self-check covers the format on 16 MiB; here only the sizes of one full run.
      const { written, done } = await run();
      check(done.size === HUGE.bytes && written === done.ciphertextSize, '1 GiB sizes');
      return { kind: 'async', fn: run };
    },
  });
}

/** Whether this process runs with `--quick` (the 1 GiB case is left out of quick runs). */
function quickRun(): boolean {
  return process.argv.slice(2).includes('--quick');
}

/** `files/{encrypt,decrypt}/16MiB/*` and, in full runs, `files/encrypt/1GiB/node`. */
export function filesCases(): BenchCase[] {
  return [...rawCases(), ...providerCases(), ...(quickRun() ? [] : [hugeCase()])];
}
