/**
 * Turns raw primitives into a `CryptoProvider`. This is the one place that checks arguments,
 * draws randomness, rejects all-zero X25519 outputs, applies Ed25519 strictness and maps every
 * cipher failure to `DecryptionFailed`, so every provider behaves identically.
 */
import { checkBytes, checkInt, isAllZero } from '../bytes.js';
import { DecryptionFailed, InvalidKeyError, UsageError, ValidationError } from '../errors.js';
import type { Aead, CryptoProvider, IncrementalHash, RandomSource, ScryptParams } from '../provider.js';
import { passesStrictChecks } from './ed25519-strict.js';
import type { RawAead, RawPrimitives } from './raw.js';

const EMPTY = new Uint8Array(0);
/** Largest plaintext one AEAD call accepts (2^32 bytes); stream larger data in chunks. */
const MAX_AEAD_INPUT = 2 ** 32;

function aead(raw: RawAead, name: string, nonceLength: number): Aead {
  return {
    keyLength: 32,
    nonceLength,
    tagLength: 16,
    async encrypt(key, nonce, plaintext, aad = EMPTY) {
      checkBytes(key, `${name}.key`, 32);
      checkBytes(nonce, `${name}.nonce`, nonceLength);
      checkBytes(plaintext, `${name}.plaintext`);
      checkBytes(aad, `${name}.aad`);
      if (plaintext.length > MAX_AEAD_INPUT)
        throw new ValidationError(`${name}.plaintext`, 'at most 2^32 bytes');
      return raw.encrypt(key, nonce, plaintext, aad);
    },
    async decrypt(key, nonce, ciphertext, aad = EMPTY) {
      checkBytes(key, `${name}.key`, 32);
      checkBytes(nonce, `${name}.nonce`, nonceLength);
      checkBytes(ciphertext, `${name}.ciphertext`);
      checkBytes(aad, `${name}.aad`);
      if (ciphertext.length < 16) throw new DecryptionFailed();
      try {
        return await raw.decrypt(key, nonce, ciphertext, aad);
      } catch {
        throw new DecryptionFailed();
      }
    },
  };
}

/** The parts of a MAC input, given as one array or as an array of them. */
function macParts(data: Uint8Array | readonly Uint8Array[], field: string): readonly Uint8Array[] {
  if (data instanceof Uint8Array) return [data];
  if (!Array.isArray(data)) throw new ValidationError(field, 'a Uint8Array or an array of them');
  for (let i = 0; i < data.length; i++) {
    // The field name is built only for the error: this check runs on every MAC.
    if (!(data[i] instanceof Uint8Array)) checkBytes(data[i], `${field}[${i}]`);
  }
  return data;
}

export function checkScryptParams(params: ScryptParams, field: string): void {
  if (typeof params !== 'object' || params === null) throw new ValidationError(field, 'an object');
  checkInt(params.N, `${field}.N`, 2, 2 ** 30);
  if ((params.N & (params.N - 1)) !== 0) throw new ValidationError(`${field}.N`, 'a power of two');
  checkInt(params.r, `${field}.r`, 1, 1024);
  checkInt(params.p, `${field}.p`, 1, 1024);
  checkInt(params.dkLen, `${field}.dkLen`, 1, 1024);
  if (128 * params.N * params.r > 2 ** 32) throw new ValidationError(field, 'N * r * 128 of at most 4 GiB');
}

export function makeProvider(name: string, raw: RawPrimitives, random: RandomSource): CryptoProvider {
  const randomBytes = (length: number): Uint8Array => {
    checkInt(length, 'length', 0, 2 ** 31 - 1);
    return random.fill(new Uint8Array(length));
  };
  const x25519SharedSecret = async (privateKey: Uint8Array, publicKey: Uint8Array) => {
    checkBytes(privateKey, 'x25519.privateKey', 32);
    checkBytes(publicKey, 'x25519.publicKey', 32);
    let shared: Uint8Array;
    try {
      shared = await raw.x25519(privateKey, publicKey);
    } catch {
      // Both libraries refuse low-order points; lengths were checked above.
      throw new InvalidKeyError('x25519.publicKey', 'low-order point (all-zero shared secret)');
    }
    if (isAllZero(shared))
      throw new InvalidKeyError('x25519.publicKey', 'low-order point (all-zero shared secret)');
    return shared;
  };
  const x25519PublicKey = async (privateKey: Uint8Array) =>
    raw.x25519PublicKey(checkBytes(privateKey, 'x25519.privateKey', 32));
  const ed25519PublicKey = async (privateKey: Uint8Array) =>
    raw.ed25519PublicKey(checkBytes(privateKey, 'ed25519.privateKey', 32));
  const mlkemFromSeed = async (seed: Uint8Array) =>
    raw.mlkem768FromSeed(checkBytes(seed, 'mlkem768.seed', 64));

  const provider: CryptoProvider = {
    name: random.name === 'csprng' ? name : `${name}+${random.name}`,
    random,
    randomBytes,
    async sha256(data) {
      return raw.sha256(checkBytes(data, 'data'));
    },
    createSha256() {
      const inner = raw.createSha256();
      let done = false;
      const hash: IncrementalHash = {
        update(data) {
          if (done) throw new UsageError('the hash is already finished');
          inner.update(checkBytes(data, 'data'));
          return hash;
        },
        digest() {
          if (done) throw new UsageError('the hash is already finished');
          done = true;
          return inner.digest();
        },
      };
      return hash;
    },
    async sha512(data) {
      return raw.sha512(checkBytes(data, 'data'));
    },
    async hmacSha256(key, data) {
      return raw.hmacSha256(checkBytes(key, 'hmac.key'), macParts(data, 'hmac.data'));
    },
    async hmacSha512(key, data) {
      return raw.hmacSha512(checkBytes(key, 'hmacSha512.key'), macParts(data, 'hmacSha512.data'));
    },
    async hkdfSha256(ikm, salt, info, length) {
      checkBytes(ikm, 'hkdf.ikm');
      checkBytes(salt, 'hkdf.salt');
      // node:crypto refuses an info longer than 1024 bytes; every provider applies the same cap.
      checkBytes(info, 'hkdf.info');
      if (info.length > 1024) throw new ValidationError('hkdf.info', 'at most 1024 bytes');
      checkInt(length, 'hkdf.length', 1, 255 * 32);
      return raw.hkdfSha256(ikm, salt, info, length);
    },
    async hkdfExtractSha256(salt, ikm) {
      checkBytes(salt, 'hkdfExtract.salt');
      checkBytes(ikm, 'hkdfExtract.ikm');
      return raw.hkdfExtractSha256(salt, ikm);
    },
    async hkdfExpandSha256(prk, info, length) {
      checkBytes(prk, 'hkdfExpand.prk');
      if (prk.length < 32) throw new ValidationError('hkdfExpand.prk', 'at least 32 bytes');
      checkBytes(info, 'hkdfExpand.info');
      checkInt(length, 'hkdfExpand.length', 1, 255 * 32);
      return raw.hkdfExpandSha256(prk, info, length);
    },
    async scrypt(password, salt, params) {
      checkBytes(password, 'scrypt.password');
      checkBytes(salt, 'scrypt.salt');
      checkScryptParams(params, 'scrypt');
      return raw.scrypt(password, salt, params);
    },
    x25519: {
      async generateKeyPair() {
        const privateKey = randomBytes(32);
        return { privateKey, publicKey: await raw.x25519PublicKey(privateKey) };
      },
      publicKey: x25519PublicKey,
      sharedSecret: x25519SharedSecret,
    },
    ed25519: {
      async generateKeyPair() {
        const privateKey = randomBytes(32);
        return { privateKey, publicKey: await raw.ed25519PublicKey(privateKey) };
      },
      publicKey: ed25519PublicKey,
      async sign(privateKey, message) {
        checkBytes(privateKey, 'ed25519.privateKey', 32);
        checkBytes(message, 'ed25519.message');
        return raw.ed25519Sign(privateKey, message);
      },
      async verify(publicKey, message, signature) {
        checkBytes(publicKey, 'ed25519.publicKey', 32);
        checkBytes(message, 'ed25519.message');
        checkBytes(signature, 'ed25519.signature');
        if (signature.length !== 64 || !passesStrictChecks(publicKey, signature)) return false;
        try {
          return await raw.ed25519Verify(publicKey, message, signature);
        } catch {
          return false;
        }
      },
    },
    mlkem768: {
      publicKeyLength: 1184,
      secretKeyLength: 2400,
      ciphertextLength: 1088,
      generateKeyPair: () => mlkemFromSeed(randomBytes(64)),
      keyPairFromSeed: mlkemFromSeed,
      async encapsulate(publicKey) {
        checkBytes(publicKey, 'mlkem768.publicKey', 1184);
        try {
          return await raw.mlkem768Encapsulate(publicKey, randomBytes(32));
        } catch {
          // FIPS 203 modulus check failed: the key is not a valid encapsulation key.
          throw new InvalidKeyError('mlkem768.publicKey', 'not a valid ML-KEM-768 encapsulation key');
        }
      },
      async decapsulate(ciphertext, secretKey) {
        checkBytes(ciphertext, 'mlkem768.ciphertext', 1088);
        checkBytes(secretKey, 'mlkem768.secretKey', 2400);
        try {
          return await raw.mlkem768Decapsulate(ciphertext, secretKey);
        } catch {
          throw new InvalidKeyError('mlkem768.secretKey', 'not a valid ML-KEM-768 decapsulation key');
        }
      },
    },
    aes256gcm: aead(raw.aes256gcm, 'aes256gcm', 12),
    chacha20poly1305: aead(raw.chacha20poly1305, 'chacha20poly1305', 12),
    xchacha20poly1305: aead(raw.xchacha20poly1305, 'xchacha20poly1305', 24),
    aes256cbc: {
      async encrypt(key, iv, plaintext) {
        checkBytes(key, 'aes256cbc.key', 32);
        checkBytes(iv, 'aes256cbc.iv', 16);
        checkBytes(plaintext, 'aes256cbc.plaintext');
        return raw.aes256cbcEncrypt(key, iv, plaintext);
      },
      async decrypt(key, iv, ciphertext) {
        checkBytes(key, 'aes256cbc.key', 32);
        checkBytes(iv, 'aes256cbc.iv', 16);
        checkBytes(ciphertext, 'aes256cbc.ciphertext');
        if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw new DecryptionFailed();
        try {
          return await raw.aes256cbcDecrypt(key, iv, ciphertext);
        } catch {
          throw new DecryptionFailed();
        }
      },
    },
    withRandom(source) {
      if (typeof source?.fill !== 'function') throw new ValidationError('random', 'a RandomSource');
      return makeProvider(name, raw, source);
    },
  };
  return Object.freeze(provider);
}
