/**
 * Test vectors for encrypted files (`test-vectors/file-stream.json`, format in
 * `test-vectors/README.md`, construction in `spec/files.md`).
 *
 * Each valid case draws from the noble provider seeded with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/file-stream/" + name))`, in the
 * order file key (32), salt (32), nonce prefix (7). Every intermediate is recomputed from the
 * primitives and compared with what `encryptFile` produced, so the file cannot disagree with the
 * code. Invalid cases alter a valid ciphertext and must fail with `ERR_DECRYPTION_FAILED`.
 */
import {
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  decryptFile,
  deriveFileSubkey,
  encryptFile,
  equalBytes,
  FILE_STREAM_HEADER_LENGTH,
  FILE_STREAM_INFO_LABEL,
  FILE_STREAM_MAGIC,
  FILE_STREAM_TAG_LENGTH,
  FILE_STREAM_VERSION,
  fileChunkNonce,
  toHex,
  utf8,
} from '@cloister/crypto';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const FILE_STREAM_SEED_PREFIX = 'cloister/test-vectors/file-stream/';

const plain = createNobleProvider();

function seeded(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(FILE_STREAM_SEED_PREFIX + name)),
  );
}

/** Deterministic readable plaintext of `length` bytes. */
function text(length: number): Uint8Array {
  const source = 'Cloister file-stream test plaintext. Pack my box with five dozen liquor jugs. ';
  let s = '';
  while (s.length < length) s += source;
  return utf8(s.slice(0, length));
}

function fail(what: string): never {
  throw new Error(`file-stream vector self-check failed: ${what}`);
}

interface ChunkJson {
  index: number;
  last: boolean;
  nonce: string;
  plaintext: string;
  sealed: string;
}

async function validCase(name: string, size: number, chunkSize: number) {
  const provider = seeded(name);
  const plaintext = text(size);
  const enc = await encryptFile(provider, plaintext, { chunkSize });
  const ct = enc.ciphertext;
  const header = ct.slice(0, FILE_STREAM_HEADER_LENGTH);
  const salt = header.slice(6, 38);
  const noncePrefix = header.slice(38);
  const replay = seeded(name);
  const drawn = replay.randomBytes(32 + 32 + 7);
  if (!equalBytes(drawn, concatBytes(enc.fileKey, salt, noncePrefix))) fail(`${name}: random draw order`);
  const hkdfInfo = concatBytes(utf8(FILE_STREAM_INFO_LABEL), header);
  const subkey = await plain.hkdfSha256(enc.fileKey, salt, hkdfInfo, 32);
  if (!equalBytes(subkey, await deriveFileSubkey(plain, enc.fileKey, header))) fail(`${name}: subkey`);
  const count = Math.max(1, Math.ceil(size / chunkSize));
  const chunks: ChunkJson[] = [];
  const sealedParts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const nonce = fileChunkNonce(noncePrefix, i, last);
    const part = plaintext.slice(i * chunkSize, Math.min(size, (i + 1) * chunkSize));
    const sealed = await plain.aes256gcm.encrypt(subkey, nonce, part, header);
    sealedParts.push(sealed);
    chunks.push({ index: i, last, nonce: toHex(nonce), plaintext: toHex(part), sealed: toHex(sealed) });
  }
  if (!equalBytes(ct, concatBytes(header, ...sealedParts))) fail(`${name}: ciphertext`);
  const digest = await plain.sha256(ct);
  if (!equalBytes(digest, enc.digest)) fail(`${name}: digest`);
  if (!equalBytes(await decryptFile(plain, enc.fileKey, ct), plaintext)) fail(`${name}: round trip`);
  return {
    json: {
      name,
      chunkSize,
      plaintext: toHex(plaintext),
      fileKey: toHex(enc.fileKey),
      salt: toHex(salt),
      noncePrefix: toHex(noncePrefix),
      header: toHex(header),
      hkdfInfo: toHex(hkdfInfo),
      subkey: toHex(subkey),
      chunks,
      ciphertext: toHex(ct),
      size: enc.size,
      ciphertextSize: enc.ciphertextSize,
      digest: toHex(digest),
    },
    fileKey: enc.fileKey,
    header,
    sealedParts,
  };
}

async function invalid(name: string, fileKey: Uint8Array, ciphertext: Uint8Array, comment: string) {
  try {
    await decryptFile(plain, fileKey, ciphertext);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_DECRYPTION_FAILED') {
      return {
        name,
        comment,
        fileKey: toHex(fileKey),
        ciphertext: toHex(ciphertext),
        error: 'ERR_DECRYPTION_FAILED',
      };
    }
    throw e;
  }
  return fail(`${name}: accepted`);
}

async function generate(): Promise<unknown> {
  const valid = [
    await validCase('empty', 0, 64),
    await validCase('one-partial-chunk', 10, 64),
    await validCase('one-full-chunk', 64, 64),
    await validCase('three-chunks', 150, 64),
    await validCase('default-chunk-size', 33, 65536),
  ];
  const three = valid[3]!;
  const other = valid[2]!;
  const [c0, c1, c2] = three.sealedParts as [Uint8Array, Uint8Array, Uint8Array];
  const flipped = concatBytes(three.header, c0, c1, c2);
  flipped[FILE_STREAM_HEADER_LENGTH + 3]! ^= 0x01;
  const headerFlip = concatBytes(three.header, c0, c1, c2);
  headerFlip[10]! ^= 0x80;
  const invalidCases = [
    await invalid(
      'bit-flip-chunk-0',
      three.fileKey,
      flipped,
      'three-chunks with one ciphertext bit of chunk 0 changed',
    ),
    await invalid(
      'bit-flip-header-salt',
      three.fileKey,
      headerFlip,
      'three-chunks with one salt bit changed',
    ),
    await invalid(
      'last-chunk-dropped',
      three.fileKey,
      concatBytes(three.header, c0, c1),
      'truncation at a chunk boundary',
    ),
    await invalid('header-only', three.fileKey, three.header, 'every chunk dropped'),
    await invalid(
      'chunks-swapped',
      three.fileKey,
      concatBytes(three.header, c1, c0, c2),
      'chunks 0 and 1 exchanged',
    ),
    await invalid(
      'chunk-duplicated',
      three.fileKey,
      concatBytes(three.header, c0, c0, c1, c2),
      'chunk 0 repeated',
    ),
    await invalid(
      'trailing-byte',
      three.fileKey,
      concatBytes(three.header, c0, c1, c2, Uint8Array.of(0)),
      'one byte after the last chunk',
    ),
    await invalid(
      'tag-truncated',
      three.fileKey,
      concatBytes(three.header, c0, c1, c2.subarray(0, c2.length - 1)),
      'last byte of the last tag removed',
    ),
    await invalid(
      'chunk-from-other-file',
      other.fileKey,
      concatBytes(other.header, c0),
      'one-full-chunk header with chunk 0 of three-chunks (different key and salt)',
    ),
    await invalid(
      'wrong-key',
      other.fileKey,
      concatBytes(three.header, c0, c1, c2),
      'three-chunks under the key of one-full-chunk',
    ),
  ];
  return {
    description:
      'Cloister encrypted files: STREAM over AES-256-GCM with an HKDF-SHA256 per-file subkey. See spec/files.md.',
    parameters: {
      magic: toHex(utf8(FILE_STREAM_MAGIC)),
      version: FILE_STREAM_VERSION,
      infoLabel: toHex(utf8(FILE_STREAM_INFO_LABEL)),
      headerLength: FILE_STREAM_HEADER_LENGTH,
      tagLength: FILE_STREAM_TAG_LENGTH,
      seedPrefix: toHex(utf8(FILE_STREAM_SEED_PREFIX)),
    },
    valid: valid.map((v) => v.json),
    invalid: invalidCases,
  };
}

export default { file: 'file-stream.json', generate };
