/**
 * Test vectors for PIN key wrapping (`test-vectors/pin-wrap.json`, format in
 * `test-vectors/README.md`).
 *
 * Every case uses the scrypt **floor** cost (N = 2^15, r = 8, p = 1) so that generating and
 * checking the vectors stays fast; the production default is N = 2^17. Each case draws its data
 * key, salt and nonce (in that order) from the noble provider with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/pin-wrap/" + case name))`. Every
 * intermediate is recomputed from the primitives with the node provider (a second implementation)
 * and compared with the record the library made.
 */
import {
  concatBytes,
  createNobleProvider,
  decodeWrappedKey,
  encodeWrappedKey,
  equalBytes,
  normalizePin,
  PIN_MAX_BYTES,
  PIN_SCRYPT_CEILING,
  PIN_SCRYPT_DEFAULT,
  PIN_SCRYPT_FLOOR,
  PIN_WRAP_ALGORITHM_IDS,
  PIN_WRAP_MAGIC,
  type PinWrapAlgorithm,
  toHex,
  unwrapDataKey,
  utf8,
  type WrappedKeyRecord,
  wrapDataKey,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const PIN_WRAP_SEED_PREFIX = 'cloister/test-vectors/pin-wrap/';

const plain = createNobleProvider();
/** Recomputes intermediates and runs the self-checks with a second implementation (and faster). */
const check = createNodeProvider();

function fail(what: string): never {
  throw new Error(`pin-wrap vector self-check failed: ${what}`);
}

interface CaseSpec {
  readonly name: string;
  readonly description: string;
  readonly algorithm: PinWrapAlgorithm;
  readonly pin: string;
  readonly saltLength: 16 | 32;
}

const CASES: readonly CaseSpec[] = [
  {
    name: 'gcm-digits',
    description: 'default algorithm, six-digit PIN, 32-byte salt',
    algorithm: 'aes-256-gcm',
    pin: '482916',
    saltLength: 32,
  },
  {
    name: 'cbc-hmac-digits',
    description: "the sheet's AES-256-CBC wrap with an HMAC-SHA256 tag, six-digit PIN, 32-byte salt",
    algorithm: 'aes-256-cbc-hmac',
    pin: '482916',
    saltLength: 32,
  },
  {
    name: 'gcm-nfc-pin',
    description: 'PIN given decomposed (A + U+0308, Cyrillic); NFC composes it before UTF-8; 16-byte salt',
    algorithm: 'aes-256-gcm',
    pin: 'A\u0308pfel-Пароль-7',
    saltLength: 16,
  },
  {
    name: 'cbc-hmac-nfc-pin',
    description: 'as gcm-nfc-pin with aes-256-cbc-hmac',
    algorithm: 'aes-256-cbc-hmac',
    pin: 'A\u0308pfel-Пароль-7',
    saltLength: 16,
  },
];

function headerOf(record: WrappedKeyRecord): Uint8Array {
  // magic (20) | algorithm | log2 N | r | p | salt length | salt
  return encodeWrappedKey(record).slice(0, PIN_WRAP_MAGIC.length + 5 + record.salt.length);
}

async function positiveCase(
  spec: CaseSpec,
): Promise<{ json: Record<string, unknown>; record: WrappedKeyRecord }> {
  const provider = plain.withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(PIN_WRAP_SEED_PREFIX + spec.name)),
  );
  const { dataKey, record } = await wrapDataKey(provider, {
    pin: spec.pin,
    algorithm: spec.algorithm,
    scrypt: PIN_SCRYPT_FLOOR,
    saltLength: spec.saltLength,
  });
  const pinBytes = normalizePin(spec.pin);
  const header = headerOf(record);
  const isGcm = spec.algorithm === 'aes-256-gcm';
  const dkLen = isGcm ? 32 : 64;
  const { N, r, p } = PIN_SCRYPT_FLOOR;
  const scryptOutput = await check.scrypt(pinBytes, record.salt, { N, r, p, dkLen });
  const pinKey = scryptOutput.slice(0, 32);
  const macKey = isGcm ? undefined : scryptOutput.slice(32, 64);
  let macInput: Uint8Array | undefined;
  if (isGcm) {
    const sealed = await check.aes256gcm.encrypt(pinKey, record.nonce, dataKey, header);
    if (!equalBytes(sealed, concatBytes(record.wrappedKey, record.tag))) fail(`${spec.name}: GCM wrap`);
  } else {
    const ct = await check.aes256cbc.encrypt(pinKey, record.nonce, dataKey);
    macInput = concatBytes(header, record.nonce, ct);
    const tag = await check.hmacSha256(macKey ?? fail('mac key'), macInput);
    if (!equalBytes(ct, record.wrappedKey) || !equalBytes(tag, record.tag))
      fail(`${spec.name}: CBC-HMAC wrap`);
  }
  const encoded = encodeWrappedKey(record);
  if (!equalBytes(encodeWrappedKey(decodeWrappedKey(encoded)), encoded)) fail(`${spec.name}: decode(encode)`);
  if (!equalBytes(await unwrapDataKey(check, record, spec.pin), dataKey)) fail(`${spec.name}: unwrap`);
  return {
    record,
    json: {
      name: spec.name,
      description: spec.description,
      seed: PIN_WRAP_SEED_PREFIX + spec.name,
      algorithm: spec.algorithm,
      pin: spec.pin,
      pinNormalized: toHex(pinBytes),
      dataKey: toHex(dataKey),
      scrypt: { N, r, p, dkLen },
      salt: toHex(record.salt),
      scryptOutput: toHex(scryptOutput),
      pinKey: toHex(pinKey),
      macKey: macKey === undefined ? null : toHex(macKey),
      nonce: toHex(record.nonce),
      header: toHex(header),
      aad: isGcm ? toHex(header) : null,
      macInput: macInput === undefined ? null : toHex(macInput),
      wrappedKey: toHex(record.wrappedKey),
      tag: toHex(record.tag),
      encodedRecord: toHex(encoded),
    },
  };
}

async function expectWrongPin(name: string, encoded: Uint8Array, pin: string): Promise<void> {
  const ok = await unwrapDataKey(check, decodeWrappedKey(encoded), pin).then(
    () => false,
    (e: unknown) => (e as { code?: string }).code === 'ERR_WRONG_PIN',
  );
  if (!ok) fail(`${name}: rejected with ERR_WRONG_PIN`);
}

function edit(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const out = bytes.slice();
  out[offset] = value;
  return out;
}

const M = PIN_WRAP_MAGIC.length; // offset of the algorithm byte

export default {
  file: 'pin-wrap.json',
  async generate(): Promise<unknown> {
    const made: { json: Record<string, unknown>; record: WrappedKeyRecord }[] = [];
    for (const spec of CASES) made.push(await positiveCase(spec));
    const gcm = encodeWrappedKey(made[0]?.record ?? fail('case 0'));
    const cbc = encodeWrappedKey(made[1]?.record ?? fail('case 1'));

    const wrongPinCases: Record<string, unknown>[] = [];
    const wrong: [string, string, Uint8Array, string][] = [
      ['wrong-pin-gcm', 'record of gcm-digits, PIN off by one digit', gcm, '482917'],
      ['wrong-pin-cbc-hmac', 'record of cbc-hmac-digits, PIN off by one digit', cbc, '482917'],
      [
        'tampered-salt-gcm',
        'record of gcm-digits with one salt bit flipped, right PIN',
        edit(gcm, M + 5, gcm[M + 5]! ^ 1),
        '482916',
      ],
      [
        'tampered-cost-cbc-hmac',
        'record of cbc-hmac-digits with p = 2 instead of 1, right PIN',
        edit(cbc, M + 3, 2),
        '482916',
      ],
      [
        'tampered-tag-cbc-hmac',
        'record of cbc-hmac-digits with the last tag bit flipped, right PIN',
        edit(cbc, cbc.length - 1, cbc[cbc.length - 1]! ^ 1),
        '482916',
      ],
    ];
    for (const [name, description, encoded, pin] of wrong) {
      await expectWrongPin(name, encoded, pin);
      wrongPinCases.push({ name, description, encodedRecord: toHex(encoded), pin, error: 'ERR_WRONG_PIN' });
    }

    const decodeErrorCases: Record<string, unknown>[] = [];
    const bad: [string, Uint8Array, string][] = [
      ['empty', new Uint8Array(0), 'record.magic'],
      ['bad-magic', edit(gcm, 0, 0x43), 'record.magic'],
      ['unsupported-version', edit(gcm, M - 1, 0x32), 'record.version'],
      ['unknown-algorithm', edit(gcm, M, 0x03), 'record.algorithm'],
      ['n-below-floor', edit(gcm, M + 1, 14), 'record.scrypt.N'],
      ['n-above-ceiling', edit(gcm, M + 1, 21), 'record.scrypt.N'],
      ['r-below-floor', edit(gcm, M + 2, 7), 'record.scrypt.r'],
      ['r-above-ceiling', edit(gcm, M + 2, 33), 'record.scrypt.r'],
      ['p-zero', edit(gcm, M + 3, 0), 'record.scrypt.p'],
      ['p-above-ceiling', edit(gcm, M + 3, 17), 'record.scrypt.p'],
      ['memory-above-ceiling', edit(edit(gcm, M + 1, 20), M + 2, 16), 'record.scrypt'],
      ['bad-salt-length', edit(gcm, M + 4, 24), 'record.salt'],
      ['truncated-tag', gcm.slice(0, gcm.length - 1), 'record.tag'],
      ['trailing-byte', concatBytes(gcm, Uint8Array.of(0)), 'record'],
    ];
    for (const [name, encoded, path] of bad) {
      let got: string | undefined;
      try {
        decodeWrappedKey(encoded);
      } catch (e) {
        const err = e as { code?: string; path?: string };
        if (err.code === 'ERR_DECODE') got = err.path;
      }
      if (got !== path) fail(`${name}: DecodeError at ${path}, got ${String(got)}`);
      decodeErrorCases.push({ name, encodedRecord: toHex(encoded), error: 'ERR_DECODE', path });
    }

    return {
      title: 'Cloister PIN key wrapping test vectors',
      source: 'generated by scripts/vectors/pin-wrap.ts; do not edit by hand',
      spec: 'spec/pin-wrap.md',
      randomness: `each case draws data key, salt, nonce from INSECURE_seededRandomForTestsOnly(ASCII(seed)) with the noble provider; "seed" names the string (prefix "${PIN_WRAP_SEED_PREFIX}")`,
      encoding: 'byte strings are lower-case hex; PINs are JSON strings',
      note: 'all cases use the scrypt floor cost (N = 2^15, r = 8, p = 1) to keep generation and tests fast; the default for new records is N = 2^17, r = 8, p = 1',
      constants: {
        magicAscii: PIN_WRAP_MAGIC,
        magic: toHex(utf8(PIN_WRAP_MAGIC)),
        algorithmIds: PIN_WRAP_ALGORITHM_IDS,
        scryptDefault: PIN_SCRYPT_DEFAULT,
        scryptFloor: PIN_SCRYPT_FLOOR,
        scryptCeiling: PIN_SCRYPT_CEILING,
        pinMaxBytes: PIN_MAX_BYTES,
      },
      cases: made.map((m) => m.json),
      wrongPinCases,
      decodeErrorCases,
    };
  },
};
