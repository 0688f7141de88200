/**
 * Client stores for keys: own identity, remote identities (trust on first use, verification,
 * key change), prekeys (with the KEM replay record), sessions and settings.
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
  signedPreKeyId,
  toPublicIdentity,
} from '@cloister/crypto';
import { userId } from '@cloister/protocol';
import { createMemoryAdapter, encodeRecord } from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import { CLIENT_TABLES, createClientStores, defineSetting } from '../src/store/index.js';

const provider = createNobleProvider();

async function thrown(fn: () => Promise<unknown>): Promise<CloisterError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError');
}

const bob1: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };
const bob2: DeviceAddress = { userId: 'bob', deviceId: deviceId(2) };

describe('own identity', () => {
  it('stores exactly one identity and refuses a second without replace', async () => {
    const stores = createClientStores(createMemoryAdapter());
    expect(await stores.ownIdentity.get()).toBeUndefined();
    const identity = await generateDeviceIdentity(provider);
    const own = {
      identity,
      registrationId: registrationId(7),
      deviceId: deviceId(3),
      userId: userId('alice'),
    };
    await stores.ownIdentity.set(own);
    const got = await stores.ownIdentity.get();
    expect(got).toEqual(own);
    const other = { ...own, identity: await generateDeviceIdentity(provider) };
    expect((await thrown(() => stores.ownIdentity.set(other))).code).toBe('ERR_USAGE');
    expect(await stores.ownIdentity.get()).toEqual(own);
    await stores.ownIdentity.set(other, { replace: true });
    expect(await stores.ownIdentity.get()).toEqual(other);
    expect(await stores.ownIdentity.delete()).toBe(true);
    expect(await stores.ownIdentity.get()).toBeUndefined();
  });

  it('rejects bad input with ValidationError and a corrupted record with DecodeError', async () => {
    const adapter = createMemoryAdapter();
    const stores = createClientStores(adapter);
    const identity = await generateDeviceIdentity(provider);
    const bad = {
      identity: { ...identity, dhKeySignature: new Uint8Array(3) },
      registrationId: registrationId(1),
      deviceId: deviceId(1),
      userId: userId('alice'),
    };
    expect((await thrown(() => stores.ownIdentity.set(bad))).code).toBe('ERR_VALIDATION');
    expect(
      (await thrown(() => stores.ownIdentity.set({ ...bad, identity, userId: 'has space' as never }))).code,
    ).toBe('ERR_VALIDATION');
    expect(await stores.ownIdentity.get()).toBeUndefined();
    await adapter.transaction(async (tx) => {
      await tx.put(CLIENT_TABLES.ownIdentity, {
        partition: new Uint8Array(),
        sort: new Uint8Array(),
        value: encodeRecord(1, { signingPrivate: new Uint8Array(31) }),
      });
    });
    expect((await thrown(() => stores.ownIdentity.get())).code).toBe('ERR_DECODE');
  });
});

describe('remote identities', () => {
  it('trusts on first use, detects a key change and resets verified', async () => {
    let now = 1_000;
    const stores = createClientStores(createMemoryAdapter({ now: () => now }));
    const ids = stores.identities;
    const first = toPublicIdentity(await generateDeviceIdentity(provider));
    const second = toPublicIdentity(await generateDeviceIdentity(provider));

    expect(await ids.isTrusted(bob1, first)).toBe(true); // first use
    expect(await ids.isTrusted(bob1, first, { requireVerified: true })).toBe(false);
    expect(await ids.save(bob1, first)).toEqual({ status: 'new' });
    expect(await ids.isTrusted(bob1, first)).toBe(true);
    expect(await ids.isTrusted(bob1, second)).toBe(false);
    expect(await ids.save(bob1, first)).toEqual({ status: 'unchanged', verified: false });

    // Verifying a key that is not the pinned one changes nothing.
    expect(await ids.setVerified(bob1, second, true)).toBe(false);
    expect(await ids.setVerified(bob2, first, true)).toBe(false);
    expect(await ids.setVerified(bob1, first, true)).toBe(true);
    expect(await ids.isTrusted(bob1, first, { requireVerified: true })).toBe(true);
    expect((await ids.get(bob1))?.verified).toBe(true);

    now = 5_000;
    const change = await ids.save(bob1, second);
    expect(change.status).toBe('changed');
    if (change.status !== 'changed') throw new Error('unreachable');
    expect(change.previous).toEqual(first);
    expect(change.wasVerified).toBe(true);
    const rec = await ids.get(bob1);
    expect(rec?.identity).toEqual(second);
    expect(rec?.verified).toBe(false);
    expect(rec?.firstSeenAt).toBe(1_000);
    expect(rec?.changedAt).toBe(5_000);
    expect(await ids.isTrusted(bob1, first)).toBe(false);
    expect(await ids.isTrusted(bob1, second)).toBe(true);
    expect(await ids.isTrusted(bob1, second, { requireVerified: true })).toBe(false);

    await ids.save(bob2, first);
    expect((await ids.listForUser(userId('bob'))).map((r) => r.address.deviceId)).toEqual([1, 2]);
    expect(await ids.listForUser(userId('carol'))).toEqual([]);
    expect(await ids.delete(bob1)).toBe(true);
    expect(await ids.delete(bob1)).toBe(false);
    expect(await ids.get(bob1)).toBeUndefined();
  });

  it('rejects bad addresses and identities', async () => {
    const stores = createClientStores(createMemoryAdapter());
    const id = toPublicIdentity(await generateDeviceIdentity(provider));
    const cases: (() => Promise<unknown>)[] = [
      () => stores.identities.save({ userId: '', deviceId: deviceId(1) }, id),
      () => stores.identities.save({ userId: 'bob', deviceId: -1 as never }, id),
      () => stores.identities.save(bob1, { ...id, dhKey: new Uint8Array(31) }),
      () => stores.identities.isTrusted(bob1, id, { requireVerified: 'yes' as never }),
      () => stores.identities.setVerified(bob1, id, 1 as never),
      () => stores.identities.listForUser('' as never),
    ];
    for (const c of cases) expect((await thrown(c)).code).toBe('ERR_VALIDATION');
    expect(await stores.identities.get(bob1)).toBeUndefined();
  });
});

describe('prekeys', () => {
  it('stores, counts and consumes prekeys and refuses a replayed last-resort combination', async () => {
    const adapter = createMemoryAdapter();
    const { preKeys } = createClientStores(adapter);
    const identity = await generateDeviceIdentity(provider);
    const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(5));
    const opks = await generateOneTimePreKeys(provider, oneTimePreKeyId(100), 3);
    const kemOne = await generateKemPreKey(provider, identity, kemPreKeyId(2), { lastResort: false });
    const kemLast = await generateKemPreKey(provider, identity, kemPreKeyId(1), { lastResort: true });

    await preKeys.storeSignedPreKey(spk);
    await preKeys.storeOneTimePreKeys(opks);
    await preKeys.storeKemPreKey(kemOne);
    await preKeys.storeKemPreKey(kemLast);

    expect(await preKeys.getSignedPreKey(signedPreKeyId(5))).toEqual(spk);
    expect(await preKeys.getSignedPreKey(signedPreKeyId(6))).toBeUndefined();
    expect((await preKeys.listSignedPreKeys()).map((s) => s.preKey.id)).toEqual([5]);
    expect(await preKeys.countOneTimePreKeys()).toBe(3);
    expect(await preKeys.getOneTimePreKey(oneTimePreKeyId(101))).toEqual(opks[1]);
    expect(await preKeys.removeOneTimePreKey(oneTimePreKeyId(101))).toBe(true);
    expect(await preKeys.removeOneTimePreKey(oneTimePreKeyId(101))).toBe(false);
    expect(await preKeys.countOneTimePreKeys()).toBe(2);

    expect(await preKeys.getKemPreKey(kemPreKeyId(2))).toEqual(kemOne);
    expect(await preKeys.getKemPreKey(kemPreKeyId(1))).toEqual(kemLast);
    expect(await preKeys.countOneTimeKemPreKeys()).toBe(1);
    expect(await preKeys.listLastResortKemPreKeyIds()).toEqual([1]);
    // A last-resort key is never consumed by removeKemPreKey.
    expect(await preKeys.removeKemPreKey(kemPreKeyId(1))).toBe(false);
    expect(await preKeys.removeKemPreKey(kemPreKeyId(2))).toBe(true);
    expect(await preKeys.removeKemPreKey(kemPreKeyId(2))).toBe(false);
    expect(await preKeys.countOneTimeKemPreKeys()).toBe(0);

    const base = new Uint8Array(32).fill(9);
    await preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(5), base);
    const replay = await thrown(() => preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(5), base));
    expect(replay.code).toBe('ERR_REPLAY');
    // Another base key or signed prekey is another combination.
    await preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(6), base);
    await preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(5), new Uint8Array(32).fill(8));
    // Replay records survive new store instances over the same adapter.
    const again = createClientStores(adapter).preKeys;
    expect((await thrown(() => again.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(5), base))).code).toBe(
      'ERR_REPLAY',
    );
    // Deleting the KEM prekey forgets its replay records.
    expect(await again.deleteKemPreKey(kemPreKeyId(1))).toBe(true);
    expect(await again.getKemPreKey(kemPreKeyId(1))).toBeUndefined();
    await again.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(5), base);

    expect(await preKeys.removeSignedPreKey(signedPreKeyId(5))).toBe(true);
    expect(await preKeys.getSignedPreKey(signedPreKeyId(5))).toBeUndefined();
  });

  it('replaces a KEM prekey of the other kind with the same id', async () => {
    const { preKeys } = createClientStores(createMemoryAdapter());
    const identity = await generateDeviceIdentity(provider);
    const one = await generateKemPreKey(provider, identity, kemPreKeyId(3), { lastResort: false });
    const last = await generateKemPreKey(provider, identity, kemPreKeyId(3), { lastResort: true });
    await preKeys.storeKemPreKey(one);
    await preKeys.storeKemPreKey(last);
    expect(await preKeys.getKemPreKey(kemPreKeyId(3))).toEqual(last);
    expect(await preKeys.countOneTimeKemPreKeys()).toBe(0);
  });

  it('marks a combination once when two marks race', async () => {
    const { preKeys } = createClientStores(createMemoryAdapter());
    const base = new Uint8Array(32).fill(1);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(1), base)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as CloisterError).code).toBe('ERR_REPLAY');
  });

  it('validates input and stores nothing of a bad batch', async () => {
    const { preKeys } = createClientStores(createMemoryAdapter());
    const opks = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 2);
    const bad = [
      opks[0],
      { ...opks[1], keyPair: { privateKey: new Uint8Array(32), publicKey: new Uint8Array(1) } },
    ];
    expect((await thrown(() => preKeys.storeOneTimePreKeys(bad as never))).code).toBe('ERR_VALIDATION');
    expect(await preKeys.countOneTimePreKeys()).toBe(0);
    expect((await thrown(() => preKeys.getOneTimePreKey((2 ** 32) as never))).code).toBe('ERR_VALIDATION');
    expect(
      (await thrown(() => preKeys.markKemPreKeyUsed(kemPreKeyId(1), signedPreKeyId(1), new Uint8Array(31))))
        .code,
    ).toBe('ERR_VALIDATION');
    expect((await thrown(() => preKeys.storeOneTimePreKeys('x' as never))).code).toBe('ERR_VALIDATION');
  });
});

describe('sessions', () => {
  it('lists devices with sessions and deletes them; a corrupted record is a DecodeError', async () => {
    const adapter = createMemoryAdapter();
    const { sessions } = createClientStores(adapter);
    const empty = { version: 1 as const, previous: [] };
    expect(await sessions.loadSession(bob1)).toBeUndefined();
    await sessions.storeSession(bob2, empty);
    await sessions.storeSession(bob1, empty);
    await sessions.storeSession({ userId: 'carol', deviceId: deviceId(9) }, empty);
    expect(await sessions.loadSession(bob1)).toEqual(empty);
    expect(await sessions.listDevices(userId('bob'))).toEqual([1, 2]);
    expect(await sessions.deleteSession(bob1)).toBe(true);
    expect(await sessions.listDevices(userId('bob'))).toEqual([2]);
    expect(await sessions.deleteAllSessions(userId('bob'))).toBe(1);
    expect(await sessions.listDevices(userId('bob'))).toEqual([]);
    expect(await sessions.listDevices(userId('carol'))).toEqual([9]);

    expect((await thrown(() => sessions.storeSession(bob1, { version: 2 } as never))).code).toBe(
      'ERR_VALIDATION',
    );
    await adapter.transaction(async (tx) => {
      await tx.put(CLIENT_TABLES.sessions, {
        partition: new TextEncoder().encode('bob'),
        sort: new Uint8Array([0, 0, 0, 1]),
        value: encodeRecord(1, { record: new Uint8Array([1, 0, 9]) }),
      });
    });
    expect((await thrown(() => sessions.loadSession(bob1))).code).toBe('ERR_DECODE');
    await adapter.transaction(async (tx) => {
      await tx.put(CLIENT_TABLES.sessions, {
        partition: new TextEncoder().encode('bob'),
        sort: new Uint8Array([0, 0, 0, 1]),
        value: new TextEncoder().encode('not json'),
      });
    });
    expect((await thrown(() => sessions.loadSession(bob1))).code).toBe('ERR_DECODE');
  });
});

describe('settings', () => {
  it('stores typed values and checks them on write and read', async () => {
    const adapter = createMemoryAdapter();
    const { settings } = createClientStores(adapter);
    const theme = defineSetting('ui.theme', 'string');
    const volume = defineSetting('volume', 'number');
    const muted = defineSetting('muted', 'boolean');
    const key = defineSetting('backup.key', 'bytes');
    const mode = defineSetting('mode', (v): 'a' | 'b' => {
      if (v !== 'a' && v !== 'b') throw new Error('bad');
      return v;
    });
    expect(await settings.get(theme)).toBeUndefined();
    await settings.set(theme, 'dark');
    await settings.set(volume, 0.5);
    await settings.set(muted, false);
    await settings.set(key, new Uint8Array([1, 2, 3]));
    await settings.set(mode, 'b');
    expect(await settings.get(theme)).toBe('dark');
    expect(await settings.get(volume)).toBe(0.5);
    expect(await settings.get(muted)).toBe(false);
    expect(await settings.get(key)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await settings.get(mode)).toBe('b');
    expect((await thrown(() => settings.set(mode, 'c' as never))).code).toBe('ERR_VALIDATION');
    expect((await thrown(() => settings.set(volume, Number.NaN))).code).toBe('ERR_VALIDATION');
    expect(await settings.get(mode)).toBe('b');
    // A setting read with a different declaration that does not accept the stored value.
    expect((await thrown(() => settings.get(defineSetting('ui.theme', 'number')))).code).toBe('ERR_DECODE');
    expect(await settings.delete(theme)).toBe(true);
    expect(await settings.get(theme)).toBeUndefined();
    expect(() => defineSetting('Bad Key', 'string')).toThrow(/key/);
    expect(() => defineSetting('ok', 'date' as never)).toThrow(/type/);
    expect((await thrown(() => settings.get({ key: 'x' } as never))).code).toBe('ERR_VALIDATION');
  });
});
