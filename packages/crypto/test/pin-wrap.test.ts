import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, concatBytes, fromHex, toHex, utf8 } from '../src/index.js';
import {
  changePin,
  decodeWrappedKey,
  encodeWrappedKey,
  normalizePin,
  PIN_MAX_BYTES,
  PIN_SCRYPT_CEILING,
  PIN_SCRYPT_DEFAULT,
  PIN_SCRYPT_FLOOR,
  PIN_WRAP_MAGIC,
  type PinWrapAlgorithm,
  unwrapDataKey,
  type WrappedKeyRecord,
  wrapDataKey,
} from '../src/pin-wrap.js';
import { createNodeProvider } from '../src/providers/node.js';
import { fixedRandom } from './fixed-random.js';
import { PROVIDERS } from './providers.js';

interface PositiveCase {
  name: string;
  algorithm: PinWrapAlgorithm;
  pin: string;
  pinNormalized: string;
  dataKey: string;
  scrypt: { N: number; r: number; p: number; dkLen: number };
  salt: string;
  scryptOutput: string;
  pinKey: string;
  macKey: string | null;
  nonce: string;
  header: string;
  aad: string | null;
  macInput: string | null;
  wrappedKey: string;
  tag: string;
  encodedRecord: string;
}
interface WrongPinCase {
  name: string;
  encodedRecord: string;
  pin: string;
  error: string;
}
interface DecodeErrorCase {
  name: string;
  encodedRecord: string;
  error: string;
  path: string;
}
interface VectorFile {
  constants: { magicAscii: string; scryptFloor: { N: number; r: number; p: number } };
  cases: PositiveCase[];
  wrongPinCases: WrongPinCase[];
  decodeErrorCases: DecodeErrorCase[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/pin-wrap.json', import.meta.url), 'utf8'),
) as VectorFile;
const FLOOR = PIN_SCRYPT_FLOOR;
const node = createNodeProvider();

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: 'no error', message: '' };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { code: err.code ?? String(e), message: err.message ?? '' };
  }
}

function byName<T extends { name: string }>(list: readonly T[], name: string): T {
  const found = list.find((c) => c.name === name);
  if (found === undefined) throw new Error(`vector case ${name} missing`);
  return found;
}

describe('pin-wrap vectors file', () => {
  it('uses the floor cost and the exported constants', () => {
    expect(vectors.constants.magicAscii).toBe(PIN_WRAP_MAGIC);
    expect(vectors.constants.scryptFloor).toEqual({ ...FLOOR });
    for (const c of vectors.cases) {
      expect({ N: c.scrypt.N, r: c.scrypt.r, p: c.scrypt.p }, `case ${c.name}`).toEqual({ ...FLOOR });
      expect(c.scrypt.dkLen, `case ${c.name}`).toBe(c.algorithm === 'aes-256-gcm' ? 32 : 64);
    }
    expect(new Set(vectors.cases.map((c) => c.algorithm))).toEqual(
      new Set(['aes-256-gcm', 'aes-256-cbc-hmac']),
    );
  });

  it('normalises, lays out and decodes every case as specified (no scrypt)', () => {
    for (const c of vectors.cases) {
      expect(toHex(normalizePin(c.pin)), `case ${c.name} pin`).toBe(c.pinNormalized);
      expect(c.pinKey, `case ${c.name} pinKey`).toBe(c.scryptOutput.slice(0, 64));
      if (c.algorithm === 'aes-256-cbc-hmac') {
        expect(c.macKey, `case ${c.name} macKey`).toBe(c.scryptOutput.slice(64, 128));
        expect(c.macInput, `case ${c.name} macInput`).toBe(c.header + c.nonce + c.wrappedKey);
      } else {
        expect(c.aad, `case ${c.name} aad`).toBe(c.header);
      }
      expect(c.encodedRecord, `case ${c.name} layout`).toBe(c.header + c.nonce + c.wrappedKey + c.tag);
      const record = decodeWrappedKey(fromHex(c.encodedRecord));
      expect(record.algorithm, `case ${c.name}`).toBe(c.algorithm);
      expect({ ...record.scrypt }, `case ${c.name}`).toEqual({ ...FLOOR });
      expect(toHex(record.salt), `case ${c.name} salt`).toBe(c.salt);
      expect(toHex(record.nonce), `case ${c.name} nonce`).toBe(c.nonce);
      expect(toHex(record.wrappedKey), `case ${c.name} wrappedKey`).toBe(c.wrappedKey);
      expect(toHex(record.tag), `case ${c.name} tag`).toBe(c.tag);
      expect(toHex(encodeWrappedKey(record)), `case ${c.name} re-encode`).toBe(c.encodedRecord);
    }
  });

  it('rejects every decode-error case with its code and path', () => {
    for (const c of vectors.decodeErrorCases) {
      let got: unknown;
      try {
        decodeWrappedKey(fromHex(c.encodedRecord));
      } catch (e) {
        got = e;
      }
      expect(got, `decode case ${c.name}`).toMatchObject({ code: c.error, path: c.path });
    }
  });

  it('has scrypt outputs whose first 32 bytes do not depend on dkLen (node provider)', async () => {
    // scrypt ends in PBKDF2-HMAC-SHA256 with one iteration, whose first output block is the same
    // for every dkLen: so the cbc-hmac pin_key equals scrypt(dkLen = 32), the sheet's pin_key.
    for (const c of vectors.cases) {
      const { N, r, p } = c.scrypt;
      const other = c.scrypt.dkLen === 32 ? 64 : 32;
      const out = await node.scrypt(fromHex(c.pinNormalized), fromHex(c.salt), {
        N,
        r,
        p,
        dkLen: c.scrypt.dkLen,
      });
      expect(toHex(out), `case ${c.name} scrypt output`).toBe(c.scryptOutput);
      const alt = await node.scrypt(fromHex(c.pinNormalized), fromHex(c.salt), { N, r, p, dkLen: other });
      expect(toHex(alt.subarray(0, 32)), `case ${c.name} first block, dkLen ${other}`).toBe(c.pinKey);
    }
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('pin-wrap under %s', (_name, provider) => {
  it('unwraps every vector case', async () => {
    for (const c of vectors.cases) {
      const key = await unwrapDataKey(provider, decodeWrappedKey(fromHex(c.encodedRecord)), c.pin);
      expect(toHex(key), `case ${c.name}`).toBe(c.dataKey);
    }
  });

  it('rejects every wrong-PIN case with ERR_WRONG_PIN', async () => {
    for (const c of vectors.wrongPinCases) {
      const { code } = await errorOf(
        unwrapDataKey(provider, decodeWrappedKey(fromHex(c.encodedRecord)), c.pin),
      );
      expect(code, `wrong-PIN case ${c.name}`).toBe(c.error);
    }
  });

  it('reproduces the encoded record of both algorithms (a round trip)', async () => {
    for (const name of ['gcm-digits', 'cbc-hmac-digits']) {
      const c = byName(vectors.cases, name);
      const seeded = provider.withRandom(
        fixedRandom([fromHex(c.dataKey), fromHex(c.salt), fromHex(c.nonce)]),
      );
      const { dataKey, record } = await wrapDataKey(seeded, {
        pin: c.pin,
        algorithm: c.algorithm,
        scrypt: FLOOR,
        saltLength: fromHex(c.salt).length as 16 | 32,
      });
      expect(toHex(dataKey), `case ${name} dataKey`).toBe(c.dataKey);
      expect(toHex(encodeWrappedKey(record)), `case ${name} record`).toBe(c.encodedRecord);
    }
  });
});

describe('pin-wrap behaviour (node provider)', () => {
  const provider = node;
  const floor = { scrypt: FLOOR };

  it('round-trips random PINs and data keys with both algorithms, and rejects a different PIN', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom<PinWrapAlgorithm>('aes-256-gcm', 'aes-256-cbc-hmac'),
        async (pin, other, key, algorithm) => {
          const { dataKey, record } = await wrapDataKey(provider, { pin, dataKey: key, algorithm, ...floor });
          expect(dataKey).toBe(key);
          const decoded = decodeWrappedKey(encodeWrappedKey(record));
          expect(toHex(await unwrapDataKey(provider, decoded, pin))).toBe(toHex(key));
          if (toHex(normalizePin(other)) !== toHex(normalizePin(pin))) {
            const { code } = await errorOf(unwrapDataKey(provider, decoded, other));
            expect(code, 'a different PIN').toBe('ERR_WRONG_PIN');
          }
        },
      ),
      { numRuns: 4 },
    );
  });

  it('generates a fresh random data key, salt and nonce when none is given', async () => {
    const a = await wrapDataKey(provider, { pin: '1234', ...floor });
    const b = await wrapDataKey(provider, { pin: '1234', ...floor });
    expect(a.dataKey.length).toBe(32);
    expect(toHex(a.dataKey)).not.toBe(toHex(b.dataKey));
    expect(toHex(a.record.salt)).not.toBe(toHex(b.record.salt));
    expect(a.record.salt.length).toBe(32);
    expect(a.record.algorithm).toBe('aes-256-gcm');
  });

  it('changes the PIN without changing the data key or the data', async () => {
    const { dataKey, record } = await wrapDataKey(provider, { pin: '1111', ...floor });
    const nonce = new Uint8Array(12);
    const stored = await provider.aes256gcm.encrypt(dataKey, nonce, utf8('local data'));
    const updated = await changePin(provider, record, '1111', '2222', {
      algorithm: 'aes-256-cbc-hmac',
      saltLength: 16,
    });
    expect(updated.algorithm).toBe('aes-256-cbc-hmac');
    expect(updated.salt.length).toBe(16);
    expect({ ...updated.scrypt }).toEqual({ ...FLOOR });
    const key = await unwrapDataKey(provider, updated, '2222');
    expect(toHex(key)).toBe(toHex(dataKey));
    expect(toHex(await provider.aes256gcm.decrypt(key, nonce, stored))).toBe(toHex(utf8('local data')));
    expect((await errorOf(unwrapDataKey(provider, updated, '1111'))).code, 'old PIN on new record').toBe(
      'ERR_WRONG_PIN',
    );
    expect(
      (await errorOf(changePin(provider, updated, '1111', '3333'))).code,
      'change with wrong old PIN',
    ).toBe('ERR_WRONG_PIN');
  });

  it('keeps the algorithm, cost and salt length on a PIN change unless told otherwise', async () => {
    const c = byName(vectors.cases, 'cbc-hmac-nfc-pin');
    const record = decodeWrappedKey(fromHex(c.encodedRecord));
    // The composed form of the PIN opens the record made from the decomposed form.
    const composed = c.pin.normalize('NFC');
    expect(composed).not.toBe(c.pin);
    const updated = await changePin(provider, record, composed, '9876');
    expect(updated.algorithm).toBe(record.algorithm);
    expect(updated.salt.length).toBe(16);
    expect(toHex(updated.salt)).not.toBe(toHex(record.salt));
    expect(toHex(updated.nonce)).not.toBe(toHex(record.nonce));
    expect(toHex(await unwrapDataKey(provider, updated, '9876'))).toBe(c.dataKey);
  });

  it('rejects bit flips anywhere in an encoded record with ERR_DECODE or ERR_WRONG_PIN', async () => {
    const records = vectors.cases
      .slice(0, 2)
      .map((c) => ({ name: c.name, pin: c.pin, bytes: fromHex(c.encodedRecord) }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...records), fc.nat(), async (rec, position) => {
        const bit = position % (rec.bytes.length * 8);
        const bytes = rec.bytes.slice();
        bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
        let decoded: WrappedKeyRecord;
        try {
          decoded = decodeWrappedKey(bytes);
        } catch (e) {
          expect((e as { code?: string }).code, `${rec.name} bit ${bit}`).toBe('ERR_DECODE');
          return;
        }
        const { code } = await errorOf(unwrapDataKey(provider, decoded, rec.pin));
        expect(code, `${rec.name} bit ${bit}`).toBe('ERR_WRONG_PIN');
      }),
      { numRuns: 12 },
    );
  });

  it('gives a corrupted record and a wrong PIN the same error and message', async () => {
    const wrong = byName(vectors.wrongPinCases, 'wrong-pin-gcm');
    const tampered = byName(vectors.wrongPinCases, 'tampered-salt-gcm');
    const a = await errorOf(
      unwrapDataKey(provider, decodeWrappedKey(fromHex(wrong.encodedRecord)), wrong.pin),
    );
    const b = await errorOf(
      unwrapDataKey(provider, decodeWrappedKey(fromHex(tampered.encodedRecord)), tampered.pin),
    );
    expect(a).toEqual(b);
    expect(a.code).toBe('ERR_WRONG_PIN');
  });

  it('exposes the documented cost constants', () => {
    expect({ ...PIN_SCRYPT_DEFAULT }).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    expect({ ...PIN_SCRYPT_FLOOR }).toEqual({ N: 2 ** 15, r: 8, p: 1 });
    expect(PIN_SCRYPT_CEILING).toMatchObject({ N: 2 ** 20, r: 32, p: 16, memoryBytes: 2 ** 30 });
    expect(PIN_SCRYPT_DEFAULT.N).toBeGreaterThanOrEqual(PIN_SCRYPT_FLOOR.N);
  });
});

describe('pin-wrap hostile inputs', () => {
  const provider = node;
  const good = decodeWrappedKey(fromHex(vectors.cases[0]!.encodedRecord));

  it('names the offending field with ERR_VALIDATION before doing any scrypt work', async () => {
    let scryptCalls = 0;
    const counting: CryptoProvider = {
      ...provider,
      scrypt: (...args) => {
        scryptCalls++;
        return provider.scrypt(...args);
      },
    };
    const wrap = (args: unknown, p: unknown = counting) =>
      wrapDataKey(p as CryptoProvider, args as Parameters<typeof wrapDataKey>[1]);
    const unwrap = (record: unknown, pin: unknown) =>
      unwrapDataKey(counting, record as WrappedKeyRecord, pin as string);
    const change = (record: unknown, oldPin: unknown, newPin: unknown, options?: unknown) =>
      changePin(
        counting,
        record as WrappedKeyRecord,
        oldPin as string,
        newPin as string,
        options as undefined,
      );
    const table: [string, () => Promise<unknown>, string][] = [
      ['null provider', () => wrap({ pin: '1' }, null), 'provider'],
      ['args null', () => wrap(null), 'args'],
      ['empty PIN', () => wrap({ pin: '' }), 'pin'],
      ['PIN a number', () => wrap({ pin: 1234 }), 'pin'],
      ['PIN with a lone surrogate', () => wrap({ pin: '12\uD800' }), 'pin'],
      ['PIN too long', () => wrap({ pin: 'x'.repeat(PIN_MAX_BYTES + 1) }), 'pin'],
      ['data key 31 bytes', () => wrap({ pin: '1', dataKey: new Uint8Array(31) }), 'dataKey'],
      ['data key a string', () => wrap({ pin: '1', dataKey: 'k'.repeat(32) }), 'dataKey'],
      ['unknown algorithm', () => wrap({ pin: '1', algorithm: 'aes-128-ecb' }), 'algorithm'],
      ['N below floor', () => wrap({ pin: '1', scrypt: { N: 2 ** 14, r: 8, p: 1 } }), 'scrypt.N'],
      ['N not a power of two', () => wrap({ pin: '1', scrypt: { N: 3 * 2 ** 15, r: 8, p: 1 } }), 'scrypt.N'],
      ['N above ceiling', () => wrap({ pin: '1', scrypt: { N: 2 ** 21, r: 8, p: 1 } }), 'scrypt.N'],
      ['r below floor', () => wrap({ pin: '1', scrypt: { N: 2 ** 15, r: 7, p: 1 } }), 'scrypt.r'],
      ['p zero', () => wrap({ pin: '1', scrypt: { N: 2 ** 15, r: 8, p: 0 } }), 'scrypt.p'],
      ['p above ceiling', () => wrap({ pin: '1', scrypt: { N: 2 ** 15, r: 8, p: 17 } }), 'scrypt.p'],
      ['memory above ceiling', () => wrap({ pin: '1', scrypt: { N: 2 ** 20, r: 16, p: 1 } }), 'scrypt'],
      ['scrypt not an object', () => wrap({ pin: '1', scrypt: 17 }), 'scrypt'],
      ['salt length 24', () => wrap({ pin: '1', saltLength: 24 }), 'saltLength'],
      ['unwrap: record null', () => unwrap(null, '1'), 'record'],
      ['unwrap: version 2', () => unwrap({ ...good, version: 2 }, '1'), 'record.version'],
      ['unwrap: unknown algorithm', () => unwrap({ ...good, algorithm: 'rot13' }, '1'), 'record.algorithm'],
      [
        'unwrap: N below floor',
        () => unwrap({ ...good, scrypt: { N: 2 ** 10, r: 8, p: 1 } }, '1'),
        'record.scrypt.N',
      ],
      [
        'unwrap: r above ceiling',
        () => unwrap({ ...good, scrypt: { N: 2 ** 15, r: 64, p: 1 } }, '1'),
        'record.scrypt.r',
      ],
      ['unwrap: salt 20 bytes', () => unwrap({ ...good, salt: new Uint8Array(20) }, '1'), 'record.salt'],
      [
        'unwrap: nonce 16 bytes for gcm',
        () => unwrap({ ...good, nonce: new Uint8Array(16) }, '1'),
        'record.nonce',
      ],
      [
        'unwrap: wrapped key 48 bytes for gcm',
        () => unwrap({ ...good, wrappedKey: new Uint8Array(48) }, '1'),
        'record.wrappedKey',
      ],
      ['unwrap: tag missing', () => unwrap({ ...good, tag: undefined }, '1'), 'record.tag'],
      ['unwrap: empty PIN', () => unwrap(good, ''), 'pin'],
      ['change: empty old PIN', () => change(good, '', '1'), 'oldPin'],
      ['change: empty new PIN', () => change(good, '1', ''), 'newPin'],
      ['change: bad option', () => change(good, '1', '2', { saltLength: 8 }), 'options.saltLength'],
      ['change: options not an object', () => change(good, '1', '2', 'fast'), 'options'],
      [
        'encode: bad record',
        async () => encodeWrappedKey({ ...good, salt: 'x' } as unknown as WrappedKeyRecord),
        'record.salt',
      ],
      ['decode: not bytes', async () => decodeWrappedKey('abc' as unknown as Uint8Array), 'bytes'],
    ];
    for (const [name, run, field] of table) {
      await expect(run(), name).rejects.toMatchObject({ code: 'ERR_VALIDATION', field });
    }
    expect(scryptCalls, 'no scrypt call for any hostile input').toBe(0);
  });

  it('decodes arbitrary bytes only to ERR_DECODE or a record within the bounds', () => {
    const magic = utf8(PIN_WRAP_MAGIC);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => concatBytes(magic, b)),
          fc
            .tuple(
              fc.constantFrom(1, 2),
              fc.integer({ min: 0, max: 255 }),
              fc.integer({ min: 0, max: 255 }),
              fc.integer({ min: 0, max: 255 }),
              fc.constantFrom(16, 32, 0, 255),
              fc.uint8Array({ minLength: 0, maxLength: 140 }),
            )
            .map(([alg, n, r, p, s, rest]) => concatBytes(magic, Uint8Array.of(alg, n, r, p, s), rest)),
        ),
        (bytes) => {
          let record: WrappedKeyRecord;
          try {
            record = decodeWrappedKey(bytes);
          } catch (e) {
            expect((e as { code?: string }).code).toBe('ERR_DECODE');
            return;
          }
          const { N, r, p } = record.scrypt;
          expect(N).toBeGreaterThanOrEqual(FLOOR.N);
          expect(N).toBeLessThanOrEqual(PIN_SCRYPT_CEILING.N);
          expect(r).toBeGreaterThanOrEqual(FLOOR.r);
          expect(p).toBeLessThanOrEqual(PIN_SCRYPT_CEILING.p);
          expect(128 * N * r).toBeLessThanOrEqual(PIN_SCRYPT_CEILING.memoryBytes);
          expect(toHex(encodeWrappedKey(record))).toBe(toHex(bytes));
        },
      ),
      { numRuns: 500 },
    );
  });
});
