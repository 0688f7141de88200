/**
 * The client stores over every adapter: memory, encryption at rest (over memory, with the client's
 * ordered tables), IndexedDB (fake-indexeddb), PGlite, and PostgreSQL when `DATABASE_URL` is set.
 * The same scenarios must behave identically everywhere, since the stores only use the contract.
 */
import {
  CloisterError,
  createNobleProvider,
  type DeviceAddress,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  registrationId,
  SessionCipher,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { blobId, conversationId, messageId, userId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createEncryptedAdapter, createMemoryAdapter } from '@cloister/storage';
import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';
import { sqlTestTargets } from '@cloister/storage/testing';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_ORDERED_TABLES, createClientStores, defineSetting } from '../src/store/index.js';

const provider = createNobleProvider();
const enc = new TextEncoder();
const dec = new TextDecoder();
const alice: DeviceAddress = { userId: 'alice', deviceId: deviceId(1) };
const bob: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };
const cBob = conversationId('c_bob');

interface Target {
  readonly name: string;
  open(now: () => number): Promise<StorageAdapter>;
  cleanup(): Promise<void>;
}

let idbCount = 0;
const targets: Target[] = [
  { name: 'memory', open: async (now) => createMemoryAdapter({ now }), cleanup: async () => {} },
  {
    name: 'encrypted(memory)',
    open: async (now) =>
      createEncryptedAdapter(createMemoryAdapter({ now }), {
        dataKey: new Uint8Array(32).fill(7),
        provider,
        orderedTables: CLIENT_ORDERED_TABLES,
      }),
    cleanup: async () => {},
  },
  {
    name: 'indexeddb',
    open: (now) =>
      createIndexedDbAdapter({
        name: `client-${idbCount++}`,
        indexedDB: new IDBFactory(),
        IDBKeyRange,
        locks: null,
        now,
      }),
    cleanup: async () => {},
  },
  ...sqlTestTargets('client', { databaseUrl: process.env.DATABASE_URL || undefined }),
];

async function thrown(fn: () => Promise<unknown>): Promise<CloisterError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError');
}

describe.each(targets.map((t) => [t.name, t] as const))('client stores on %s', (_name, target) => {
  const opened: StorageAdapter[] = [];
  let t = 1_000_000;
  const now = () => t;
  async function open(): Promise<StorageAdapter> {
    const a = await target.open(now);
    opened.push(a);
    return a;
  }
  afterAll(async () => {
    for (const a of opened) await a.close();
    await target.cleanup();
  });

  it('pages, dedupes, updates and expires messages with their index rows', async () => {
    t = 1_000_000;
    const stores = createClientStores(await open());
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    await stores.conversations.create({ id: conversationId('c_old'), kind: 'direct', peer: userId('carol') });
    for (let i = 1; i <= 7; i++) {
      const added = await stores.messages.addIfAbsent({
        id: messageId(`m${i}`),
        conversationId: cBob,
        sender: bob,
        sentAt: 1_000_000 + i,
        body: enc.encode(`body ${i}`),
        ...(i % 2 === 0 ? { expiresAt: 1_000_500 } : {}),
      });
      expect(added).toBe(true);
    }
    expect(
      await stores.messages.addIfAbsent({
        id: messageId('m3'),
        conversationId: cBob,
        sender: bob,
        sentAt: 1,
        body: enc.encode('x'),
      }),
    ).toBe(false);
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stores.messages.history(cBob, {
        limit: 3,
        ...(cursor === undefined ? {} : { cursor }),
      });
      ids.push(...page.items.map((m) => m.id));
      cursor = page.next;
    } while (cursor !== undefined);
    expect(ids).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    expect(await stores.messages.setStatus(messageId('m4'), 'delivered')).toBe('delivered');
    expect((await stores.conversations.list()).items.map((c) => c.id)).toEqual(['c_bob', 'c_old']);

    t = 1_000_500;
    expect((await stores.messages.history(cBob, { limit: 100 })).items.map((m) => m.id)).toEqual([
      'm7',
      'm5',
      'm3',
      'm1',
    ]);
    expect(await stores.messages.get(messageId('m4'))).toBeUndefined();
    expect(await stores.messages.get(messageId('m5'))).toMatchObject({
      body: enc.encode('body 5'),
      status: 'sent',
    });
    expect(await stores.conversations.delete(cBob)).toBe(true);
    expect(await stores.messages.get(messageId('m5'))).toBeUndefined();
    expect((await stores.conversations.list()).items.map((c) => c.id)).toEqual(['c_old']);
  });

  it('keeps keys, identities, sessions and settings', async () => {
    const stores = createClientStores(await open());
    const identity = await generateDeviceIdentity(provider);
    await stores.ownIdentity.set({
      identity,
      registrationId: registrationId(1),
      deviceId: deviceId(1),
      userId: userId('a'),
    });
    expect((await stores.ownIdentity.get())?.identity).toEqual(identity);
    const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(1));
    await stores.preKeys.storeSignedPreKey(spk);
    await stores.preKeys.storeOneTimePreKeys(await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 3));
    await stores.preKeys.storeKemPreKey(
      await generateKemPreKey(provider, identity, kemPreKeyId(9), { lastResort: true }),
    );
    expect(await stores.preKeys.countOneTimePreKeys()).toBe(3);
    expect(await stores.preKeys.removeOneTimePreKey(oneTimePreKeyId(2))).toBe(true);
    expect(await stores.preKeys.removeOneTimePreKey(oneTimePreKeyId(2))).toBe(false);
    expect(await stores.preKeys.listLastResortKemPreKeyIds()).toEqual([9]);
    const base = new Uint8Array(32).fill(3);
    await stores.preKeys.markKemPreKeyUsed(kemPreKeyId(9), signedPreKeyId(1), base);
    expect(
      (await thrown(() => stores.preKeys.markKemPreKeyUsed(kemPreKeyId(9), signedPreKeyId(1), base))).code,
    ).toBe('ERR_REPLAY');
    const pub = toPublicIdentity(identity);
    expect(await stores.identities.save(bob, pub)).toEqual({ status: 'new' });
    expect(await stores.identities.setVerified(bob, pub, true)).toBe(true);
    const other = toPublicIdentity(await generateDeviceIdentity(provider));
    expect((await stores.identities.save(bob, other)).status).toBe('changed');
    expect((await stores.identities.get(bob))?.verified).toBe(false);
    await stores.sessions.storeSession(
      { userId: 'bob', deviceId: deviceId(3) },
      { version: 1, previous: [] },
    );
    await stores.sessions.storeSession(
      { userId: 'bob', deviceId: deviceId(2) },
      { version: 1, previous: [] },
    );
    expect(await stores.sessions.listDevices(userId('bob'))).toEqual([2, 3]);
    const theme = defineSetting('ui.theme', 'string');
    await stores.settings.set(theme, 'dark');
    expect(await stores.settings.get(theme)).toBe('dark');
  });

  it('stores and streams a 2.5 MiB blob and expires it', async () => {
    t = 2_000_000;
    const stores = createClientStores(await open());
    const data = new Uint8Array(2.5 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    await stores.blobs.put(blobId('f1'), data, { expiresAt: 2_000_100 });
    const reader = await stores.blobs.read(blobId('f1'));
    if (reader === undefined) throw new Error('missing');
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of reader) {
      sizes.push(chunk.length);
      parts.push(chunk);
    }
    expect(sizes).toEqual([1024 * 1024, 1024 * 1024, 512 * 1024]);
    expect(Buffer.compare(Buffer.concat(parts), data)).toBe(0);
    await stores.blobs.put(blobId('empty'), new Uint8Array(0));
    expect(await stores.blobs.get(blobId('empty'))).toEqual(new Uint8Array(0));
    t = 2_000_100;
    expect(await stores.blobs.read(blobId('f1'))).toBeUndefined();
  });

  it('commits a bundle transaction fully or not at all, and runs a v2 session across reopened stores', async () => {
    const bobDb = await open();
    const aliceDb = await open();
    const bobStores = createClientStores(bobDb);
    await bobStores.conversations.create({
      id: conversationId('c_alice'),
      kind: 'direct',
      peer: userId('alice'),
    });
    await expect(
      bobStores.transaction(async (s) => {
        await s.sessions.storeSession(alice, { version: 1, previous: [] });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await bobStores.sessions.loadSession(alice)).toBeUndefined();

    const bobId = await generateDeviceIdentity(provider);
    const spk = await generateSignedPreKey(provider, bobId, signedPreKeyId(1));
    const [opk] = await generateOneTimePreKeys(provider, oneTimePreKeyId(5), 1);
    const kem = await generateKemPreKey(provider, bobId, kemPreKeyId(1), { lastResort: true });
    if (opk === undefined) throw new Error('no prekey');
    await bobStores.preKeys.storeSignedPreKey(spk);
    await bobStores.preKeys.storeOneTimePreKeys([opk]);
    await bobStores.preKeys.storeKemPreKey(kem);
    const aliceId = await generateDeviceIdentity(provider);
    const aliceCipher = () =>
      new SessionCipher(provider, {
        ourIdentity: aliceId,
        remoteAddress: bob,
        sessions: createClientStores(aliceDb).sessions,
      });
    await aliceCipher().startSession({
      registrationId: registrationId(1),
      deviceId: deviceId(1),
      identity: toPublicIdentity(bobId),
      signedPreKey: toSignedPreKeyPublic(spk),
      oneTimePreKey: toOneTimePreKeyPublic(opk),
      kemPreKey: toKemPreKeyPublic(kem),
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: await signSuites(provider, bobId, ['v2'], {
        signedPreKeyId: spk.id,
        issuedAt: 1_700_000_000_000,
      }),
    });
    for (let i = 0; i < 3; i++) {
      const m = await aliceCipher().encrypt(enc.encode(`to bob ${i}`));
      const text = await createClientStores(bobDb).transaction(async (s) => {
        const plain = await new SessionCipher(provider, {
          ourIdentity: bobId,
          remoteAddress: alice,
          sessions: s.sessions,
          preKeys: s.preKeys,
        }).decrypt(m);
        await s.messages.addIfAbsent({
          id: messageId(`a${i}`),
          conversationId: conversationId('c_alice'),
          sender: alice,
          sentAt: i,
          body: plain,
        });
        return dec.decode(plain);
      });
      expect(text).toBe(`to bob ${i}`);
      const reply = await new SessionCipher(provider, {
        ourIdentity: bobId,
        remoteAddress: alice,
        sessions: createClientStores(bobDb).sessions,
      }).encrypt(enc.encode(`to alice ${i}`));
      expect(dec.decode(await aliceCipher().decrypt(reply))).toBe(`to alice ${i}`);
    }
    expect(await bobStores.preKeys.countOneTimePreKeys()).toBe(0);
    expect((await bobStores.messages.history(conversationId('c_alice'))).items).toHaveLength(3);
  });
});
