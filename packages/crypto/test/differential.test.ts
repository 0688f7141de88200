/**
 * Differential property tests: on random inputs every provider (noble, node, webcrypto) must
 * give byte-identical outputs, or fail with the same error code, for every primitive.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, concatBytes, fromHex, toHex } from '../src/index.js';
import { fixedRandom } from './fixed-random.js';
import { PROVIDERS } from './providers.js';

const RUNS = { numRuns: 60 };
const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength });
const exact = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

/** The hex of the result, or `error:<code>`, so that failures are compared as well. */
async function outcome(run: () => Promise<Uint8Array | boolean>): Promise<string> {
  try {
    const out = await run();
    return typeof out === 'boolean' ? String(out) : toHex(out);
  } catch (e) {
    return `error:${String((e as { code?: unknown }).code)}`;
  }
}

/** Runs `run` under every provider and checks that all outcomes equal the first. */
async function agree(run: (p: CryptoProvider) => Promise<Uint8Array | boolean>, label = ''): Promise<string> {
  const results = await Promise.all(PROVIDERS.map((p) => outcome(() => run(p))));
  for (let i = 1; i < PROVIDERS.length; i++) {
    expect(results[i], `${PROVIDERS[i]!.name} vs ${PROVIDERS[0]!.name} ${label}`).toBe(results[0]);
  }
  return results[0]!;
}

/** Flips one bit of a copy of `data` chosen by `position` (any integer). */
function flipBit(data: Uint8Array, position: number): Uint8Array {
  const out = data.slice();
  const bit = position % (data.length * 8);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('providers agree on random inputs', () => {
  it('has all three providers', () => {
    expect(PROVIDERS.map((p) => p.name)).toEqual(['noble', 'node', 'webcrypto']);
  });

  it('SHA-256 and SHA-512', async () => {
    await fc.assert(
      fc.asyncProperty(bytes(0, 600), async (data) => {
        await agree((p) => p.sha256(data), 'sha256');
        await agree((p) => p.sha512(data), 'sha512');
      }),
      RUNS,
    );
  });

  it('HMAC-SHA256 over parts equals HMAC over the concatenation', async () => {
    await fc.assert(
      fc.asyncProperty(bytes(0, 150), fc.array(bytes(0, 80), { maxLength: 5 }), async (key, parts) => {
        const whole = await agree((p) => p.hmacSha256(key, parts), 'parts');
        expect(await agree((p) => p.hmacSha256(key, concatBytes(...parts)), 'concatenated')).toBe(whole);
      }),
      RUNS,
    );
  });

  it('HKDF-SHA256', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes(0, 80),
        bytes(0, 80),
        bytes(0, 80),
        fc.integer({ min: 1, max: 255 * 32 }),
        async (ikm, salt, info, n) => {
          await agree((p) => p.hkdfSha256(ikm, salt, info, n));
        },
      ),
      RUNS,
    );
  });

  for (const [name, nonceLength] of [
    ['aes256gcm', 12],
    ['chacha20poly1305', 12],
    ['xchacha20poly1305', 24],
  ] as const) {
    it(`${name}: encrypt, decrypt, and rejection of a flipped bit`, async () => {
      await fc.assert(
        fc.asyncProperty(
          exact(32),
          exact(nonceLength),
          bytes(0, 300),
          bytes(0, 60),
          fc.nat(),
          async (key, nonce, pt, aad, pos) => {
            const ct = await agree((p) => p[name].encrypt(key, nonce, pt, aad), 'encrypt');
            const sealed = fromHex(ct);
            expect(await agree((p) => p[name].decrypt(key, nonce, sealed, aad), 'decrypt')).toBe(toHex(pt));
            const tampered = flipBit(sealed, pos);
            expect(await agree((p) => p[name].decrypt(key, nonce, tampered, aad), 'tampered')).toBe(
              'error:ERR_DECRYPTION_FAILED',
            );
          },
        ),
        RUNS,
      );
    });
  }

  it('AES-256-CBC: encrypt, decrypt, and random ciphertexts', async () => {
    await fc.assert(
      fc.asyncProperty(
        exact(32),
        exact(16),
        bytes(0, 200),
        exact(64),
        fc.integer({ min: 1, max: 4 }),
        async (key, iv, pt, junk, blocks) => {
          const ct = await agree((p) => p.aes256cbc.encrypt(key, iv, pt), 'encrypt');
          const sealed = fromHex(ct);
          expect(await agree((p) => p.aes256cbc.decrypt(key, iv, sealed), 'decrypt')).toBe(toHex(pt));
          // A random ciphertext usually has bad padding; all providers must agree either way.
          const random = junk.subarray(0, 16 * blocks);
          await agree((p) => p.aes256cbc.decrypt(key, iv, random), 'random ciphertext');
        },
      ),
      RUNS,
    );
  });

  it('X25519 on random private and public keys', async () => {
    await fc.assert(
      fc.asyncProperty(exact(32), exact(32), async (priv, pub) => {
        await agree((p) => p.x25519.publicKey(priv), 'publicKey');
        await agree((p) => p.x25519.sharedSecret(priv, pub), 'sharedSecret');
      }),
      RUNS,
    );
  });

  it('Ed25519 sign, verify, and verify of mutated signatures, messages and keys', async () => {
    await fc.assert(
      fc.asyncProperty(exact(32), bytes(0, 200), fc.nat(), async (seed, msg, pos) => {
        const pk = fromHex(await agree((p) => p.ed25519.publicKey(seed), 'publicKey'));
        const sig = fromHex(await agree((p) => p.ed25519.sign(seed, msg), 'sign'));
        expect(await agree((p) => p.ed25519.verify(pk, msg, sig), 'verify')).toBe('true');
        expect(await agree((p) => p.ed25519.verify(pk, msg, flipBit(sig, pos)), 'mutated signature')).toBe(
          'false',
        );
        await agree((p) => p.ed25519.verify(flipBit(pk, pos), msg, sig), 'mutated key');
        if (msg.length > 0) {
          expect(await agree((p) => p.ed25519.verify(pk, flipBit(msg, pos), sig), 'mutated message')).toBe(
            'false',
          );
        }
      }),
      RUNS,
    );
  });

  it('Ed25519 verify of random signatures against random keys', async () => {
    await fc.assert(
      fc.asyncProperty(exact(32), bytes(0, 40), exact(64), async (pk, msg, sig) => {
        await agree((p) => p.ed25519.verify(pk, msg, sig));
      }),
      RUNS,
    );
  });

  it('ML-KEM-768 from seed, encapsulation with the same random message, decapsulation', async () => {
    await fc.assert(
      fc.asyncProperty(exact(64), exact(32), fc.nat(), async (seed, m, pos) => {
        const keys = await Promise.all(PROVIDERS.map((p) => p.mlkem768.keyPairFromSeed(seed)));
        for (const k of keys) {
          expect(toHex(k.publicKey)).toBe(toHex(keys[0]!.publicKey));
          expect(toHex(k.secretKey)).toBe(toHex(keys[0]!.secretKey));
        }
        const { publicKey, secretKey } = keys[0]!;
        const encs = await Promise.all(
          PROVIDERS.map((p) => p.withRandom(fixedRandom([m])).mlkem768.encapsulate(publicKey)),
        );
        for (const e of encs) {
          expect(toHex(e.ciphertext)).toBe(toHex(encs[0]!.ciphertext));
          expect(toHex(e.sharedSecret)).toBe(toHex(encs[0]!.sharedSecret));
        }
        const { ciphertext, sharedSecret } = encs[0]!;
        expect(await agree((p) => p.mlkem768.decapsulate(ciphertext, secretKey), 'decapsulate')).toBe(
          toHex(sharedSecret),
        );
        // Implicit rejection: a modified ciphertext gives the same pseudorandom key everywhere.
        const rejected = await agree(
          (p) => p.mlkem768.decapsulate(flipBit(ciphertext, pos), secretKey),
          'rejection',
        );
        expect(rejected).not.toBe(toHex(sharedSecret));
      }),
      { numRuns: 30 },
    );
  });

  it('scrypt with small parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes(0, 40),
        bytes(0, 40),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 80 }),
        async (pw, salt, logN, r, p, dkLen) => {
          await agree((prov) => prov.scrypt(pw, salt, { N: 2 ** logN, r, p, dkLen }));
        },
      ),
      RUNS,
    );
  });
});
