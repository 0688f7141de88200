/**
 * Compliance seal: round trips under every provider, tampering of every byte and every binding,
 * the wrong archive key, and hostile inputs with their error codes.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_SEAL_VERSION,
  type ArchiveBindings,
  openArchived,
  peekArchivedBindings,
  sealForArchive,
} from '../src/compliance/index.js';
import {
  CloisterError,
  type CryptoProvider,
  equalBytes,
  fromHex,
  generateHpkeKeyPair,
  toHex,
  utf8,
} from '../src/index.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

const BINDINGS: ArchiveBindings = {
  messageId: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  conversationId: utf8('conversation-7'),
  sender: { userId: 'alice@example.org', deviceId: 3 },
  sentAt: 1_767_225_600_123,
};

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'compliance seal (%s)',
  (name, p: CryptoProvider) => {
    const runs = name === 'noble' ? 4 : 12;

    it('round-trips content, content type and bindings', async () => {
      const archive = await generateHpkeKeyPair(p);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.integer({ min: 0, max: 0xffff_ffff }),
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          async (content, messageId, conversationId, userId, deviceId, sentAt) => {
            const bindings = { messageId, conversationId, sender: { userId, deviceId }, sentAt };
            const bytes = await sealForArchive(p, {
              archivePublicKey: archive.publicKey,
              ...bindings,
              contentType: 'text/plain',
              content,
            });
            expect(bytes[0]).toBe(ARCHIVE_SEAL_VERSION);
            expect(peekArchivedBindings(bytes)).toEqual(bindings);
            const opened = await openArchived(p, { archivePrivateKey: archive.privateKey, bytes });
            expect(opened.bindings).toEqual(bindings);
            expect(opened.contentType).toBe('text/plain');
            expect(equalBytes(opened.content, content)).toBe(true);
          },
        ),
        { numRuns: runs },
      );
    });

    it('fails to open after any bit flip, truncation or extension', async () => {
      const archive = await generateHpkeKeyPair(p);
      const bytes = await sealForArchive(p, {
        archivePublicKey: archive.publicKey,
        ...BINDINGS,
        contentType: 'cloister/file-key',
        content: p.randomBytes(32),
      });
      const positions =
        name === 'noble' ? [0, 1, 17, 18, 40, bytes.length - 20, bytes.length - 1] : [...bytes.keys()];
      for (const i of positions) {
        const bit = i % 8;
        const altered = bytes.slice();
        altered[i] = (altered[i] as number) ^ (1 << bit);
        expect(
          await code(() => openArchived(p, { archivePrivateKey: archive.privateKey, bytes: altered })),
          `byte ${i} bit ${bit}`,
        ).toBe('ERR_DECRYPTION_FAILED');
      }
      for (const cut of [0, 1, 20, bytes.length - 1]) {
        expect(
          await code(() =>
            openArchived(p, { archivePrivateKey: archive.privateKey, bytes: bytes.subarray(0, cut) }),
          ),
          `truncated to ${cut}`,
        ).toBe('ERR_DECRYPTION_FAILED');
      }
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(
        await code(() => openArchived(p, { archivePrivateKey: archive.privateKey, bytes: longer })),
      ).toBe('ERR_DECRYPTION_FAILED');
    });

    it('fails to open when a binding is re-encoded with another value', async () => {
      const archive = await generateHpkeKeyPair(p);
      const content = utf8('quarterly numbers');
      const original = await sealForArchive(p, {
        archivePublicKey: archive.publicKey,
        ...BINDINGS,
        contentType: 'text/plain',
        content,
      });
      const variants: [string, ArchiveBindings][] = [
        ['messageId', { ...BINDINGS, messageId: new Uint8Array(16) }],
        ['conversationId', { ...BINDINGS, conversationId: utf8('conversation-8') }],
        ['sender.userId', { ...BINDINGS, sender: { ...BINDINGS.sender, userId: 'mallory@example.org' } }],
        ['sender.deviceId', { ...BINDINGS, sender: { ...BINDINGS.sender, deviceId: 4 } }],
        ['sentAt', { ...BINDINGS, sentAt: BINDINGS.sentAt - 86_400_000 }],
      ];
      const originalHeaderLength = original.length - 32 - (1 + 10 + content.length) - 16;
      for (const [field, bindings] of variants) {
        // A seal of the same content under the new bindings supplies the new header bytes.
        const other = await sealForArchive(p, {
          archivePublicKey: archive.publicKey,
          ...bindings,
          contentType: 'text/plain',
          content,
        });
        const headerLength = other.length - 32 - (1 + 10 + content.length) - 16;
        const spliced = new Uint8Array(headerLength + original.length - originalHeaderLength);
        spliced.set(other.subarray(0, headerLength));
        spliced.set(original.subarray(originalHeaderLength), headerLength);
        expect(peekArchivedBindings(spliced), field).toEqual(bindings);
        expect(
          await code(() => openArchived(p, { archivePrivateKey: archive.privateKey, bytes: spliced })),
          field,
        ).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('fails to open with the wrong archive key', async () => {
      const archive = await generateHpkeKeyPair(p);
      const other = await generateHpkeKeyPair(p);
      const bytes = await sealForArchive(p, {
        archivePublicKey: archive.publicKey,
        ...BINDINGS,
        contentType: 'text/plain',
        content: utf8('x'),
      });
      expect(await code(() => openArchived(p, { archivePrivateKey: other.privateKey, bytes }))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
    });
  },
);

describe('compliance seal: hostile inputs', () => {
  const p = PROVIDERS[0] as CryptoProvider;

  it('rejects bad seal arguments with ERR_VALIDATION naming the field', async () => {
    const archive = await generateHpkeKeyPair(p);
    const good = {
      archivePublicKey: archive.publicKey,
      ...BINDINGS,
      contentType: 'text/plain',
      content: utf8('x'),
    };
    const cases: [string, unknown][] = [
      ['archivePublicKey', { ...good, archivePublicKey: new Uint8Array(31) }],
      ['messageId', { ...good, messageId: new Uint8Array(15) }],
      ['conversationId', { ...good, conversationId: new Uint8Array(65) }],
      ['conversationId', { ...good, conversationId: 'conv' }],
      ['sender', { ...good, sender: null }],
      ['sender.userId', { ...good, sender: { userId: '', deviceId: 1 } }],
      ['sender.userId', { ...good, sender: { userId: 'x'.repeat(256), deviceId: 1 } }],
      ['sender.userId', { ...good, sender: { userId: '\ud800', deviceId: 1 } }],
      ['sender.deviceId', { ...good, sender: { userId: 'a', deviceId: -1 } }],
      ['sender.deviceId', { ...good, sender: { userId: 'a', deviceId: 2 ** 32 } }],
      ['sentAt', { ...good, sentAt: -1 }],
      ['sentAt', { ...good, sentAt: 1.5 }],
      ['sentAt', { ...good, sentAt: 2 ** 53 }],
      ['contentType', { ...good, contentType: '' }],
      ['contentType', { ...good, contentType: 'x'.repeat(256) }],
      ['content', { ...good, content: [1, 2] }],
      ['options', null],
    ];
    for (const [field, options] of cases) {
      let err: unknown;
      try {
        await sealForArchive(p, options as Parameters<typeof sealForArchive>[1]);
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(CloisterError);
      expect((err as CloisterError).code, field).toBe('ERR_VALIDATION');
      expect((err as { field?: string }).field, field).toBe(field);
    }
  });

  it('rejects bad open arguments with ERR_VALIDATION and malformed peeks with ERR_DECODE', async () => {
    expect(
      await code(() => openArchived(p, { archivePrivateKey: new Uint8Array(3), bytes: new Uint8Array(80) })),
    ).toBe('ERR_VALIDATION');
    expect(
      await code(() =>
        openArchived(p, { archivePrivateKey: new Uint8Array(32), bytes: 'x' as unknown as Uint8Array }),
      ),
    ).toBe('ERR_VALIDATION');
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['version 2', Uint8Array.of(2, ...new Uint8Array(100))],
      ['conversation id too long', Uint8Array.of(1, ...new Uint8Array(16), 65, ...new Uint8Array(100))],
      ['empty user id', Uint8Array.of(1, ...new Uint8Array(16), 0, 0, ...new Uint8Array(100))],
      ['user id not UTF-8', Uint8Array.of(1, ...new Uint8Array(16), 0, 1, 0xff, ...new Uint8Array(100))],
      [
        'sentAt above 2^53',
        Uint8Array.of(
          1,
          ...new Uint8Array(16),
          0,
          1,
          97,
          0,
          0,
          0,
          1,
          0xff,
          0xff,
          0xff,
          0xff,
          0,
          0,
          0,
          0,
          ...new Uint8Array(60),
        ),
      ],
      ['no ciphertext', Uint8Array.of(1, ...new Uint8Array(16), 0, 1, 97, ...new Uint8Array(12 + 32 + 16))],
    ];
    for (const [what, bytes] of cases) {
      expect(await code(() => peekArchivedBindings(bytes)), what).toBe('ERR_DECODE');
      expect(await code(() => openArchived(p, { archivePrivateKey: p.randomBytes(32), bytes })), what).toBe(
        'ERR_DECRYPTION_FAILED',
      );
    }
  });
});

interface ArchiveVectors {
  valid: {
    name: string;
    archivePrivateKey: string;
    messageId: string;
    conversationId: string;
    senderUserId: string;
    senderDeviceId: number;
    sentAt: number;
    contentType: string;
    content: string;
    sealed: string;
  }[];
  invalid: { name: string; base: string; sealed: string; error: string }[];
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('test-vectors/archive-seal.json (%s)', (_n, p) => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../../test-vectors/archive-seal.json', import.meta.url), 'utf8'),
  ) as ArchiveVectors;

  it('opens every valid case to its content and bindings', async () => {
    expect(vectors.valid.length).toBeGreaterThan(0);
    for (const v of vectors.valid) {
      const bytes = fromHex(v.sealed);
      const opened = await openArchived(p, { archivePrivateKey: fromHex(v.archivePrivateKey), bytes });
      expect(toHex(opened.content), v.name).toBe(v.content);
      expect(opened.contentType, v.name).toBe(v.contentType);
      expect(peekArchivedBindings(bytes), v.name).toEqual({
        messageId: fromHex(v.messageId),
        conversationId: fromHex(v.conversationId),
        sender: { userId: v.senderUserId, deviceId: v.senderDeviceId },
        sentAt: v.sentAt,
      });
    }
  });

  it('rejects every invalid case with its error code', async () => {
    for (const v of vectors.invalid) {
      const key = vectors.valid.find((c) => c.name === v.base)?.archivePrivateKey ?? '';
      expect(
        await code(() => openArchived(p, { archivePrivateKey: fromHex(key), bytes: fromHex(v.sealed) })),
        v.name,
      ).toBe(v.error);
    }
  });
});
