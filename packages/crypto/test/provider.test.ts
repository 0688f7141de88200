/**
 * The provider boundary under every provider: a hostile-input table for every function
 * (ERR_VALIDATION naming the field), tampering (ERR_DECRYPTION_FAILED), low-order keys
 * (ERR_INVALID_KEY), the insecure seeded random source, and provider selection.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CryptoProvider, getProvider, toHex } from '../src/index.js';
import { INSECURE_seededRandomForTestsOnly } from '../src/testing.js';
import { PROVIDERS } from './providers.js';
import { rejection } from './vectors-load.js';

/** Passes a value of the wrong type through the TypeScript signature, as JavaScript callers can. */
function hostile<T>(value: unknown): T {
  return value as T;
}

const b = (n: number) => new Uint8Array(n);
const NOT_BYTES: [string, unknown][] = [
  ['a string', 'abc'],
  ['null', null],
  ['undefined', undefined],
  ['a number array', [1, 2, 3]],
  ['a Uint16Array', new Uint16Array(32)],
  ['an ArrayBuffer', new ArrayBuffer(32)],
];
const BAD_INTS: [string, unknown][] = [
  ['negative', -1],
  ['fractional', 1.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a string', '16'],
  ['a bigint', 16n],
];

interface Row {
  name: string;
  field: string;
  call: (p: CryptoProvider) => unknown;
}

function rows(): Row[] {
  const out: Row[] = [];
  const add = (name: string, field: string, call: Row['call']) => out.push({ name, field, call });
  for (const [what, v] of NOT_BYTES) {
    const x = hostile<Uint8Array>(v);
    add(`sha256(${what})`, 'data', (p) => p.sha256(x));
    add(`sha512(${what})`, 'data', (p) => p.sha512(x));
    add(`hmacSha256 key ${what}`, 'hmac.key', (p) => p.hmacSha256(x, b(1)));
    add(`hkdfSha256 ikm ${what}`, 'hkdf.ikm', (p) => p.hkdfSha256(x, b(0), b(0), 32));
    add(`hkdfSha256 salt ${what}`, 'hkdf.salt', (p) => p.hkdfSha256(b(1), x, b(0), 32));
    add(`hkdfSha256 info ${what}`, 'hkdf.info', (p) => p.hkdfSha256(b(1), b(0), x, 32));
    add(`scrypt password ${what}`, 'scrypt.password', (p) =>
      p.scrypt(x, b(0), { N: 2, r: 1, p: 1, dkLen: 1 }),
    );
    add(`scrypt salt ${what}`, 'scrypt.salt', (p) => p.scrypt(b(0), x, { N: 2, r: 1, p: 1, dkLen: 1 }));
    add(`x25519.publicKey ${what}`, 'x25519.privateKey', (p) => p.x25519.publicKey(x));
    add(`x25519.sharedSecret private ${what}`, 'x25519.privateKey', (p) => p.x25519.sharedSecret(x, b(32)));
    add(`x25519.sharedSecret public ${what}`, 'x25519.publicKey', (p) => p.x25519.sharedSecret(b(32), x));
    add(`ed25519.publicKey ${what}`, 'ed25519.privateKey', (p) => p.ed25519.publicKey(x));
    add(`ed25519.sign key ${what}`, 'ed25519.privateKey', (p) => p.ed25519.sign(x, b(1)));
    add(`ed25519.sign message ${what}`, 'ed25519.message', (p) => p.ed25519.sign(b(32), x));
    add(`ed25519.verify key ${what}`, 'ed25519.publicKey', (p) => p.ed25519.verify(x, b(1), b(64)));
    add(`ed25519.verify message ${what}`, 'ed25519.message', (p) => p.ed25519.verify(b(32), x, b(64)));
    add(`ed25519.verify signature ${what}`, 'ed25519.signature', (p) => p.ed25519.verify(b(32), b(1), x));
    add(`mlkem768.keyPairFromSeed ${what}`, 'mlkem768.seed', (p) => p.mlkem768.keyPairFromSeed(x));
    add(`mlkem768.encapsulate ${what}`, 'mlkem768.publicKey', (p) => p.mlkem768.encapsulate(x));
    add(`mlkem768.decapsulate ciphertext ${what}`, 'mlkem768.ciphertext', (p) =>
      p.mlkem768.decapsulate(x, b(2400)),
    );
    add(`mlkem768.decapsulate key ${what}`, 'mlkem768.secretKey', (p) => p.mlkem768.decapsulate(b(1088), x));
    for (const [aead, n] of [
      ['aes256gcm', 12],
      ['chacha20poly1305', 12],
      ['xchacha20poly1305', 24],
    ] as const) {
      add(`${aead}.encrypt key ${what}`, `${aead}.key`, (p) => p[aead].encrypt(x, b(n), b(1)));
      add(`${aead}.encrypt nonce ${what}`, `${aead}.nonce`, (p) => p[aead].encrypt(b(32), x, b(1)));
      add(`${aead}.encrypt plaintext ${what}`, `${aead}.plaintext`, (p) => p[aead].encrypt(b(32), b(n), x));
      if (v !== undefined)
        add(`${aead}.encrypt aad ${what}`, `${aead}.aad`, (p) => p[aead].encrypt(b(32), b(n), b(1), x));
      add(`${aead}.decrypt key ${what}`, `${aead}.key`, (p) => p[aead].decrypt(x, b(n), b(16)));
      add(`${aead}.decrypt ciphertext ${what}`, `${aead}.ciphertext`, (p) => p[aead].decrypt(b(32), b(n), x));
    }
    add(`aes256cbc.encrypt key ${what}`, 'aes256cbc.key', (p) => p.aes256cbc.encrypt(x, b(16), b(1)));
    add(`aes256cbc.encrypt iv ${what}`, 'aes256cbc.iv', (p) => p.aes256cbc.encrypt(b(32), x, b(1)));
    add(`aes256cbc.encrypt plaintext ${what}`, 'aes256cbc.plaintext', (p) =>
      p.aes256cbc.encrypt(b(32), b(16), x),
    );
    add(`aes256cbc.decrypt ciphertext ${what}`, 'aes256cbc.ciphertext', (p) =>
      p.aes256cbc.decrypt(b(32), b(16), x),
    );
  }
  // Wrong lengths.
  for (const n of [0, 31, 33]) {
    add(`x25519.publicKey ${n} bytes`, 'x25519.privateKey', (p) => p.x25519.publicKey(b(n)));
    add(`x25519.sharedSecret public ${n} bytes`, 'x25519.publicKey', (p) =>
      p.x25519.sharedSecret(b(32), b(n)),
    );
    add(`ed25519.publicKey ${n} bytes`, 'ed25519.privateKey', (p) => p.ed25519.publicKey(b(n)));
    add(`ed25519.sign ${n}-byte key`, 'ed25519.privateKey', (p) => p.ed25519.sign(b(n), b(1)));
    add(`ed25519.verify ${n}-byte key`, 'ed25519.publicKey', (p) => p.ed25519.verify(b(n), b(1), b(64)));
    add(`aes256gcm key ${n} bytes`, 'aes256gcm.key', (p) => p.aes256gcm.encrypt(b(n), b(12), b(1)));
    add(`aes256cbc key ${n} bytes`, 'aes256cbc.key', (p) => p.aes256cbc.encrypt(b(n), b(16), b(1)));
  }
  for (const n of [0, 8, 11, 13, 16, 24]) {
    add(`aes256gcm nonce ${n} bytes`, 'aes256gcm.nonce', (p) => p.aes256gcm.encrypt(b(32), b(n), b(1)));
    add(`chacha20poly1305 nonce ${n} bytes`, 'chacha20poly1305.nonce', (p) =>
      p.chacha20poly1305.decrypt(b(32), b(n), b(16)),
    );
  }
  for (const n of [12, 16, 23, 25]) {
    add(`xchacha20poly1305 nonce ${n} bytes`, 'xchacha20poly1305.nonce', (p) =>
      p.xchacha20poly1305.encrypt(b(32), b(n), b(1)),
    );
  }
  for (const n of [0, 15, 17])
    add(`aes256cbc iv ${n} bytes`, 'aes256cbc.iv', (p) => p.aes256cbc.decrypt(b(32), b(n), b(16)));
  for (const n of [0, 32, 63, 65])
    add(`mlkem768 seed ${n} bytes`, 'mlkem768.seed', (p) => p.mlkem768.keyPairFromSeed(b(n)));
  add('mlkem768.encapsulate 1183 bytes', 'mlkem768.publicKey', (p) => p.mlkem768.encapsulate(b(1183)));
  add('mlkem768.decapsulate 1089-byte ciphertext', 'mlkem768.ciphertext', (p) =>
    p.mlkem768.decapsulate(b(1089), b(2400)),
  );
  add('mlkem768.decapsulate 2399-byte key', 'mlkem768.secretKey', (p) =>
    p.mlkem768.decapsulate(b(1088), b(2399)),
  );
  // hmac data: neither bytes nor an array of bytes; an array with a bad part.
  add('hmacSha256 data a string', 'hmac.data', (p) => p.hmacSha256(b(1), hostile<Uint8Array>('abc')));
  add('hmacSha256 data null', 'hmac.data', (p) => p.hmacSha256(b(1), hostile<Uint8Array>(null)));
  add('hmacSha256 data[1] a string', 'hmac.data[1]', (p) =>
    p.hmacSha256(b(1), hostile<Uint8Array[]>([b(1), 'x'])),
  );
  // Out-of-range integers.
  for (const [what, v] of [...BAD_INTS, ['0', 0], ['255 * 32 + 1', 255 * 32 + 1]] as [string, unknown][]) {
    add(`hkdfSha256 length ${what}`, 'hkdf.length', (p) =>
      p.hkdfSha256(b(1), b(0), b(0), hostile<number>(v)),
    );
  }
  for (const [what, v] of [...BAD_INTS, ['2^31', 2 ** 31]] as [string, unknown][]) {
    add(`randomBytes(${what})`, 'length', (p) => p.randomBytes(hostile<number>(v)));
  }
  // scrypt parameters.
  const ok = { N: 16, r: 1, p: 1, dkLen: 32 };
  const scryptRows: [string, string, unknown][] = [
    ['params null', 'scrypt', null],
    ['params a number', 'scrypt', 16],
    ['N = 1', 'scrypt.N', { ...ok, N: 1 }],
    ['N = 3 (not a power of two)', 'scrypt.N', { ...ok, N: 3 }],
    ['N = 2^31', 'scrypt.N', { ...ok, N: 2 ** 31 }],
    ['N a string', 'scrypt.N', { ...ok, N: '16' }],
    ['r = 0', 'scrypt.r', { ...ok, r: 0 }],
    ['r = 1.5', 'scrypt.r', { ...ok, r: 1.5 }],
    ['p = 0', 'scrypt.p', { ...ok, p: 0 }],
    ['p = 1025', 'scrypt.p', { ...ok, p: 1025 }],
    ['dkLen = 0', 'scrypt.dkLen', { ...ok, dkLen: 0 }],
    ['dkLen missing', 'scrypt.dkLen', { N: 16, r: 1, p: 1 }],
    ['128 * N * r above 4 GiB', 'scrypt', { ...ok, N: 2 ** 24, r: 8 }],
  ];
  for (const [what, field, params] of scryptRows) {
    add(`scrypt ${what}`, field, (p) => p.scrypt(b(1), b(1), hostile<typeof ok>(params)));
  }
  add('withRandom({})', 'random', (p) => p.withRandom(hostile<CryptoProvider['random']>({})));
  add('withRandom(null)', 'random', (p) => p.withRandom(hostile<CryptoProvider['random']>(null)));
  return out;
}

const TABLE = rows();

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'provider boundary under %s',
  (_name, provider: CryptoProvider) => {
    it('rejects every hostile input with ERR_VALIDATION naming the field', async () => {
      expect(TABLE.length).toBeGreaterThan(250);
      for (const row of TABLE) {
        const r = await rejection(async () => row.call(provider));
        expect(r.code, row.name).toBe('ERR_VALIDATION');
        expect(r.message.startsWith(`${row.field}: `), `${row.name}: "${r.message}"`).toBe(true);
      }
    });

    it('verify returns false (does not throw) for signatures of the wrong length', async () => {
      const seed = provider.randomBytes(32);
      const pk = await provider.ed25519.publicKey(seed);
      const sig = await provider.ed25519.sign(seed, b(3));
      expect(await provider.ed25519.verify(pk, b(3), sig)).toBe(true);
      for (const n of [0, 63, 65, 128]) {
        const other = new Uint8Array(n);
        other.set(sig.subarray(0, Math.min(n, 64)));
        expect(await provider.ed25519.verify(pk, b(3), other), `${n} bytes`).toBe(false);
      }
    });

    for (const [aead, n] of [
      ['aes256gcm', 12],
      ['chacha20poly1305', 12],
      ['xchacha20poly1305', 24],
    ] as const) {
      it(`${aead}: any tampering gives ERR_DECRYPTION_FAILED`, async () => {
        const key = provider.randomBytes(32);
        const nonce = provider.randomBytes(n);
        const aad = provider.randomBytes(7);
        const pt = provider.randomBytes(40);
        const ct = await provider[aead].encrypt(key, nonce, pt, aad);
        expect(ct.length).toBe(pt.length + 16);
        expect(toHex(await provider[aead].decrypt(key, nonce, ct, aad))).toBe(toHex(pt));
        const flip = (x: Uint8Array, i: number) => {
          const y = x.slice();
          y[i]! ^= 0x01;
          return y;
        };
        const attempts: [string, () => Promise<Uint8Array>][] = [
          ['ciphertext bit', () => provider[aead].decrypt(key, nonce, flip(ct, 0), aad)],
          ['tag bit', () => provider[aead].decrypt(key, nonce, flip(ct, ct.length - 1), aad)],
          ['aad bit', () => provider[aead].decrypt(key, nonce, ct, flip(aad, 3))],
          ['aad missing', () => provider[aead].decrypt(key, nonce, ct)],
          ['nonce bit', () => provider[aead].decrypt(key, flip(nonce, 0), ct, aad)],
          ['key bit', () => provider[aead].decrypt(flip(key, 31), nonce, ct, aad)],
          ['truncated by one', () => provider[aead].decrypt(key, nonce, ct.subarray(0, ct.length - 1), aad)],
          ['only 15 bytes', () => provider[aead].decrypt(key, nonce, ct.subarray(0, 15), aad)],
          ['empty', () => provider[aead].decrypt(key, nonce, b(0), aad)],
          ['extended by one', () => provider[aead].decrypt(key, nonce, new Uint8Array([...ct, 0]), aad)],
        ];
        for (const [what, run] of attempts) {
          const r = await rejection(run);
          expect(r.code, what).toBe('ERR_DECRYPTION_FAILED');
          expect(r.message, what).not.toContain(toHex(key).slice(0, 8));
        }
      });
    }

    it('aes256cbc: bad padding and bad lengths give ERR_DECRYPTION_FAILED', async () => {
      const key = provider.randomBytes(32);
      const iv = provider.randomBytes(16);
      const ct = await provider.aes256cbc.encrypt(key, iv, provider.randomBytes(20));
      expect(ct.length).toBe(32);
      // Decrypting the last block under an IV that makes its last plaintext byte 0 or 17.
      const last = ct.subarray(16);
      const plain = await provider.aes256cbc.decrypt(key, ct.subarray(0, 16), last);
      expect(plain, 'last block alone decrypts to 4 bytes + 12 padding bytes').toHaveLength(4);
      for (const badByte of [0, 17, 0xff]) {
        const tweakedIv = ct.subarray(0, 16).slice();
        tweakedIv[15]! ^= 12 ^ badByte;
        const r = await rejection(() => provider.aes256cbc.decrypt(key, tweakedIv, last));
        expect(r.code, `padding byte ${badByte}`).toBe('ERR_DECRYPTION_FAILED');
      }
      for (const len of [0, 1, 15, 17, 31]) {
        const r = await rejection(() => provider.aes256cbc.decrypt(key, iv, ct.subarray(0, len)));
        expect(r.code, `${len} bytes`).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('x25519: low-order public keys give ERR_INVALID_KEY', async () => {
      const priv = provider.randomBytes(32);
      // u = 0, u = 1, and u = p (non-canonical 0): every multiple is the point at infinity or 0.
      const lowOrder = [
        b(32),
        new Uint8Array([1, ...b(31)]),
        new Uint8Array([0xed, ...new Array(30).fill(0xff), 0x7f]),
      ];
      for (const pub of lowOrder) {
        const r = await rejection(() => provider.x25519.sharedSecret(priv, pub));
        expect(r.code, toHex(pub)).toBe('ERR_INVALID_KEY');
        expect(r.message).toContain('x25519.publicKey');
      }
    });

    it('mlkem768: a non-reduced encapsulation key gives ERR_INVALID_KEY; a bad ciphertext gives a different key', async () => {
      const r = await rejection(() => provider.mlkem768.encapsulate(new Uint8Array(1184).fill(0xff)));
      expect(r.code).toBe('ERR_INVALID_KEY');
      const { publicKey, secretKey } = await provider.mlkem768.generateKeyPair();
      const { ciphertext, sharedSecret } = await provider.mlkem768.encapsulate(publicKey);
      expect(toHex(await provider.mlkem768.decapsulate(ciphertext, secretKey))).toBe(toHex(sharedSecret));
      const bad = ciphertext.slice();
      bad[0]! ^= 1;
      expect(toHex(await provider.mlkem768.decapsulate(bad, secretKey))).not.toBe(toHex(sharedSecret));
    });

    it('the insecure seeded source is deterministic and marks the provider name', async () => {
      const seed = new Uint8Array([1, 2, 3]);
      const p1 = provider.withRandom(INSECURE_seededRandomForTestsOnly(seed));
      const p2 = provider.withRandom(INSECURE_seededRandomForTestsOnly(seed));
      const p3 = provider.withRandom(INSECURE_seededRandomForTestsOnly(new Uint8Array([1, 2, 4])));
      expect(p1.name).toBe(`${provider.name}+insecure-seeded`);
      expect(p1.random.name).toBe('insecure-seeded');
      expect(provider.name).not.toContain('+');
      expect(toHex(p1.randomBytes(100))).toBe(toHex(p2.randomBytes(100)));
      const [k1, k2, k3] = await Promise.all([p1, p2, p3].map((p) => p.x25519.generateKeyPair()));
      expect(toHex(k1!.privateKey)).toBe(toHex(k2!.privateKey));
      expect(toHex(k1!.publicKey)).toBe(toHex(k2!.publicKey));
      expect(toHex(k3!.privateKey)).not.toBe(toHex(k1!.privateKey));
      // Reads across refill boundaries continue one stream: 1000 + 100 bytes equal 1100 bytes.
      const a = provider.withRandom(INSECURE_seededRandomForTestsOnly(seed));
      const c = provider.withRandom(INSECURE_seededRandomForTestsOnly(seed));
      expect(toHex(a.randomBytes(1000)) + toHex(a.randomBytes(100))).toBe(toHex(c.randomBytes(1100)));
      // The CSPRNG does not repeat.
      expect(toHex(provider.randomBytes(32))).not.toBe(toHex(provider.randomBytes(32)));
      expect(provider.randomBytes(0)).toHaveLength(0);
      expect(provider.randomBytes(70000)).toHaveLength(70000);
    });

    it('the provider object is frozen', () => {
      expect(Object.isFrozen(provider)).toBe(true);
    });
  },
);

describe('getProvider', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('returns node on Node.js when nothing overrides it', async () => {
    vi.stubEnv('CLOISTER_CRYPTO_PROVIDER', '');
    expect((await getProvider()).name).toBe('node');
    expect((await getProvider('native')).name).toBe('node');
  });

  it('honours an explicit name', async () => {
    for (const name of ['node', 'webcrypto', 'noble'] as const) {
      const p = await getProvider(name);
      expect(p.name).toBe(name);
      expect(toHex(await p.sha256(b(0)))).toBe(
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
    }
  });

  it('honours CLOISTER_CRYPTO_PROVIDER when no name is given', async () => {
    vi.stubEnv('CLOISTER_CRYPTO_PROVIDER', 'noble');
    expect((await getProvider()).name).toBe('noble');
    expect((await getProvider('webcrypto')).name).toBe('webcrypto');
  });

  it('rejects an unknown name, explicit or from the environment', async () => {
    const explicit = await rejection(() => getProvider(hostile<'noble'>('openssl')));
    expect(explicit.code).toBe('ERR_VALIDATION');
    expect(explicit.message).toContain('provider');
    vi.stubEnv('CLOISTER_CRYPTO_PROVIDER', 'bogus');
    const fromEnv = await rejection(() => getProvider());
    expect(fromEnv.code).toBe('ERR_VALIDATION');
    expect(fromEnv.message).toContain('provider');
  });
});

describe('webcrypto feature detection and fallback', () => {
  const real = globalThis.crypto;

  /** A `crypto` whose `subtle` counts calls and misbehaves as `options` say. */
  function fakeCrypto(options: {
    unsupported?: readonly string[];
    verifyAlwaysTrue?: boolean;
    noSubtle?: boolean;
  }) {
    const calls: string[] = [];
    const name = (alg: unknown) => (typeof alg === 'string' ? alg : String((alg as { name?: unknown }).name));
    const subtle = {
      importKey: (...args: Parameters<SubtleCrypto['importKey']>) => {
        calls.push(`importKey:${name(args[2])}`);
        if (options.unsupported?.includes(name(args[2]))) {
          return Promise.reject(new DOMException('unsupported', 'NotSupportedError'));
        }
        return real.subtle.importKey(...args);
      },
      verify: async (...args: Parameters<SubtleCrypto['verify']>) => {
        calls.push(`verify:${name(args[0])}`);
        const ok = await real.subtle.verify(...args);
        return options.verifyAlwaysTrue ? true : ok;
      },
    } as Record<string, unknown>;
    for (const m of ['digest', 'sign', 'encrypt', 'decrypt', 'deriveBits', 'exportKey'] as const) {
      subtle[m] = (...args: unknown[]) => {
        calls.push(`${m}:${name(args[0])}`);
        return (real.subtle[m] as (...a: unknown[]) => unknown).apply(real.subtle, args);
      };
    }
    const fake = {
      getRandomValues: real.getRandomValues.bind(real),
      ...(options.noSubtle ? {} : { subtle }),
    };
    return { fake, calls };
  }

  async function freshProvider(fake: unknown): Promise<CryptoProvider> {
    vi.stubGlobal('crypto', fake);
    vi.resetModules();
    const { createWebCryptoProvider } = await import('../src/providers/webcrypto.js');
    return createWebCryptoProvider();
  }

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  const seed = new Uint8Array(32).fill(9);
  const msg = new Uint8Array([1, 2, 3]);

  async function expectSameAsNoble(p: CryptoProvider): Promise<void> {
    const noble = PROVIDERS[0]!;
    expect(noble.name).toBe('noble');
    const sig = await p.ed25519.sign(seed, msg);
    expect(toHex(sig)).toBe(toHex(await noble.ed25519.sign(seed, msg)));
    const pk = await p.ed25519.publicKey(seed);
    expect(toHex(pk)).toBe(toHex(await noble.ed25519.publicKey(seed)));
    expect(await p.ed25519.verify(pk, msg, sig)).toBe(true);
    const bad = sig.slice();
    bad[5]! ^= 1;
    expect(await p.ed25519.verify(pk, msg, bad)).toBe(false);
    const xpk = await p.x25519.publicKey(seed);
    expect(toHex(xpk)).toBe(toHex(await noble.x25519.publicKey(seed)));
    expect(toHex(await p.x25519.sharedSecret(seed, xpk))).toBe(
      toHex(await noble.x25519.sharedSecret(seed, xpk)),
    );
    expect(toHex(await p.sha256(msg))).toBe(toHex(await noble.sha256(msg)));
    expect(toHex(await p.aes256gcm.encrypt(seed, seed.subarray(0, 12), msg))).toBe(
      toHex(await noble.aes256gcm.encrypt(seed, seed.subarray(0, 12), msg)),
    );
  }

  it('uses the platform for X25519 and Ed25519 when it supports them', async () => {
    const { fake, calls } = fakeCrypto({});
    await expectSameAsNoble(await freshProvider(fake));
    expect(calls).toContain('deriveBits:X25519');
    expect(calls).toContain('sign:Ed25519');
    expect(calls).toContain('verify:Ed25519');
  });

  it('falls back to noble for curves the platform lacks, keeping the rest native', async () => {
    const { fake, calls } = fakeCrypto({ unsupported: ['X25519', 'Ed25519'] });
    await expectSameAsNoble(await freshProvider(fake));
    expect(calls.filter((c) => c.startsWith('sign:Ed25519') || c.startsWith('deriveBits:X25519'))).toEqual(
      [],
    );
    expect(calls).toContain('encrypt:AES-GCM');
    expect(calls).toContain('digest:SHA-256');
  });

  it('does not use a platform Ed25519 verify that accepts what ours rejects', async () => {
    const { fake, calls } = fakeCrypto({ verifyAlwaysTrue: true });
    await expectSameAsNoble(await freshProvider(fake));
    // Only the probes reached the platform's verify; signing stayed native.
    expect(calls.filter((c) => c === 'verify:Ed25519')).toHaveLength(2);
    expect(calls).toContain('sign:Ed25519');
  });

  it('runs entirely on noble where crypto.subtle is missing', async () => {
    const { fake, calls } = fakeCrypto({ noSubtle: true });
    await expectSameAsNoble(await freshProvider(fake));
    expect(calls).toEqual([]);
  });
});
