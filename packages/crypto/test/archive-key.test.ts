/**
 * The auditors' archive key, split k-of-n, under every provider: 3 holders and threshold 2 (two
 * wrapped to X25519 keys, one under a passphrase), every pair rebuilds the key and one alone does
 * not; the attacks: a tampered share, a share moved to another holder, set or index, a share of
 * another set, a substituted share (anyone can wrap to an auditor's public key), a repeated share;
 * wrong keys and passphrases; re-wrapping to the combining auditor; wiping; hostile inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_SHARE_AAD_LABEL,
  ARCHIVE_SHARE_INFO_LABEL,
  ARCHIVE_SHARE_MAGIC,
  ArchiveKeyMismatch,
  type ArchiveShare,
  combineArchiveShares,
  generateArchiveKey,
  peekArchiveShare,
  rewrapArchiveShare,
  type ShareHolder,
  splitArchiveKey,
  unwrapArchiveShare,
} from '../src/compliance/index.js';
import {
  type CryptoProvider,
  concatBytes,
  DecryptionFailed,
  PIN_SCRYPT_FLOOR,
  sealHpke,
  toHex,
  utf8,
} from '../src/index.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

const PASSPHRASE = 'correct horse battery staple';

async function setup(p: CryptoProvider) {
  const keyPair = await generateArchiveKey(p);
  const dpo = await p.x25519.generateKeyPair();
  const audit = await p.x25519.generateKeyPair();
  const holders: ShareHolder[] = [
    { holder: 'dpo@example.org', recipient: { publicKey: dpo.publicKey } },
    { holder: 'audit@example.org', recipient: { publicKey: audit.publicKey } },
    { holder: 'Jürgen (CISO)', recipient: { passphrase: PASSPHRASE, scrypt: PIN_SCRYPT_FLOOR } },
  ];
  const wrapped = await splitArchiveKey(p, { keyPair, threshold: 2, holders });
  const secrets = [
    { privateKey: dpo.privateKey },
    { privateKey: audit.privateKey },
    { passphrase: PASSPHRASE },
  ];
  const unwrap = (i: number, bytes = wrapped[i] as Uint8Array) =>
    unwrapArchiveShare(p, bytes, secrets[i] as { privateKey: Uint8Array } | { passphrase: string });
  return { keyPair, dpo, audit, holders, wrapped, secrets, unwrap };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'archive key shares (%s)',
  (_name, p: CryptoProvider) => {
    it('3 holders, threshold 2: every pair and all three rebuild the key; one alone does not', async () => {
      const s = await setup(p);
      expect(s.wrapped).toHaveLength(3);
      const infos = s.wrapped.map((w) => peekArchiveShare(w));
      expect(infos.map((i) => [i.holder, i.index, i.threshold, i.total, i.wrap])).toEqual([
        ['dpo@example.org', 1, 2, 3, 'key'],
        ['audit@example.org', 2, 2, 3, 'key'],
        ['Jürgen (CISO)', 3, 2, 3, 'passphrase'],
      ]);
      for (const info of infos) {
        expect(info.version).toBe(1);
        expect(info.archivePublicKey).toEqual(s.keyPair.publicKey);
        expect(info.setId).toEqual(infos[0]?.setId);
      }
      const shares = [await s.unwrap(0), await s.unwrap(1), await s.unwrap(2)];
      for (const pair of [
        [0, 1],
        [0, 2],
        [1, 2],
        [2, 0],
      ]) {
        const rebuilt = await combineArchiveShares(
          p,
          pair.map((i) => shares[i] as ArchiveShare),
        );
        expect(toHex(rebuilt.privateKey), `${pair}`).toBe(toHex(s.keyPair.privateKey));
        expect(rebuilt.publicKey).toEqual(s.keyPair.publicKey);
      }
      expect((await combineArchiveShares(p, shares)).privateKey).toEqual(s.keyPair.privateKey);
      for (const one of shares) {
        const err = await combineArchiveShares(p, [one]).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'ERR_VALIDATION', field: 'shares' });
        expect((err as Error).message).toContain('at least 2');
      }
      // No share bytes, no key bytes in any wrapped share.
      for (const w of s.wrapped) expect(toHex(w).includes(toHex(s.keyPair.privateKey))).toBe(false);
    });

    it('a tampered share fails to unwrap, or fails to decode', async () => {
      const s = await setup(p);
      for (const i of [0, 2]) {
        const bytes = s.wrapped[i] as Uint8Array;
        // Every byte of the key-wrapped share (every third under noble, which is slower); for the
        // passphrase share, whose unwrapping runs scrypt each time: set id, holder, scrypt cost,
        // salt, nonce and tag.
        const n = bytes.length;
        const positions =
          i === 2
            ? [
                ARCHIVE_SHARE_MAGIC.length + 2,
                n - 49 - 44 - 3 - 1,
                n - 49 - 44 - 2,
                n - 49 - 44,
                n - 49 - 12,
                n - 1,
              ]
            : Array.from(
                { length: n - ARCHIVE_SHARE_MAGIC.length },
                (_, k) => ARCHIVE_SHARE_MAGIC.length + k,
              ).filter((_, k) => p.name !== 'noble' || k % 3 === 0);
        for (const at of positions) {
          const altered = bytes.slice();
          altered[at] = (altered[at] as number) ^ 0x01;
          const c = await code(() => s.unwrap(i, altered));
          expect(['ERR_DECRYPTION_FAILED', 'ERR_DECODE'], `share ${i} byte ${at}: ${c}`).toContain(c);
        }
      }
    });

    it('a share moved to another holder, index, set or archive key fails to unwrap', async () => {
      const s = await setup(p);
      const bytes = s.wrapped[0] as Uint8Array;
      const info = peekArchiveShare(bytes);
      const headerEnd = ARCHIVE_SHARE_MAGIC.length + 2 + 16 + 32 + 4 + utf8(info.holder).length;
      const rest = bytes.subarray(headerEnd);
      const header = (o: { setId?: Uint8Array; key?: Uint8Array; index?: number; holder?: string }) => {
        const holder = utf8(o.holder ?? info.holder);
        return concatBytes(
          utf8(ARCHIVE_SHARE_MAGIC),
          Uint8Array.of(1, 1),
          o.setId ?? info.setId,
          o.key ?? info.archivePublicKey,
          Uint8Array.of(info.threshold, info.total, o.index ?? info.index, holder.length),
          holder,
        );
      };
      expect(toHex(concatBytes(header({}), rest))).toBe(toHex(bytes)); // the layout, by hand
      for (const [what, moved] of [
        ['holder', header({ holder: 'mallory@example.org' })],
        ['index', header({ index: 3 })],
        ['set', header({ setId: new Uint8Array(16) })],
        ['archive key', header({ key: s.audit.publicKey })],
      ] as const) {
        const altered = concatBytes(moved, rest);
        expect(peekArchiveShare(altered).wrap, what).toBe('key');
        expect(await code(() => s.unwrap(0, altered)), what).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('refuses a share of another set, a repeated share, and a substituted share', async () => {
      const s = await setup(p);
      const again = await splitArchiveKey(p, { keyPair: s.keyPair, threshold: 2, holders: s.holders });
      const a = await s.unwrap(0);
      const b = await unwrapArchiveShare(p, again[1] as Uint8Array, { privateKey: s.audit.privateKey });
      const err = await combineArchiveShares(p, [a, b]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_VALIDATION', field: 'shares' });
      expect((err as Error).message).toContain('one set');
      const twice = await combineArchiveShares(p, [a, await s.unwrap(0)]).catch((e: unknown) => e);
      expect(twice).toMatchObject({ code: 'ERR_VALIDATION', field: 'shares' });
      expect((twice as Error).message).toContain('distinct indexes');
      // Mallory read the audit holder's header (public) and knows the auditor's public key: she
      // wraps a share of her choice for them. It unwraps, and combining it is caught.
      const info = peekArchiveShare(s.wrapped[1] as Uint8Array);
      const header = (s.wrapped[1] as Uint8Array).subarray(
        0,
        ARCHIVE_SHARE_MAGIC.length + 2 + 16 + 32 + 4 + utf8(info.holder).length,
      );
      for (const x of [7, 0xff]) {
        const fake = concatBytes(new Uint8Array(32).fill(0x5a), Uint8Array.of(x));
        const { enc, ciphertext } = await sealHpke(p, {
          aead: 'aes-256-gcm',
          recipientPublicKey: s.audit.publicKey,
          info: utf8(ARCHIVE_SHARE_INFO_LABEL),
          aad: concatBytes(utf8(ARCHIVE_SHARE_AAD_LABEL), header),
          plaintext: fake,
        });
        const substituted = await s.unwrap(1, concatBytes(header, enc, ciphertext));
        expect(substituted.info.holder).toBe('audit@example.org');
        const mismatch = await combineArchiveShares(p, [a, substituted]).catch((e: unknown) => e);
        expect(mismatch).toBeInstanceOf(ArchiveKeyMismatch);
        expect(mismatch).toBeInstanceOf(DecryptionFailed);
        expect((mismatch as { code: string }).code).toBe('ERR_DECRYPTION_FAILED');
        // More shares than the threshold do not hide a substituted one either.
        const all = [a, substituted, await s.unwrap(2)];
        expect(await code(() => combineArchiveShares(p, all))).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('wrong keys and passphrases are DecryptionFailed; a secret of the other kind is a ValidationError', async () => {
      const s = await setup(p);
      const [w0, , w2] = s.wrapped as [Uint8Array, Uint8Array, Uint8Array];
      expect(await code(() => unwrapArchiveShare(p, w0, { privateKey: s.audit.privateKey }))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(await code(() => unwrapArchiveShare(p, w2, { passphrase: `${PASSPHRASE}!` }))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(await code(() => unwrapArchiveShare(p, w2, { passphrase: PASSPHRASE.toUpperCase() }))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(await code(() => unwrapArchiveShare(p, w0, { passphrase: PASSPHRASE }))).toBe('ERR_VALIDATION');
      expect(await code(() => unwrapArchiveShare(p, w2, { privateKey: s.dpo.privateKey }))).toBe(
        'ERR_VALIDATION',
      );
      // NFC: the same passphrase typed decomposed opens the share.
      const nfd = await unwrapArchiveShare(p, w2, { passphrase: PASSPHRASE.normalize('NFD') });
      expect(nfd.info.index).toBe(3);
    });

    it('re-wraps shares to the combining auditor, who rebuilds the key; wiped shares are unusable', async () => {
      const s = await setup(p);
      const combiner = await p.x25519.generateKeyPair();
      const handedOver = [
        await rewrapArchiveShare(p, await s.unwrap(2), { publicKey: combiner.publicKey }),
        await rewrapArchiveShare(p, await s.unwrap(1), { publicKey: combiner.publicKey }),
      ];
      expect(peekArchiveShare(handedOver[0] as Uint8Array)).toMatchObject({
        holder: 'Jürgen (CISO)',
        index: 3,
        wrap: 'key',
      });
      const shares = await Promise.all(
        handedOver.map((w) => unwrapArchiveShare(p, w, { privateKey: combiner.privateKey })),
      );
      expect((await combineArchiveShares(p, shares)).privateKey).toEqual(s.keyPair.privateKey);
      // Under a new passphrase, too.
      const renewed = await rewrapArchiveShare(p, shares[0] as ArchiveShare, {
        passphrase: 'a new passphrase',
        scrypt: PIN_SCRYPT_FLOOR,
      });
      expect(peekArchiveShare(renewed).wrap).toBe('passphrase');
      expect((await unwrapArchiveShare(p, renewed, { passphrase: 'a new passphrase' })).info.index).toBe(3);
      shares[0]?.wipe();
      shares[0]?.wipe(); // idempotent
      expect(await code(() => combineArchiveShares(p, shares))).toBe('ERR_USAGE');
      expect(
        await code(() => rewrapArchiveShare(p, shares[0] as ArchiveShare, { publicKey: combiner.publicKey })),
      ).toBe('ERR_USAGE');
    });
  },
);

describe('archive key shares: hostile inputs', () => {
  const p = PROVIDERS[0] as CryptoProvider;

  it('rejects bad split arguments with ERR_VALIDATION naming the field', async () => {
    const keyPair = await generateArchiveKey(p);
    const other = await generateArchiveKey(p);
    const h = (holder: string): ShareHolder => ({ holder, recipient: { publicKey: other.publicKey } });
    const good = { keyPair, threshold: 2, holders: [h('a'), h('b'), h('c')] };
    const cases: [string, unknown][] = [
      ['options', null],
      ['keyPair', { ...good, keyPair: null }],
      ['keyPair.privateKey', { ...good, keyPair: { ...keyPair, privateKey: new Uint8Array(31) } }],
      ['keyPair.publicKey', { ...good, keyPair: { ...keyPair, publicKey: other.publicKey } }],
      ['threshold', { ...good, threshold: 1 }],
      ['threshold', { ...good, threshold: 4 }],
      ['threshold', { ...good, threshold: 2.5 }],
      ['holders', { ...good, holders: [h('a')] }],
      ['holders', { ...good, holders: Array.from({ length: 256 }, (_, i) => h(`h${i}`)) }],
      ['holders[1].holder', { ...good, holders: [h('a'), h('a'), h('c')] }],
      ['holders[2].holder', { ...good, holders: [h('a'), h('b'), h('')] }],
      ['holders[2].holder', { ...good, holders: [h('a'), h('b'), h('x'.repeat(256))] }],
      ['holders[0].recipient', { ...good, holders: [{ holder: 'a', recipient: {} }, h('b')] }],
      [
        'holders[0].recipient.publicKey',
        { ...good, holders: [{ holder: 'a', recipient: { publicKey: new Uint8Array(3) } }, h('b')] },
      ],
      [
        'holders[0].recipient.passphrase',
        { ...good, holders: [{ holder: 'a', recipient: { passphrase: '' } }, h('b')] },
      ],
      [
        'holders[0].recipient.scrypt',
        {
          ...good,
          holders: [{ holder: 'a', recipient: { passphrase: 'x', scrypt: { N: 1024, r: 8, p: 1 } } }, h('b')],
        },
      ],
    ];
    for (const [field, options] of cases) {
      const err = await splitArchiveKey(p, options as never).catch((e: unknown) => e);
      expect((err as { code?: string }).code, field).toBe('ERR_VALIDATION');
      expect((err as { field?: string }).field, field).toBe(field);
    }
    expect(await code(() => combineArchiveShares(p, []))).toBe('ERR_VALIDATION');
    expect(await code(() => combineArchiveShares(p, [{ info: {} } as never]))).toBe('ERR_USAGE');
    expect(await code(() => combineArchiveShares(p, [{} as never]))).toBe('ERR_VALIDATION');
  });

  it('peeks arbitrary bytes and mutated shares without throwing anything but DecodeError; mutations never unwrap', async () => {
    const keyPair = await generateArchiveKey(p);
    const auditor = await generateArchiveKey(p);
    const [w] = await splitArchiveKey(p, {
      keyPair,
      threshold: 2,
      holders: [
        { holder: 'a', recipient: { publicKey: auditor.publicKey } },
        { holder: 'b', recipient: { publicKey: auditor.publicKey } },
      ],
    });
    const valid = w as Uint8Array;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .uint8Array({ maxLength: 200 })
            .map((b) => concatBytes(utf8(ARCHIVE_SHARE_MAGIC), Uint8Array.of(1, 1), b)),
          fc
            .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }))
            .map(([at, x]) => Uint8Array.from(valid, (b, i) => (i === at ? b ^ x : b))),
        ),
        async (bytes) => {
          expect(['accepted', 'ERR_DECODE']).toContain(await code(() => peekArchiveShare(bytes)));
          expect(['ERR_DECODE', 'ERR_DECRYPTION_FAILED']).toContain(
            await code(() => unwrapArchiveShare(p, bytes, { privateKey: auditor.privateKey })),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('peekArchiveShare refuses malformed shares with ERR_DECODE', async () => {
    const keyPair = await generateArchiveKey(p);
    const other = await generateArchiveKey(p);
    const [w] = await splitArchiveKey(p, {
      keyPair,
      threshold: 2,
      holders: [
        { holder: 'a', recipient: { publicKey: other.publicKey } },
        { holder: 'b', recipient: { publicKey: other.publicKey } },
      ],
    });
    const bytes = w as Uint8Array;
    const m = ARCHIVE_SHARE_MAGIC.length;
    const set = (at: number, v: number) => Uint8Array.from(bytes, (b, i) => (i === at ? v : b));
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['magic', set(0, 0x43)],
      ['version', set(m, 2)],
      ['wrap', set(m + 1, 3)],
      ['threshold above total', set(m + 2 + 48, 3)],
      ['threshold 1', set(m + 2 + 48, 1)],
      ['index 0', set(m + 2 + 48 + 2, 0)],
      ['index above total', set(m + 2 + 48 + 2, 3)],
      ['empty holder', set(m + 2 + 48 + 3, 0)],
      ['truncated', bytes.subarray(0, bytes.length - 1)],
      ['trailing', concatBytes(bytes, Uint8Array.of(0))],
    ];
    for (const [what, b] of cases) {
      expect(await code(() => peekArchiveShare(b)), what).toBe('ERR_DECODE');
      expect(await code(() => unwrapArchiveShare(p, b, { privateKey: other.privateKey })), what).toBe(
        'ERR_DECODE',
      );
    }
    expect(await code(() => peekArchiveShare([1, 2] as never))).toBe('ERR_VALIDATION');
  });
});
