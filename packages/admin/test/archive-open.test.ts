/**
 * Opening an archive: each status is decided as `spec/audit-tool.md` §3 says, by performing what
 * it reports (a member forging a seal in another's name, a certificate from another tenant key, a
 * seal the server files on another delivery, a retry copy, a shredded item, a seal to another
 * archive key, corrupted bytes), and the duplicate index keeps its bound.
 */
import { generateHpkeKeyPair, toHex, utf8 } from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
// The client's constant is not part of its public entry point; the test reads its source module.
import { ARCHIVE_CONTENT_TYPE } from '../../client/src/core/policy.js';
import { toBase64Url } from '../src/_base64url.js';
import {
  ARCHIVED_MESSAGE_CONTENT_TYPE,
  type ArchiveRecord,
  filterArchive,
  openArchive,
  scopeMatcher,
} from '../src/index.js';
import { archiveFixture, collect, fromArray, T0 } from './archive-fixtures.js';

const f = await archiveFixture();
const ceo = await f.member('ceo@acme.example', 3, ['board']);
const bob = await f.member('bob', 1, ['legal', 'ops']);
const mallory = await f.member('mallory', 2);

const open = (items: Parameters<typeof fromArray>[0], extra: { dedupeWindow?: number } = {}) =>
  collect(
    openArchive({
      provider: f.provider,
      archivePrivateKey: f.archive.privateKey,
      tenantPublicKey: f.tenant.publicKey,
      tenantId: 'acme',
      items: fromArray(items as never[]),
      ...extra,
    }),
  );

describe('openArchive', () => {
  it('uses the content type the client seals messages under', () => {
    expect(ARCHIVED_MESSAGE_CONTENT_TYPE).toBe(ARCHIVE_CONTENT_TYPE);
  });

  it('opens a text message and an attachment: sender, pools, conversation, time, body', async () => {
    const messageId = f.nextId();
    const text = f.item(
      await f.seal({ sender: ceo, messageId, body: { type: 'text', text: 'Merger on Friday' } }),
    );
    const file = f.item(
      await f.seal({
        sender: bob,
        body: {
          type: 'file',
          file: {
            fileKey: new Uint8Array(32).fill(9),
            digest: new Uint8Array(32).fill(1),
            size: 1234,
            mediaType: 'application/pdf',
            locator: 'blob/1',
            fileName: 'term-sheet.pdf',
          },
        },
      }),
    );
    const [a, b] = await open([text, file]);
    expect(a).toMatchObject({
      status: 'valid',
      id: text.id,
      seq: text.seq,
      message: {
        messageId: toHex(messageId),
        conversationId: toHex(f.conversation),
        sender: { userId: 'ceo@acme.example', deviceId: 3 },
        senderPools: ['board'],
        tenantId: 'acme',
        sentAt: T0,
        kind: 'text',
        text: 'Merger on Friday',
      },
    });
    expect(b).toMatchObject({
      status: 'valid',
      message: {
        kind: 'file',
        senderPools: ['legal', 'ops'],
        file: { fileKey: toBase64Url(new Uint8Array(32).fill(9)), fileName: 'term-sheet.pdf', size: 1234 },
      },
    });
  });

  it('reports a seal forged in another member’s name (altered binding, foreign certificate, own certificate naming the CEO)', async () => {
    const good = await f.seal({ sender: ceo, body: { type: 'text', text: 'genuine' } });
    const altered = good.bytes.slice();
    altered[20] = (altered[20] ?? 0) ^ 1; // inside the conversation id: a binding the signature covers
    const otherTenant = await f.provider.ed25519.generateKeyPair();
    const impostor = await f.member('ceo@acme.example', 3, ['board'], otherTenant.privateKey);
    const foreign = await f.seal({ sender: impostor, body: { type: 'text', text: 'wire the money' } });
    const named = await f.forge(
      { sender: ceo, body: { type: 'text', text: 'wire it' } },
      mallory.certificate,
      mallory.signingKey,
    );
    const records = await open([
      f.item({ bytes: altered, deliveryId: good.deliveryId }),
      f.item(foreign),
      f.item(named),
    ]);
    expect(records.map((r) => r.status)).toEqual(['forged', 'forged', 'forged']);
    for (const r of records) expect(r).not.toHaveProperty('message');
    expect(records[2]).toMatchObject({ claimed: { sender: { userId: 'ceo@acme.example' } } });
  });

  it('reports undecryptable: a seal to another archive key, corrupted bytes, no bytes', async () => {
    const other = await generateHpkeKeyPair(f.provider);
    const elsewhere = await f.seal({ sender: bob, archivePublicKey: other.publicKey });
    const good = f.item(await f.seal({ sender: bob }));
    const records = await open([
      f.item(elsewhere),
      { ...good, sealed: utf8('not a seal at all') },
      { ...good, id: 'ff', sealed: new Uint8Array(0) },
    ]);
    expect(records.map((r) => r.status)).toEqual(['undecryptable', 'undecryptable', 'undecryptable']);
  });

  it('reports moved: filed on another delivery than the seal names, or filed before it was sent', async () => {
    const a = await f.seal({ sender: bob });
    const onJunk = f.item(a, { deliveryId: f.nextId() });
    const early = f.item(await f.seal({ sender: bob, sentAt: T0 + 10 * 60_000 }), { receivedAt: T0 });
    const withinSkew = f.item(await f.seal({ sender: bob, sentAt: T0 + 4 * 60_000 }), { receivedAt: T0 });
    const records = await open([onJunk, early, withinSkew]);
    expect(records[0]).toMatchObject({
      status: 'moved',
      reason: 'delivery',
      recordedDeliveryId: toHex(onJunk.deliveryId as Uint8Array),
    });
    expect(records[1]).toMatchObject({ status: 'moved', reason: 'time' });
    expect(records[2]).toMatchObject({ status: 'valid' });
  });

  it('reports a retry copy as duplicate of the first valid record, not dropped', async () => {
    const messageId = f.nextId();
    const first = f.item(await f.seal({ sender: bob, messageId }));
    const retry = f.item(await f.seal({ sender: bob, messageId }));
    const sameIdOtherSender = f.item(await f.seal({ sender: ceo, messageId }));
    const records = await open([first, retry, sameIdOtherSender]);
    expect(records.map((r) => r.status)).toEqual(['valid', 'duplicate', 'valid']);
    expect(records[1]).toMatchObject({ duplicateOf: first.id, message: { text: 'hello' } });
  });

  it('reports missing sequence numbers as a gap before the item after them', async () => {
    const s = await f.seal({ sender: bob });
    const records = await open([
      f.item(s, { seq: 101 }),
      f.item(await f.seal({ sender: bob }), { seq: 102 }),
      f.item(await f.seal({ sender: bob }), { seq: 105 }),
      f.item(await f.seal({ sender: bob }), { seq: null }),
      f.item(await f.seal({ sender: bob }), { seq: 106 }),
    ]);
    expect(records.map((r) => r.status)).toEqual(['valid', 'valid', 'gap', 'valid', 'valid', 'valid']);
    expect(records[2]).toMatchObject({
      status: 'gap',
      fromSeq: 103,
      toSeq: 104,
      beforeId: (records[3] as { id: string }).id,
    });
  });

  it('keeps the duplicate index bounded: a copy older than the window is no longer recognised', async () => {
    const id = f.nextId();
    const items = [
      f.item(await f.seal({ sender: bob, messageId: id })),
      f.item(await f.seal({ sender: bob })),
      f.item(await f.seal({ sender: bob })),
      f.item(await f.seal({ sender: bob, messageId: id })),
    ];
    expect((await open(items, { dedupeWindow: 2 })).map((r) => r.status)).toEqual([
      'valid',
      'valid',
      'valid',
      'valid',
    ]);
    expect((await open(items, { dedupeWindow: 3 })).map((r) => r.status)).toEqual([
      'valid',
      'valid',
      'valid',
      'duplicate',
    ]);
  });

  it('opens version-3 seals (today’s clients) and reports their failures the same way', async () => {
    const otherTenant = await f.provider.ed25519.generateKeyPair();
    const impostor = await f.member('ceo@acme.example', 3, ['board'], otherTenant.privateKey);
    const good = await f.sealV3({ sender: ceo, body: { type: 'text', text: 'v3 hello' } });
    const tampered = good.bytes.slice();
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] ?? 0) ^ 1;
    const records = await open([
      f.item(good),
      f.item(good, { deliveryId: f.nextId() }),
      f.item(await f.sealV3({ sender: impostor })),
      f.item({ bytes: tampered, deliveryId: good.deliveryId }),
    ]);
    expect(records.map((r) => r.status)).toEqual(['valid', 'moved', 'forged', 'undecryptable']);
    expect(records[0]).toMatchObject({
      message: { sealVersion: 3, text: 'v3 hello', senderPools: ['board'] },
    });
    expect(records[2]).toMatchObject({ reason: 'certificate' });
  });

  it('refuses keys of the wrong length', async () => {
    await expect(
      collect(
        openArchive({
          provider: f.provider,
          archivePrivateKey: new Uint8Array(31),
          tenantPublicKey: f.tenant.publicKey,
          items: fromArray([]),
        }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});

describe('scope', () => {
  const message = (over: Partial<Extract<ArchiveRecord, { status: 'valid' }>['message']>): ArchiveRecord => ({
    status: 'valid',
    id: 'a1',
    seq: 1,
    receivedAt: T0,
    message: {
      messageId: '00',
      conversationId: 'c0ffee',
      sender: { userId: 'bob', deviceId: 1 },
      senderPools: ['legal'],
      tenantId: 'acme',
      sentAt: T0,
      deliveryId: '11',
      sealVersion: 3,
      contentType: ARCHIVED_MESSAGE_CONTENT_TYPE,
      kind: 'text',
      text: 'The Merger closes on Friday',
      ...over,
    },
  });
  const gap: ArchiveRecord = { status: 'gap', fromSeq: 2, toSeq: 3, receivedAt: T0, beforeId: 'b' };

  it('matches users, pools, conversations, time and text; keeps failures unless told not to', () => {
    const r = message({});
    expect(scopeMatcher({ users: ['bob'] })(r)).toBe(true);
    expect(scopeMatcher({ users: ['alice'] })(r)).toBe(false);
    expect(scopeMatcher({ pools: ['ops', 'legal'] })(r)).toBe(true);
    expect(scopeMatcher({ pools: ['board'] })(r)).toBe(false);
    expect(scopeMatcher({ conversations: ['C0FFEE'] })(r)).toBe(true);
    expect(scopeMatcher({ conversations: ['beef'] })(r)).toBe(false);
    expect(scopeMatcher({ from: T0, to: T0 })(r)).toBe(true);
    expect(scopeMatcher({ from: T0 + 1 })(r)).toBe(false);
    expect(scopeMatcher({ to: T0 - 1 })(r)).toBe(false);
    expect(scopeMatcher({ text: 'merger CLOSES' })(r)).toBe(true);
    expect(scopeMatcher({ text: 'closes merger' })(r)).toBe(false);
    expect(scopeMatcher({ text: 'closes merger', match: 'tokens' })(r)).toBe(true);
    expect(scopeMatcher({ text: 'merg', match: 'tokens' })(r)).toBe(false);
    expect(scopeMatcher({ users: ['alice'] })(gap)).toBe(true);
    expect(scopeMatcher({ users: ['alice'], keepFailures: false })(gap)).toBe(false);
  });

  it('filters a stream', async () => {
    const kept = await collect(
      filterArchive(fromArray([message({}), message({ text: 'lunch?' }), gap]), { text: 'merger' }),
    );
    expect(kept.map((r) => r.status)).toEqual(['valid', 'gap']);
  });
});
