import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, concatBytes, fromHex, type KeyPair, toHex, utf8, wipe } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';
import {
  openStaticV1Channel,
  STATIC_V1_DEFAULTS,
  STATIC_V1_INFO_LABEL,
  STATIC_V1_MAX_PLAINTEXT,
  STATIC_V1_MIN_MESSAGE,
  STATIC_V1_OVERHEAD,
  STATIC_V1_VERSION,
  type StaticV1Params,
  staticV1Decrypt,
  staticV1DeriveKeys,
  staticV1Encrypt,
  staticV1EncryptForRecipients,
  staticV1MessageLength,
} from '../src/suites/static-v1.js';
import { errorCode as codeOf } from './error-code.js';
import { fixedRandom } from './fixed-random.js';
import { PROVIDERS } from './providers.js';

interface PairHex {
  privateKey: string;
  publicKey: string;
}
interface ParamsHex {
  hkdfSalt: string;
  hkdfInfoLabel: string;
  bindPublicKeys: boolean;
}
interface Intermediates {
  sharedSecret: string;
  hkdfSalt: string;
  hkdfInfo: string;
  expandedKey: string;
  encKey: string;
  macKey: string;
  iv: string;
  ciphertext: string;
  macInput: string;
  mac: string;
  message: string;
}
interface PositiveCase extends Intermediates {
  name: string;
  params: ParamsHex;
  sender: PairHex;
  recipient: PairHex;
  plaintext: string;
}
interface MultiCase {
  name: string;
  params: ParamsHex;
  sender: PairHex;
  plaintext: string;
  recipients: (Intermediates & { recipient: PairHex })[];
}
interface NegativeCase {
  name: string;
  params: ParamsHex;
  recipient: PairHex;
  senderPublicKey: string;
  message: string;
  error: string;
}
interface VectorFile {
  constants: { version: number; overhead: number; hkdfInfoLabelAscii: string };
  cases: PositiveCase[];
  multiRecipientCases: MultiCase[];
  negativeCases: NegativeCase[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/static-v1.json', import.meta.url), 'utf8'),
) as VectorFile;

const pair = (p: PairHex): KeyPair => ({
  privateKey: fromHex(p.privateKey),
  publicKey: fromHex(p.publicKey),
});
const params = (p: ParamsHex): StaticV1Params => ({
  hkdfSalt: fromHex(p.hkdfSalt),
  hkdfInfoLabel: fromHex(p.hkdfInfoLabel),
  bindPublicKeys: p.bindPublicKeys,
});

// Low-order points of Curve25519 (and non-canonical encodings of them) as X25519 public keys.
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

describe('static-v1 vectors file', () => {
  it('matches the exported constants', () => {
    expect(vectors.constants.version).toBe(STATIC_V1_VERSION);
    expect(vectors.constants.overhead).toBe(STATIC_V1_OVERHEAD);
    expect(vectors.constants.hkdfInfoLabelAscii).toBe(STATIC_V1_INFO_LABEL);
    expect(vectors.cases.map((c) => fromHex(c.plaintext).length)).toEqual([0, 1, 15, 16, 17, 1000, 17, 32]);
    expect(vectors.negativeCases.length).toBeGreaterThanOrEqual(10);
  });

  it('has message = version | iv | ciphertext | mac and macInput = version | iv | ciphertext', () => {
    for (const c of vectors.cases) {
      expect(c.macInput, `case ${c.name}`).toBe(`0${STATIC_V1_VERSION}${c.iv}${c.ciphertext}`);
      expect(c.message, `case ${c.name}`).toBe(c.macInput + c.mac);
      expect(c.expandedKey, `case ${c.name}`).toBe(c.encKey + c.macKey);
      const expectedInfo = c.params.bindPublicKeys
        ? c.params.hkdfInfoLabel + c.sender.publicKey + c.recipient.publicKey
        : c.params.hkdfInfoLabel;
      expect(c.hkdfInfo, `case ${c.name}`).toBe(expectedInfo);
      expect(fromHex(c.message).length, `case ${c.name}`).toBe(
        staticV1MessageLength(fromHex(c.plaintext).length),
      );
    }
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('static-v1 under %s', (_name, provider) => {
  it('decrypts every vector case', async () => {
    for (const c of vectors.cases) {
      const out = await staticV1Decrypt(provider, {
        recipient: pair(c.recipient),
        senderPublicKey: fromHex(c.sender.publicKey),
        message: fromHex(c.message),
        params: params(c.params),
      });
      expect(toHex(out), `case ${c.name}`).toBe(c.plaintext);
    }
  });

  it('derives every intermediate of every vector case, on both sides', async () => {
    for (const c of vectors.cases) {
      const sender = await staticV1DeriveKeys(provider, {
        own: pair(c.sender),
        peerPublicKey: fromHex(c.recipient.publicKey),
        role: 'sender',
        params: params(c.params),
      });
      const recipient = await staticV1DeriveKeys(provider, {
        own: pair(c.recipient),
        peerPublicKey: fromHex(c.sender.publicKey),
        role: 'recipient',
        params: params(c.params),
      });
      for (const keys of [sender, recipient]) {
        expect(toHex(keys.shared), `case ${c.name} shared`).toBe(c.sharedSecret);
        expect(toHex(keys.salt), `case ${c.name} salt`).toBe(c.hkdfSalt);
        expect(toHex(keys.info), `case ${c.name} info`).toBe(c.hkdfInfo);
        expect(toHex(keys.expanded), `case ${c.name} expanded`).toBe(c.expandedKey);
        expect(toHex(keys.encKey), `case ${c.name} encKey`).toBe(c.encKey);
        expect(toHex(keys.macKey), `case ${c.name} macKey`).toBe(c.macKey);
        wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
      }
    }
  });

  it('channels decrypt every vector case and reproduce its bytes', async () => {
    for (const c of vectors.cases) {
      const into = await openStaticV1Channel(provider, {
        own: pair(c.recipient),
        peerPublicKey: fromHex(c.sender.publicKey),
        params: params(c.params),
      });
      expect(toHex(await into.decrypt(fromHex(c.message))), `case ${c.name}`).toBe(c.plaintext);
      into.close();
      const out = await openStaticV1Channel(provider.withRandom(fixedRandom([fromHex(c.iv)])), {
        own: pair(c.sender),
        peerPublicKey: fromHex(c.recipient.publicKey),
        params: params(c.params),
      });
      expect(toHex(await out.encrypt(fromHex(c.plaintext))), `case ${c.name}`).toBe(c.message);
      out.close();
    }
  });

  it('channel messages interoperate with the one-shot API and fail closed', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    const aliceToBob = await openStaticV1Channel(provider, { own: alice, peerPublicKey: bob.publicKey });
    const bobFromAlice = await openStaticV1Channel(provider, { own: bob, peerPublicKey: alice.publicKey });
    const plaintext = utf8('channel');
    const message = await aliceToBob.encrypt(plaintext);
    expect(
      toHex(await staticV1Decrypt(provider, { recipient: bob, senderPublicKey: alice.publicKey, message })),
    ).toBe(toHex(plaintext));
    const reply = await staticV1Encrypt(provider, {
      sender: bob,
      recipientPublicKey: alice.publicKey,
      plaintext,
    });
    expect(toHex(await aliceToBob.decrypt(reply))).toBe(toHex(plaintext));
    // A channel's own messages are not accepted back (the directions have different keys).
    await expect(aliceToBob.decrypt(message)).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    const flipped = message.slice();
    flipped[flipped.length - 1]! ^= 0x80;
    await expect(bobFromAlice.decrypt(flipped)).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    aliceToBob.close();
    await expect(aliceToBob.encrypt(plaintext)).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await expect(aliceToBob.decrypt(reply)).rejects.toMatchObject({ code: 'ERR_USAGE' });
    bobFromAlice.close();
  });

  it('reproduces every vector message byte for byte given the vector IV', async () => {
    for (const c of vectors.cases) {
      const message = await staticV1Encrypt(provider.withRandom(fixedRandom([fromHex(c.iv)])), {
        sender: pair(c.sender),
        recipientPublicKey: fromHex(c.recipient.publicKey),
        plaintext: fromHex(c.plaintext),
        params: params(c.params),
      });
      expect(toHex(message), `case ${c.name}`).toBe(c.message);
    }
  });

  it('reproduces and decrypts the multi-recipient vectors', async () => {
    for (const c of vectors.multiRecipientCases) {
      const out = await staticV1EncryptForRecipients(
        provider.withRandom(fixedRandom(c.recipients.map((r) => fromHex(r.iv)))),
        {
          sender: pair(c.sender),
          recipientPublicKeys: c.recipients.map((r) => fromHex(r.recipient.publicKey)),
          plaintext: fromHex(c.plaintext),
          params: params(c.params),
        },
      );
      expect(out.length, `case ${c.name}`).toBe(c.recipients.length);
      for (const [i, r] of c.recipients.entries()) {
        expect(toHex(out[i]!.recipientPublicKey), `case ${c.name}[${i}] key`).toBe(r.recipient.publicKey);
        expect(toHex(out[i]!.message), `case ${c.name}[${i}] message`).toBe(r.message);
        const opened = await staticV1Decrypt(provider, {
          recipient: pair(r.recipient),
          senderPublicKey: fromHex(c.sender.publicKey),
          message: fromHex(r.message),
        });
        expect(toHex(opened), `case ${c.name}[${i}] plaintext`).toBe(c.plaintext);
      }
    }
  });

  it('rejects every negative vector case with its error code', async () => {
    for (const c of vectors.negativeCases) {
      const code = await codeOf(
        staticV1Decrypt(provider, {
          recipient: pair(c.recipient),
          senderPublicKey: fromHex(c.senderPublicKey),
          message: fromHex(c.message),
          params: params(c.params),
        }),
      );
      expect(code, `negative case ${c.name}`).toBe(c.error);
    }
  });

  it('round-trips random plaintexts of 0..4096 bytes', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (plaintext) => {
        const message = await staticV1Encrypt(provider, {
          sender: alice,
          recipientPublicKey: bob.publicKey,
          plaintext,
        });
        expect(message.length).toBe(staticV1MessageLength(plaintext.length));
        const out = await staticV1Decrypt(provider, {
          recipient: bob,
          senderPublicKey: alice.publicKey,
          message,
        });
        expect(toHex(out)).toBe(toHex(plaintext));
      }),
      { numRuns: 25 },
    );
  });

  it('rejects every single-bit flip of a minimal message (all 520 bits)', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    const message = await staticV1Encrypt(provider, {
      sender: alice,
      recipientPublicKey: bob.publicKey,
      plaintext: new Uint8Array(0),
    });
    expect(message.length).toBe(STATIC_V1_MIN_MESSAGE);
    for (let bit = 0; bit < message.length * 8; bit++) {
      const flipped = message.slice();
      flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
      const code = await codeOf(
        staticV1Decrypt(provider, { recipient: bob, senderPublicKey: alice.publicKey, message: flipped }),
      );
      expect(code, `bit ${bit}`).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('rejects a single-bit flip anywhere in a random message', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(), async (plaintext, position) => {
        const message = await staticV1Encrypt(provider, {
          sender: alice,
          recipientPublicKey: bob.publicKey,
          plaintext,
        });
        const bit = position % (message.length * 8);
        message[bit >> 3] = message[bit >> 3]! ^ (1 << (bit & 7));
        const code = await codeOf(
          staticV1Decrypt(provider, { recipient: bob, senderPublicKey: alice.publicKey, message }),
        );
        expect(code, `bit ${bit} of ${message.length} bytes`).toBe('ERR_DECRYPTION_FAILED');
      }),
      { numRuns: 25 },
    );
  });

  it('rejects a message decrypted with the wrong recipient or sender key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (plaintext) => {
        const alice = await provider.x25519.generateKeyPair();
        const bob = await provider.x25519.generateKeyPair();
        const eve = await provider.x25519.generateKeyPair();
        const message = await staticV1Encrypt(provider, {
          sender: alice,
          recipientPublicKey: bob.publicKey,
          plaintext,
        });
        const asEve = await codeOf(
          staticV1Decrypt(provider, { recipient: eve, senderPublicKey: alice.publicKey, message }),
        );
        expect(asEve, 'wrong recipient').toBe('ERR_DECRYPTION_FAILED');
        const fromEve = await codeOf(
          staticV1Decrypt(provider, { recipient: bob, senderPublicKey: eve.publicKey, message }),
        );
        expect(fromEve, 'wrong sender').toBe('ERR_DECRYPTION_FAILED');
      }),
      { numRuns: 10 },
    );
  });

  it('treats low-order keys as a decryption failure on receipt and an invalid key on send', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    const message = await staticV1Encrypt(provider, {
      sender: alice,
      recipientPublicKey: bob.publicKey,
      plaintext: utf8('x'),
    });
    for (const hex of LOW_ORDER_POINTS) {
      const point = fromHex(hex);
      const onDecrypt = await codeOf(
        staticV1Decrypt(provider, { recipient: bob, senderPublicKey: point, message }),
      );
      expect(onDecrypt, `decrypt, sender key ${hex}`).toBe('ERR_DECRYPTION_FAILED');
      const onEncrypt = await codeOf(
        staticV1Encrypt(provider, { sender: alice, recipientPublicKey: point, plaintext: utf8('x') }),
      );
      expect(onEncrypt, `encrypt, recipient key ${hex}`).toBe('ERR_INVALID_KEY');
    }
  });
});

describe('static-v1 construction details (node provider)', () => {
  const provider = createNodeProvider();

  it('derives different keys per direction, and equal ones with binding off', async () => {
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const ab = await staticV1DeriveKeys(provider, { own: a, peerPublicKey: b.publicKey, role: 'sender' });
    const ba = await staticV1DeriveKeys(provider, { own: b, peerPublicKey: a.publicKey, role: 'sender' });
    expect(toHex(ab.shared)).toBe(toHex(ba.shared));
    expect(toHex(ab.encKey)).not.toBe(toHex(ba.encKey));
    expect(toHex(ab.macKey)).not.toBe(toHex(ba.macKey));
    const unbound = { bindPublicKeys: false };
    const abU = await staticV1DeriveKeys(provider, {
      own: a,
      peerPublicKey: b.publicKey,
      role: 'sender',
      params: unbound,
    });
    const baU = await staticV1DeriveKeys(provider, {
      own: b,
      peerPublicKey: a.publicKey,
      role: 'sender',
      params: unbound,
    });
    expect(toHex(abU.expanded)).toBe(toHex(baU.expanded));
    expect(toHex(abU.info)).toBe(toHex(utf8(STATIC_V1_INFO_LABEL)));
  });

  it('rejects a reflected message with bound keys and (the documented hazard) accepts it unbound', async () => {
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const plaintext = utf8('reflect me');
    const bound = await staticV1Encrypt(provider, { sender: a, recipientPublicKey: b.publicKey, plaintext });
    expect(
      await codeOf(staticV1Decrypt(provider, { recipient: a, senderPublicKey: b.publicKey, message: bound })),
    ).toBe('ERR_DECRYPTION_FAILED');
    const legacy = { ...STATIC_V1_DEFAULTS, bindPublicKeys: false };
    const unbound = await staticV1Encrypt(provider, {
      sender: a,
      recipientPublicKey: b.publicKey,
      plaintext,
      params: legacy,
    });
    const reflected = await staticV1Decrypt(provider, {
      recipient: a,
      senderPublicKey: b.publicKey,
      message: unbound,
      params: legacy,
    });
    expect(toHex(reflected)).toBe(toHex(plaintext));
  });

  it('uses the salt and info label as parameters (both sides must agree)', async () => {
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const custom = { hkdfSalt: utf8('salt'), hkdfInfoLabel: utf8('legacy-info'), bindPublicKeys: false };
    const message = await staticV1Encrypt(provider, {
      sender: a,
      recipientPublicKey: b.publicKey,
      plaintext: utf8('p'),
      params: custom,
    });
    const out = await staticV1Decrypt(provider, {
      recipient: b,
      senderPublicKey: a.publicKey,
      message,
      params: custom,
    });
    expect(toHex(out)).toBe(toHex(utf8('p')));
    for (const other of [
      { ...custom, hkdfSalt: new Uint8Array(0) },
      { ...custom, hkdfInfoLabel: utf8('legacy-infO') },
      undefined,
    ]) {
      const code = await codeOf(
        staticV1Decrypt(provider, {
          recipient: b,
          senderPublicKey: a.publicKey,
          message,
          ...(other ? { params: other } : {}),
        }),
      );
      expect(code, JSON.stringify(other ?? 'defaults')).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('draws a fresh IV per message and per recipient', async () => {
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const plaintext = utf8('same');
    const m1 = await staticV1Encrypt(provider, { sender: a, recipientPublicKey: b.publicKey, plaintext });
    const m2 = await staticV1Encrypt(provider, { sender: a, recipientPublicKey: b.publicKey, plaintext });
    expect(toHex(m1.subarray(1, 17))).not.toBe(toHex(m2.subarray(1, 17)));
    const many = await staticV1EncryptForRecipients(provider, {
      sender: a,
      recipientPublicKeys: [b.publicKey, b.publicKey],
      plaintext,
    });
    expect(toHex(many[0]!.message.subarray(1, 17))).not.toBe(toHex(many[1]!.message.subarray(1, 17)));
  });

  it('checks the MAC before it decrypts anything', async () => {
    let decryptCalls = 0;
    const spy: CryptoProvider = {
      ...provider,
      aes256cbc: {
        encrypt: (k, iv, p) => provider.aes256cbc.encrypt(k, iv, p),
        decrypt: (k, iv, c) => {
          decryptCalls++;
          return provider.aes256cbc.decrypt(k, iv, c);
        },
      },
    };
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const message = await staticV1Encrypt(provider, {
      sender: a,
      recipientPublicKey: b.publicKey,
      plaintext: utf8('mac first'),
    });
    for (const index of [1, 17, message.length - 1]) {
      const bad = message.slice();
      bad[index] = bad[index]! ^ 0x80;
      expect(
        await codeOf(staticV1Decrypt(spy, { recipient: b, senderPublicKey: a.publicKey, message: bad })),
        `byte ${index}`,
      ).toBe('ERR_DECRYPTION_FAILED');
    }
    expect(decryptCalls).toBe(0);
    await staticV1Decrypt(spy, { recipient: b, senderPublicKey: a.publicKey, message });
    expect(decryptCalls).toBe(1);
  });

  it('returns intermediates as independent copies, and the exported defaults cannot change the suite', async () => {
    const a = await provider.x25519.generateKeyPair();
    const b = await provider.x25519.generateKeyPair();
    const keys = await staticV1DeriveKeys(provider, { own: a, peerPublicKey: b.publicKey, role: 'sender' });
    const expanded = toHex(keys.expanded);
    wipe(keys.encKey, keys.macKey);
    expect(toHex(keys.expanded)).toBe(expanded);
    expect(toHex(keys.expanded)).not.toBe(toHex(new Uint8Array(64)));

    const message = await staticV1Encrypt(provider, {
      sender: a,
      recipientPublicKey: b.publicKey,
      plaintext: utf8('d'),
    });
    const label = STATIC_V1_DEFAULTS.hkdfInfoLabel;
    const saved = label[0]!;
    label[0] = saved ^ 0xff;
    try {
      const out = await staticV1Decrypt(provider, { recipient: b, senderPublicKey: a.publicKey, message });
      expect(toHex(out)).toBe(toHex(utf8('d')));
    } finally {
      label[0] = saved;
    }
    expect(Object.isFrozen(STATIC_V1_DEFAULTS)).toBe(true);
  });

  it('computes message lengths and enforces the plaintext limit', async () => {
    expect(staticV1MessageLength(0)).toBe(65);
    expect(staticV1MessageLength(15)).toBe(65);
    expect(staticV1MessageLength(16)).toBe(81);
    expect(staticV1MessageLength(STATIC_V1_MAX_PLAINTEXT)).toBe(
      STATIC_V1_OVERHEAD + STATIC_V1_MAX_PLAINTEXT + 16,
    );
    const a = await provider.x25519.generateKeyPair();
    const big = new Uint8Array(STATIC_V1_MAX_PLAINTEXT + 1);
    await expect(
      staticV1Encrypt(provider, { sender: a, recipientPublicKey: a.publicKey, plaintext: big }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'plaintext' });
    const tooLong = concatBytes(
      Uint8Array.of(STATIC_V1_VERSION),
      new Uint8Array(STATIC_V1_MAX_PLAINTEXT + 32 + 16 + 32),
    );
    expect(
      await codeOf(
        staticV1Decrypt(provider, { recipient: a, senderPublicKey: a.publicKey, message: tooLong }),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
  });
});

describe('static-v1 hostile inputs', () => {
  const provider = createNodeProvider();
  const k = (seed: number): Uint8Array => new Uint8Array(32).fill(seed);

  it('names the offending field with ERR_VALIDATION', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    const mismatched = { privateKey: alice.privateKey, publicKey: bob.publicKey };
    const okMessage = await staticV1Encrypt(provider, {
      sender: alice,
      recipientPublicKey: bob.publicKey,
      plaintext: utf8('m'),
    });
    const enc = (args: unknown, p: unknown = provider) =>
      staticV1Encrypt(p as CryptoProvider, args as Parameters<typeof staticV1Encrypt>[1]);
    const dec = (args: unknown) => staticV1Decrypt(provider, args as Parameters<typeof staticV1Decrypt>[1]);
    const many = (args: unknown) =>
      staticV1EncryptForRecipients(provider, args as Parameters<typeof staticV1EncryptForRecipients>[1]);
    const derive = (args: unknown) =>
      staticV1DeriveKeys(provider, args as Parameters<typeof staticV1DeriveKeys>[1]);
    const base = { sender: alice, recipientPublicKey: bob.publicKey, plaintext: utf8('m') };
    const dbase = { recipient: bob, senderPublicKey: alice.publicKey, message: okMessage };
    const table: [string, () => Promise<unknown>, string][] = [
      ['null provider', () => enc(base, null), 'provider'],
      ['args not an object', () => enc(42), 'args'],
      ['sender missing', () => enc({ ...base, sender: undefined }), 'sender'],
      [
        'sender private key short',
        () => enc({ ...base, sender: { ...alice, privateKey: k(1).subarray(1) } }),
        'sender.privateKey',
      ],
      [
        'sender public key a string',
        () => enc({ ...base, sender: { ...alice, publicKey: 'ab' } }),
        'sender.publicKey',
      ],
      ['sender key pair mismatched', () => enc({ ...base, sender: mismatched }), 'sender.publicKey'],
      [
        'recipient key 33 bytes',
        () => enc({ ...base, recipientPublicKey: new Uint8Array(33) }),
        'recipientPublicKey',
      ],
      [
        'recipient key an array',
        () => enc({ ...base, recipientPublicKey: Array.from(k(2)) }),
        'recipientPublicKey',
      ],
      ['plaintext a string', () => enc({ ...base, plaintext: 'hello' }), 'plaintext'],
      ['params not an object', () => enc({ ...base, params: 'fast' }), 'params'],
      ['salt a string', () => enc({ ...base, params: { hkdfSalt: 'salt' } }), 'params.hkdfSalt'],
      [
        'label too long',
        () => enc({ ...base, params: { hkdfInfoLabel: new Uint8Array(1025) } }),
        'params.hkdfInfoLabel',
      ],
      ['bind not boolean', () => enc({ ...base, params: { bindPublicKeys: 1 } }), 'params.bindPublicKeys'],
      ['decrypt: recipient null', () => dec({ ...dbase, recipient: null }), 'recipient'],
      [
        'decrypt: recipient mismatched',
        () => dec({ ...dbase, recipient: mismatched }),
        'recipient.publicKey',
      ],
      [
        'decrypt: sender key short',
        () => dec({ ...dbase, senderPublicKey: k(3).subarray(2) }),
        'senderPublicKey',
      ],
      ['decrypt: message a Buffer-like array', () => dec({ ...dbase, message: [1, 2, 3] }), 'message'],
      ['decrypt: message missing', () => dec({ ...dbase, message: undefined }), 'message'],
      ['many: empty list', () => many({ ...base, recipientPublicKeys: [] }), 'recipientPublicKeys'],
      [
        'many: not a list',
        () => many({ ...base, recipientPublicKeys: bob.publicKey }),
        'recipientPublicKeys',
      ],
      [
        'many: bad second key',
        () => many({ ...base, recipientPublicKeys: [bob.publicKey, k(4).subarray(1)] }),
        'recipientPublicKeys[1]',
      ],
      ['derive: bad role', () => derive({ own: alice, peerPublicKey: bob.publicKey, role: 'both' }), 'role'],
      ['derive: own missing', () => derive({ peerPublicKey: bob.publicKey, role: 'sender' }), 'own'],
      ['derive: peer key missing', () => derive({ own: alice, role: 'sender' }), 'peerPublicKey'],
      ['length: negative', async () => staticV1MessageLength(-1), 'plaintextLength'],
      ['length: fraction', async () => staticV1MessageLength(1.5), 'plaintextLength'],
    ];
    for (const [name, run, field] of table) {
      await expect(run(), name).rejects.toMatchObject({ code: 'ERR_VALIDATION', field });
    }
  });

  it('turns every malformed message into ERR_DECRYPTION_FAILED, never another error', async () => {
    const alice = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => concatBytes(Uint8Array.of(STATIC_V1_VERSION), b)),
          fc
            .integer({ min: 1, max: 8 })
            .map((blocks) => new Uint8Array(STATIC_V1_OVERHEAD + 16 * blocks).fill(1)),
        ),
        async (message) => {
          const code = await codeOf(
            staticV1Decrypt(provider, { recipient: bob, senderPublicKey: alice.publicKey, message }),
          );
          expect(code, `${message.length} bytes`).toBe('ERR_DECRYPTION_FAILED');
        },
      ),
      { numRuns: 100 },
    );
  });
});
