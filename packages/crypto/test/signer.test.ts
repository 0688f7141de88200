/**
 * `Ed25519Signer`, `isEd25519Signer` and `ed25519SignWith`: bytes and a signer holding the same
 * key give the same signature; what is neither a 32-byte seed nor a signer is refused; a signer
 * that returns anything but 64 bytes is refused.
 */
import { describe, expect, it } from 'vitest';
import {
  createNobleProvider,
  type Ed25519Signer,
  ed25519SignWith,
  InvalidKeyError,
  isEd25519Signer,
  utf8,
  ValidationError,
} from '../src/index.js';

const provider = createNobleProvider();
const message = utf8('cloister test message');

describe('isEd25519Signer', () => {
  it('accepts an object with a 32-byte publicKey and a sign function, and nothing else', async () => {
    const pair = await provider.ed25519.generateKeyPair();
    const sign = (m: Uint8Array) => provider.ed25519.sign(pair.privateKey, m);
    expect(isEd25519Signer({ publicKey: pair.publicKey, sign })).toBe(true);
    for (const value of [
      pair.privateKey,
      null,
      undefined,
      'key',
      { publicKey: pair.publicKey },
      { publicKey: pair.publicKey.subarray(0, 31), sign },
      { publicKey: Array.from(pair.publicKey), sign },
      { publicKey: pair.publicKey, sign: 'not a function' },
      Object.assign(new Uint8Array(32), { publicKey: pair.publicKey, sign }),
    ]) {
      expect(isEd25519Signer(value)).toBe(false);
    }
  });
});

describe('ed25519SignWith', () => {
  it('bytes and a signer over the same key give the same signature, which verifies', async () => {
    const pair = await provider.ed25519.generateKeyPair();
    const signer: Ed25519Signer = {
      publicKey: pair.publicKey,
      sign: (m) => provider.ed25519.sign(pair.privateKey, m),
    };
    const a = await ed25519SignWith(provider, pair.privateKey, message);
    const b = await ed25519SignWith(provider, signer, message);
    expect(b).toEqual(a);
    expect(await provider.ed25519.verify(pair.publicKey, message, b)).toBe(true);
  });

  it('a WebCrypto signer gives the same signature as the seed', async () => {
    const subtle = globalThis.crypto.subtle;
    const pair = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const { privateKey, publicKey } = pair as CryptoKeyPair;
    const signer: Ed25519Signer = {
      publicKey: new Uint8Array(await subtle.exportKey('raw', publicKey)),
      sign: async (m) =>
        new Uint8Array(await subtle.sign({ name: 'Ed25519' }, privateKey, new Uint8Array(m))),
    };
    const signature = await ed25519SignWith(provider, signer, message);
    expect(await provider.ed25519.verify(signer.publicKey, message, signature)).toBe(true);
  });

  it('refuses what is neither a 32-byte seed nor a signer', async () => {
    for (const key of [
      new Uint8Array(31),
      new Uint8Array(64),
      null,
      'seed',
      { sign: () => new Uint8Array(64) },
    ]) {
      const failure = await ed25519SignWith(provider, key as Uint8Array, message).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ValidationError);
      expect(failure).toMatchObject({ field: 'key' });
    }
  });

  it('refuses a signer that returns anything but 64 bytes', async () => {
    const pair = await provider.ed25519.generateKeyPair();
    const good = await provider.ed25519.sign(pair.privateKey, message);
    for (const out of [
      good.subarray(0, 63),
      new Uint8Array([...good, 0]),
      new Uint8Array(0),
      Array.from(good),
    ]) {
      const signer = { publicKey: pair.publicKey, sign: async () => out as Uint8Array };
      await expect(ed25519SignWith(provider, signer, message)).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });
});
