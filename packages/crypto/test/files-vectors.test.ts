import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decryptFile,
  deriveFileSubkey,
  encryptFile,
  FILE_STREAM_HEADER_LENGTH,
  FILE_STREAM_INFO_LABEL,
  FILE_STREAM_MAGIC,
  fileChunkNonce,
  parseFileStreamHeader,
} from '../src/files/index.js';
import { type CryptoProvider, concatBytes, fromHex, type RandomSource, toHex, utf8 } from '../src/index.js';
import { PROVIDERS } from './providers.js';

interface ValidCase {
  name: string;
  chunkSize: number;
  plaintext: string;
  fileKey: string;
  salt: string;
  noncePrefix: string;
  header: string;
  hkdfInfo: string;
  subkey: string;
  chunks: { index: number; last: boolean; nonce: string; plaintext: string; sealed: string }[];
  ciphertext: string;
  size: number;
  ciphertextSize: number;
  digest: string;
}

interface InvalidCase {
  name: string;
  fileKey: string;
  ciphertext: string;
  error: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/file-stream.json', import.meta.url), 'utf8'),
) as { parameters: { magic: string; infoLabel: string }; valid: ValidCase[]; invalid: InvalidCase[] };

/** A random source that returns exactly `bytes`, then fails. */
function replay(bytes: Uint8Array): RandomSource {
  let offset = 0;
  return {
    name: 'replay',
    fill(out) {
      if (offset + out.length > bytes.length) throw new Error('replay source exhausted');
      out.set(bytes.subarray(offset, offset + out.length));
      offset += out.length;
      return out;
    },
  };
}

describe('test-vectors/file-stream.json', () => {
  it('has the parameters the code uses', () => {
    expect(vectors.parameters.magic).toBe(toHex(utf8(FILE_STREAM_MAGIC)));
    expect(vectors.parameters.infoLabel).toBe(toHex(utf8(FILE_STREAM_INFO_LABEL)));
    expect(vectors.valid.length).toBeGreaterThanOrEqual(5);
    expect(vectors.invalid.length).toBeGreaterThanOrEqual(8);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'file-stream vectors (%s)',
  (_n, provider: CryptoProvider) => {
    it.each(vectors.valid.map((c) => [c.name, c] as const))('valid case %s', async (name, c) => {
      const fileKey = fromHex(c.fileKey);
      const header = fromHex(c.header);
      const parsed = parseFileStreamHeader(header);
      expect(parsed?.chunkLog2, `case ${name}`).toBe(Math.log2(c.chunkSize));
      expect(toHex(parsed?.salt ?? new Uint8Array(0)), `case ${name}`).toBe(c.salt);
      expect(toHex(parsed?.noncePrefix ?? new Uint8Array(0)), `case ${name}`).toBe(c.noncePrefix);
      expect(toHex(concatBytes(utf8(FILE_STREAM_INFO_LABEL), header)), `case ${name}`).toBe(c.hkdfInfo);
      const subkey = await deriveFileSubkey(provider, fileKey, header);
      expect(toHex(subkey), `case ${name}`).toBe(c.subkey);
      for (const chunk of c.chunks) {
        const nonce = fileChunkNonce(fromHex(c.noncePrefix), chunk.index, chunk.last);
        expect(toHex(nonce), `case ${name} chunk ${chunk.index}`).toBe(chunk.nonce);
        const sealed = await provider.aes256gcm.encrypt(subkey, nonce, fromHex(chunk.plaintext), header);
        expect(toHex(sealed), `case ${name} chunk ${chunk.index}`).toBe(chunk.sealed);
      }
      expect(c.ciphertext, `case ${name}`).toBe(c.header + c.chunks.map((k) => k.sealed).join(''));
      // Encrypting again with the same random bytes reproduces the file exactly.
      const random = replay(fromHex(c.salt + c.noncePrefix));
      const enc = await encryptFile(provider.withRandom(random), fromHex(c.plaintext), {
        fileKey,
        chunkSize: c.chunkSize,
      });
      expect(toHex(enc.ciphertext), `case ${name}`).toBe(c.ciphertext);
      expect(toHex(enc.digest), `case ${name}`).toBe(c.digest);
      expect([enc.size, enc.ciphertextSize], `case ${name}`).toEqual([c.size, c.ciphertextSize]);
      expect(toHex(await provider.sha256(fromHex(c.ciphertext))), `case ${name}`).toBe(c.digest);
      const plaintext = await decryptFile(provider, fileKey, fromHex(c.ciphertext));
      expect(toHex(plaintext), `case ${name}`).toBe(c.plaintext);
      expect(c.ciphertext.length / 2 - FILE_STREAM_HEADER_LENGTH, `case ${name}`).toBeGreaterThan(0);
    });

    it.each(vectors.invalid.map((c) => [c.name, c] as const))('invalid case %s', async (name, c) => {
      let code = 'accepted';
      try {
        await decryptFile(provider, fromHex(c.fileKey), fromHex(c.ciphertext));
      } catch (e) {
        code = (e as { code?: string }).code ?? String(e);
      }
      expect(code, `case ${name}`).toBe(c.error);
    });
  },
);
