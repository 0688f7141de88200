/**
 * Encrypted files (R04): a chunked, streaming AEAD in the STREAM construction of Hoang,
 * Reyhanitabar, Rogaway and Vizár, over AES-256-GCM. Layout and rules: `spec/files.md`.
 *
 * A random 32-byte file key and a random header salt give a per-file subkey (HKDF-SHA256, info
 * labelled and binding the whole header). The plaintext is cut into chunks of 64 KiB; chunk `i`
 * is sealed under nonce `prefix || uint32be(i) || lastFlag` with the header as associated data.
 * Truncation, reordering, duplication, trailing data and chunks moved between files all fail
 * authentication. The reader emits a chunk's plaintext only after its tag verified, and holds at
 * most about two chunks in memory.
 *
 * @module
 */
import { checkBytes, checkInt, concatBytes, wipe } from '../bytes.js';
import { DecryptionFailed, LimitError, UsageError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { ByteQueue } from './_queue.js';
import {
  deriveFileSubkey,
  encodeFileStreamHeader,
  FILE_KEY_LENGTH,
  FILE_STREAM_DEFAULT_CHUNK_SIZE,
  FILE_STREAM_HEADER_LENGTH,
  FILE_STREAM_MAX_CHUNK_LOG2,
  FILE_STREAM_MAX_CHUNKS,
  FILE_STREAM_MIN_CHUNK_LOG2,
  FILE_STREAM_NONCE_PREFIX_LENGTH,
  FILE_STREAM_SALT_LENGTH,
  FILE_STREAM_TAG_LENGTH,
  fileChunkNonce,
  parseFileStreamHeader,
} from './format.js';

/**
 * What an encryption reports once its ciphertext stream has been read to the end.
 *
 * @example
 * ```ts
 * const { ciphertext, done } = encryptFileStream(provider, { fileKey, plaintextStream: file.stream() });
 * await new Response(ciphertext).arrayBuffer(); // read it to the end (an upload would)
 * const result: FileEncryptionResult = await done;
 * ```
 */
export interface FileEncryptionResult {
  /** Plaintext length in bytes. */
  readonly size: number;
  /** Ciphertext length in bytes (header and tags included). */
  readonly ciphertextSize: number;
  /** SHA-256 of the whole ciphertext, header included, for content addressing. */
  readonly digest: Uint8Array;
}

/**
 * Options of {@link encryptFileStream}.
 *
 * @example
 * ```ts
 * const options: EncryptFileStreamOptions = {
 *   plaintextStream: file.stream(),
 *   onProgress: (n) => console.log(`${Math.round((100 * n) / file.size)} %`),
 * };
 * const { fileKey, ciphertext, done } = encryptFileStream(provider, options);
 * ```
 */
export interface EncryptFileStreamOptions {
  /** The 32-byte file key; a fresh random one when absent. */
  readonly fileKey?: Uint8Array;
  /** The plaintext, in pieces of any size. Pieces must not be modified after they are read. */
  readonly plaintextStream: ReadableStream<Uint8Array>;
  /** Plaintext chunk size, a power of two from 64 bytes to 1 MiB; default 64 KiB. */
  readonly chunkSize?: number;
  /** Called after each chunk with the number of plaintext bytes encrypted so far. */
  readonly onProgress?: (bytesProcessed: number) => void;
}

/**
 * The result of {@link encryptFileStream}.
 *
 * @example
 * ```ts
 * const encryption: FileEncryption = encryptFileStream(provider, { plaintextStream: file.stream() });
 * const upload = await fetch('https://files.example/upload', { method: 'POST', body: encryption.ciphertext, duplex: 'half' } as RequestInit);
 * const { digest } = await encryption.done;
 * ```
 */
export interface FileEncryption {
  /** The file key (the caller's, or the fresh one). */
  readonly fileKey: Uint8Array;
  /** The encrypted file; nothing is read from the plaintext until this is read. */
  readonly ciphertext: ReadableStream<Uint8Array>;
  /** Settles when `ciphertext` ends: sizes and digest, or the error that stopped it. */
  readonly done: Promise<FileEncryptionResult>;
}

/**
 * Options of {@link decryptFileStream}.
 *
 * @example
 * ```ts
 * const options: DecryptFileStreamOptions = { fileKey, ciphertextStream: file.stream() }; // the downloaded ciphertext
 * const plaintext = await new Response(decryptFileStream(provider, options)).arrayBuffer();
 * ```
 */
export interface DecryptFileStreamOptions {
  /** The 32-byte file key. */
  readonly fileKey: Uint8Array;
  /** The encrypted file, in pieces of any size. */
  readonly ciphertextStream: ReadableStream<Uint8Array>;
  /** Called after each verified chunk with the number of plaintext bytes emitted so far. */
  readonly onProgress?: (bytesProcessed: number) => void;
}

/**
 * The result of {@link encryptFile}.
 *
 * @example
 * ```ts
 * const encrypted: EncryptedFile = await encryptFile(provider, bytes);
 * console.log(encrypted.ciphertextSize === encrypted.ciphertext.length); // true
 * ```
 */
export interface EncryptedFile extends FileEncryptionResult {
  /** The 32-byte file key (the caller's, or a fresh random one); send it only inside a session. */
  readonly fileKey: Uint8Array;
  /** The whole encrypted file: header, then the sealed chunks. */
  readonly ciphertext: Uint8Array;
}

function checkStream(value: unknown, field: string): ReadableStream<Uint8Array> {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as ReadableStream).getReader !== 'function'
  ) {
    throw new ValidationError(field, 'a ReadableStream of Uint8Array');
  }
  return value as ReadableStream<Uint8Array>;
}

function checkProgress(value: unknown, field: string): ((n: number) => void) | undefined {
  if (value !== undefined && typeof value !== 'function') throw new ValidationError(field, 'a function');
  return value as ((n: number) => void) | undefined;
}

function chunkLog2Of(chunkSize: unknown): number {
  const size = checkInt(
    chunkSize,
    'chunkSize',
    2 ** FILE_STREAM_MIN_CHUNK_LOG2,
    2 ** FILE_STREAM_MAX_CHUNK_LOG2,
  );
  const log2 = Math.log2(size);
  if (!Number.isInteger(log2)) throw new ValidationError('chunkSize', 'a power of two');
  return log2;
}

/** Reads from `reader` into `queue` until it holds more than `want` bytes or the source ends. */
async function fill(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  queue: ByteQueue,
  want: number,
  field: string,
): Promise<boolean> {
  while (queue.length <= want) {
    const r = await reader.read();
    if (r.done) return true;
    if (!(r.value instanceof Uint8Array)) throw new ValidationError(field, 'chunks of type Uint8Array');
    queue.push(r.value);
  }
  return false;
}

/**
 * Encrypts a stream of plaintext into a stream of ciphertext (header, then sealed chunks).
 * Work happens as `ciphertext` is read; memory stays within about two chunks.
 *
 * @example
 * ```ts
 * const { fileKey, ciphertext, done } = encryptFileStream(provider, { plaintextStream: file.stream() });
 * await fetch('https://files.example/upload', { method: 'POST', body: ciphertext, duplex: 'half' } as RequestInit);
 * const { size, digest } = await done;
 * ```
 */
export function encryptFileStream(
  provider: CryptoProvider,
  options: EncryptFileStreamOptions,
): FileEncryption {
  const fileKey =
    options.fileKey === undefined
      ? provider.randomBytes(FILE_KEY_LENGTH)
      : checkBytes(options.fileKey, 'fileKey', FILE_KEY_LENGTH);
  const source = checkStream(options.plaintextStream, 'plaintextStream');
  const chunkLog2 = chunkLog2Of(options.chunkSize ?? FILE_STREAM_DEFAULT_CHUNK_SIZE);
  const onProgress = checkProgress(options.onProgress, 'onProgress');
  const chunkSize = 2 ** chunkLog2;
  const header = encodeFileStreamHeader({
    chunkLog2,
    salt: provider.randomBytes(FILE_STREAM_SALT_LENGTH),
    noncePrefix: provider.randomBytes(FILE_STREAM_NONCE_PREFIX_LENGTH),
  });
  const noncePrefix = header.subarray(FILE_STREAM_HEADER_LENGTH - FILE_STREAM_NONCE_PREFIX_LENGTH);

  let resolveDone!: (r: FileEncryptionResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<FileEncryptionResult>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A caller who only reads the stream still sees its error there; do not report it twice.
  done.catch(() => undefined);

  const hash = provider.createSha256();
  const queue = new ByteQueue();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let subkey: Uint8Array | undefined;
  let counter = 0;
  let size = 0;
  let ciphertextSize = 0;
  let finished = false;

  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    wipe(subkey);
    if (error === undefined) {
      resolveDone({ size, ciphertextSize, digest: hash.digest() });
    } else {
      rejectDone(error);
    }
  };

  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array): void => {
    hash.update(bytes);
    ciphertextSize += bytes.length;
    controller.enqueue(bytes);
  };

  const ciphertext = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (reader === undefined) {
          reader = source.getReader();
          subkey = await deriveFileSubkey(provider, fileKey, header);
          emit(controller, header);
          return;
        }
        const ended = await fill(reader, queue, chunkSize, 'plaintextStream');
        if (counter >= FILE_STREAM_MAX_CHUNKS) throw new LimitError('a file may have at most 2^32 chunks');
        const last = ended && queue.length <= chunkSize;
        const plaintext = queue.take(Math.min(chunkSize, queue.length));
        const sealed = await provider.aes256gcm.encrypt(
          subkey!,
          fileChunkNonce(noncePrefix, counter, last),
          plaintext,
          header,
        );
        counter++;
        size += plaintext.length;
        wipe(plaintext);
        emit(controller, sealed);
        onProgress?.(size);
        if (last) {
          finish();
          controller.close();
        }
      } catch (e) {
        finish(e);
        reader?.cancel(e).catch(() => undefined);
        throw e;
      }
    },
    cancel(reason) {
      finish(new UsageError('the ciphertext stream was cancelled'));
      return (reader ?? source).cancel(reason);
    },
  });
  return { fileKey, ciphertext, done };
}

/**
 * Decrypts an encrypted file stream. The plaintext of a chunk is emitted only after its tag
 * verified; any alteration, truncation, reordering, trailing data or wrong key errors the stream
 * with `DecryptionFailed` (`ERR_DECRYPTION_FAILED`). Plaintext already emitted before such an
 * error is authentic but incomplete: treat the file as failed as a whole.
 *
 * @example
 * ```ts
 * const response = await fetch('https://files.example/f/42');
 * if (response.body === null) throw new Error('empty response');
 * const plaintext = decryptFileStream(provider, { fileKey, ciphertextStream: response.body });
 * const saved = await new Response(plaintext).blob();
 * ```
 */
export function decryptFileStream(
  provider: CryptoProvider,
  options: DecryptFileStreamOptions,
): ReadableStream<Uint8Array> {
  const fileKey = checkBytes(options.fileKey, 'fileKey', FILE_KEY_LENGTH);
  const source = checkStream(options.ciphertextStream, 'ciphertextStream');
  const onProgress = checkProgress(options.onProgress, 'onProgress');

  const queue = new ByteQueue();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let header: Uint8Array | undefined;
  let noncePrefix: Uint8Array | undefined;
  let subkey: Uint8Array | undefined;
  let segment = 0;
  let counter = 0;
  let size = 0;

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (reader === undefined) {
          reader = source.getReader();
          await fill(reader, queue, FILE_STREAM_HEADER_LENGTH - 1, 'ciphertextStream');
          if (queue.length < FILE_STREAM_HEADER_LENGTH) throw new DecryptionFailed();
          header = queue.take(FILE_STREAM_HEADER_LENGTH);
          const parsed = parseFileStreamHeader(header);
          if (parsed === undefined) throw new DecryptionFailed();
          noncePrefix = parsed.noncePrefix;
          segment = 2 ** parsed.chunkLog2 + FILE_STREAM_TAG_LENGTH;
          subkey = await deriveFileSubkey(provider, fileKey, header);
        }
        const ended = await fill(reader, queue, segment, 'ciphertextStream');
        const last = ended && queue.length <= segment;
        if ((last && queue.length < FILE_STREAM_TAG_LENGTH) || counter >= FILE_STREAM_MAX_CHUNKS) {
          throw new DecryptionFailed();
        }
        const sealed = queue.take(last ? queue.length : segment);
        const plaintext = await provider.aes256gcm.decrypt(
          subkey!,
          fileChunkNonce(noncePrefix!, counter, last),
          sealed,
          header,
        );
        counter++;
        size += plaintext.length;
        if (plaintext.length > 0) controller.enqueue(plaintext);
        onProgress?.(size);
        if (last) {
          wipe(subkey);
          controller.close();
        }
      } catch (e) {
        wipe(subkey);
        reader?.cancel(e).catch(() => undefined);
        throw e;
      }
    },
    cancel(reason) {
      wipe(subkey);
      return (reader ?? source).cancel(reason);
    },
  });
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
  }
  return concatBytes(...parts);
}

/**
 * Encrypts a whole file held in memory, through the same code as {@link encryptFileStream}.
 *
 * @example
 * ```ts
 * const { fileKey, ciphertext, digest } = await encryptFile(provider, bytes);
 * ```
 */
export async function encryptFile(
  provider: CryptoProvider,
  plaintext: Uint8Array,
  options: { readonly fileKey?: Uint8Array; readonly chunkSize?: number } = {},
): Promise<EncryptedFile> {
  checkBytes(plaintext, 'plaintext');
  const enc = encryptFileStream(provider, { ...options, plaintextStream: streamOf(plaintext) });
  const ciphertext = await collect(enc.ciphertext);
  return { fileKey: enc.fileKey, ciphertext, ...(await enc.done) };
}

/**
 * Decrypts a whole encrypted file held in memory, through the same code as
 * {@link decryptFileStream}. Throws `DecryptionFailed` on any failure.
 *
 * @example
 * ```ts
 * const bytes = await decryptFile(provider, fileKey, ciphertext);
 * ```
 */
export async function decryptFile(
  provider: CryptoProvider,
  fileKey: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(ciphertext, 'ciphertext');
  return collect(decryptFileStream(provider, { fileKey, ciphertextStream: streamOf(ciphertext) }));
}
