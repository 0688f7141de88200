/**
 * Suite v2 Double Ratchet and session records: ordering, limits, duplicates versus forgeries,
 * no state change on failure, previous sessions, simultaneous initiation, the SessionCipher lock
 * and wiping of superseded secrets.
 */
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, isAllZero, toHex, utf8 } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';
import {
  type CiphertextMessage,
  type DeviceAddress,
  type DeviceIdentity,
  decryptRecord,
  deviceId,
  emptySessionRecord,
  encryptRecord,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  initiateSession,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  type RatchetMessage,
  ratchetDecrypt,
  ratchetEncrypt,
  registrationId,
  SessionCipher,
  type SessionRecord,
  type SessionState,
  serializeSession,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_MAX_RECEIVING_CHAINS,
  V2_MAX_SKIP,
  V2_MAX_SKIPPED_KEYS,
  V2_RECENT_DIGESTS,
} from '../src/v2/index.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Side {
  readonly identity: DeviceIdentity;
  readonly preKeys: InMemoryPreKeyStore;
  readonly bundle: PreKeyBundle;
}

async function side(p: CryptoProvider, opks = 4): Promise<Side> {
  const identity = await generateDeviceIdentity(p);
  const preKeys = new InMemoryPreKeyStore();
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(1));
  const one = await generateOneTimePreKeys(p, oneTimePreKeyId(1), opks);
  const kem = await generateKemPreKey(p, identity, kemPreKeyId(1), { lastResort: true });
  await preKeys.storeSignedPreKey(spk);
  await preKeys.storeOneTimePreKeys(one);
  await preKeys.storeKemPreKey(kem);
  return {
    identity,
    preKeys,
    bundle: {
      registrationId: registrationId(1),
      deviceId: deviceId(1),
      identity: toPublicIdentity(identity),
      signedPreKey: toSignedPreKeyPublic(spk),
      ...(one[0] === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(one[0]) }),
      kemPreKey: toKemPreKeyPublic(kem),
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: await signSuites(p, identity, ['v2'], {
        signedPreKeyId: spk.id,
        issuedAt: 1_700_000_000_000,
      }),
    },
  };
}

/** Two parties with records, driven through the pure record API. */
class Pair {
  records: Record<'a' | 'b', SessionRecord> = { a: emptySessionRecord(), b: emptySessionRecord() };
  constructor(
    readonly p: CryptoProvider,
    readonly sides: Record<'a' | 'b', Side>,
  ) {}

  static async create(p: CryptoProvider): Promise<Pair> {
    const [a, b] = await Promise.all([side(p), side(p)]);
    const pair = new Pair(p, { a, b });
    const { session } = await initiateSession(p, { ourIdentity: a.identity, theirBundle: b.bundle });
    pair.records.a = { version: 1, current: session, previous: [] };
    return pair;
  }

  async send(from: 'a' | 'b', body: string): Promise<CiphertextMessage> {
    const out = await encryptRecord(this.p, this.records[from], utf8(body));
    this.records[from] = out.record;
    return out.message;
  }

  async receive(to: 'a' | 'b', m: CiphertextMessage): Promise<string> {
    const s = this.sides[to];
    const out = await decryptRecord(this.p, this.records[to], m, {
      ourIdentity: s.identity,
      preKeys: s.preKeys,
    });
    this.records[to] = out.record;
    return text(out.plaintext);
  }

  /** Receives and expects failure; checks the record did not change. */
  async refuse(to: 'a' | 'b', m: CiphertextMessage): Promise<string> {
    const before = toHex(serializeSession(this.records[to]));
    const c = await code(() => this.receive(to, m));
    expect(toHex(serializeSession(this.records[to])), `record unchanged after ${c}`).toBe(before);
    return c;
  }
}

function ratchetOf(m: CiphertextMessage): RatchetMessage {
  return m.type === 'initial' ? m.message.message : m.message;
}

function withRatchet(m: CiphertextMessage, r: RatchetMessage): CiphertextMessage {
  return m.type === 'initial'
    ? { type: 'initial', message: { ...m.message, message: r } }
    : { type: 'ratchet', message: r };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('v2 ratchet under %s', (_name, p) => {
  it('delivers in order, out of order and late across ratchet steps', async () => {
    const pair = await Pair.create(p);
    const a = [0, 1, 2, 3].map((i) => `a${i}`);
    const am = [];
    for (const x of a) am.push(await pair.send('a', x));
    expect(am.map((m) => m.type)).toEqual(['initial', 'initial', 'initial', 'initial']);
    expect(await pair.receive('b', am[2]!)).toBe('a2');
    expect(await pair.receive('b', am[0]!)).toBe('a0');
    const b0 = await pair.send('b', 'b0');
    expect(b0.type).toBe('ratchet');
    expect(await pair.receive('a', b0)).toBe('b0');
    const a4 = await pair.send('a', 'a4');
    expect(a4.type, 'answered: no more initial messages').toBe('ratchet');
    expect(await pair.receive('b', a4)).toBe('a4');
    // Late messages of Alice's first chain, still in initial form.
    expect(await pair.receive('b', am[3]!)).toBe('a3');
    expect(await pair.receive('b', am[1]!)).toBe('a1');
    expect(await pair.refuse('b', am[1]!)).toBe('ERR_REPLAY');
  });

  it('refuses duplicates and altered copies of a delivered message without decrypting them (ERR_REPLAY for a used position)', async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'hello'));
    await pair.receive('a', await pair.send('b', 'hi'));
    const m = await pair.send('a', 'secret');
    expect(await pair.receive('b', m)).toBe('secret');
    expect(await pair.refuse('b', m)).toBe('ERR_REPLAY');
    const r = ratchetOf(m);
    const variants: [string, RatchetMessage][] = [
      ['ciphertext byte', { ...r, ciphertext: r.ciphertext.map((x, i) => (i === 0 ? x ^ 1 : x)) }],
      [
        'tag byte',
        { ...r, ciphertext: r.ciphertext.map((x, i) => (i === r.ciphertext.length - 1 ? x ^ 1 : x)) },
      ],
      ['truncated', { ...r, ciphertext: r.ciphertext.subarray(0, r.ciphertext.length - 1) }],
      ['message number', { ...r, header: { ...r.header, messageNumber: r.header.messageNumber + 1 } }],
      [
        'previous chain length',
        { ...r, header: { ...r.header, previousChainLength: r.header.previousChainLength + 1 } },
      ],
      [
        'ratchet key',
        {
          ...r,
          header: { ...r.header, ratchetKey: r.header.ratchetKey.map((x, i) => (i === 0 ? x ^ 1 : x)) },
        },
      ],
    ];
    // A copy whose header still names the delivered position is a replay whatever its ciphertext;
    // one naming a new position or another chain fails to authenticate. Neither is decrypted.
    const replayed = new Set(['ciphertext byte', 'tag byte', 'truncated', 'previous chain length']);
    for (const [name, v] of variants) {
      expect(await pair.refuse('b', withRatchet(m, v)), name).toBe(
        replayed.has(name) ? 'ERR_REPLAY' : 'ERR_DECRYPTION_FAILED',
      );
    }
    // A forgery of a message not yet received does not burn its key.
    const next = await pair.send('a', 'next');
    const rn = ratchetOf(next);
    const forged = withRatchet(next, {
      ...rn,
      ciphertext: rn.ciphertext.map((x, i) => (i === 2 ? x ^ 4 : x)),
    });
    expect(await pair.refuse('b', forged)).toBe('ERR_DECRYPTION_FAILED');
    expect(await pair.receive('b', next)).toBe('next');
  });

  it('refuses to skip more than V2_MAX_SKIP keys and accepts exactly that many', async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'first'));
    const r = ratchetOf(await pair.send('a', 'probe'));
    // Forged headers far ahead fail with ERR_LIMIT before any work, changing nothing.
    const far = { ...r, header: { ...r.header, messageNumber: r.header.messageNumber + V2_MAX_SKIP + 1 } };
    expect(await pair.refuse('b', { type: 'ratchet', message: far })).toBe('ERR_LIMIT');
    const max = { ...r, header: { ...r.header, messageNumber: 0xffff_ffff } };
    expect(await pair.refuse('b', { type: 'ratchet', message: max })).toBe('ERR_DECRYPTION_FAILED');
  });

  it('never mutates the state given to ratchetEncrypt / ratchetDecrypt', async () => {
    const pair = await Pair.create(p);
    const s0 = pair.records.a.current as SessionState;
    const before = toHex(serializeSession(pair.records.a));
    const { state, message } = await ratchetEncrypt(p, s0, utf8('x'));
    expect(toHex(serializeSession(pair.records.a))).toBe(before);
    expect(state.sending.index).toBe(s0.sending.index + 1);
    const b = await decryptRecord(
      p,
      emptySessionRecord(),
      {
        type: 'initial',
        message: {
          suite: 'v2',
          initiatorIdentity: s0.localIdentity,
          baseKey: s0.baseKey,
          signedPreKeyId: s0.pending!.signedPreKeyId,
          oneTimePreKeyId: s0.pending!.oneTimePreKeyId!,
          kemPreKeyId: s0.pending!.kemPreKeyId,
          kemCiphertext: s0.pending!.kemCiphertext,
          message,
        },
      },
      { ourIdentity: pair.sides.b.identity, preKeys: pair.sides.b.preKeys },
    );
    const bs = b.record.current!;
    const reply = await ratchetEncrypt(p, bs, utf8('reply'));
    const snapshot = toHex(serializeSession({ version: 1, current: state, previous: [] }));
    const out = await ratchetDecrypt(p, state, reply.message);
    expect(text(out.plaintext)).toBe('reply');
    expect(toHex(serializeSession({ version: 1, current: state, previous: [] }))).toBe(snapshot);
    expect(out.state.pending).toBeUndefined();
    expect(await code(() => ratchetDecrypt(p, out.state, reply.message))).toBe('ERR_REPLAY');
  });

  it('keeps a previous session for late messages after a new handshake', async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'one'));
    await pair.receive('a', await pair.send('b', 'two'));
    const late = await pair.send('a', 'late');
    // Alice starts over (for example after losing state); Bob keeps the old session as previous.
    const { oneTimePreKey: _used, ...bundle } = pair.sides.b.bundle;
    const { session } = await initiateSession(p, { ourIdentity: pair.sides.a.identity, theirBundle: bundle });
    pair.records.a = { version: 1, current: session, previous: [pair.records.a.current!] };
    expect(await pair.receive('b', await pair.send('a', 'fresh'))).toBe('fresh');
    expect(pair.records.b.previous).toHaveLength(1);
    expect(await pair.receive('b', late)).toBe('late');
    const oldBaseKey = toHex(pair.records.a.previous[0]!.baseKey);
    expect(toHex(pair.records.b.current!.baseKey), 'the session that decrypted became current').toBe(
      oldBaseKey,
    );
    expect(toHex(pair.records.b.previous[0]!.baseKey)).toBe(toHex(pair.records.a.current!.baseKey));
    // Bob now answers in the old session; Alice still holds it as previous and decrypts.
    const reply = await pair.send('b', 'to whichever');
    expect(await pair.receive('a', reply)).toBe('to whichever');
    expect(toHex(pair.records.a.current!.baseKey)).toBe(oldBaseKey);
  });

  it('survives simultaneous initiation', async () => {
    const pair = await Pair.create(p);
    const { session } = await initiateSession(p, {
      ourIdentity: pair.sides.b.identity,
      theirBundle: pair.sides.a.bundle,
    });
    pair.records.b = { version: 1, current: session, previous: [] };
    const fromA = await pair.send('a', 'A first');
    const fromB = await pair.send('b', 'B first');
    expect(await pair.receive('b', fromA)).toBe('A first');
    expect(await pair.receive('a', fromB)).toBe('B first');
    for (let i = 0; i < 3; i++) {
      expect(await pair.receive('b', await pair.send('a', `a${i}`))).toBe(`a${i}`);
      expect(await pair.receive('a', await pair.send('b', `b${i}`))).toBe(`b${i}`);
    }
  });
});

describe('v2 ratchet limits (node provider)', () => {
  const p = createNodeProvider();

  it('accepts a message exactly V2_MAX_SKIP ahead', async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'first'));
    await pair.receive('a', await pair.send('b', 'reply'));
    const held: CiphertextMessage[] = [];
    for (let i = 0; i <= V2_MAX_SKIP; i++) held.push(await pair.send('a', `m${i}`));
    expect(await pair.receive('b', held[V2_MAX_SKIP]!)).toBe(`m${V2_MAX_SKIP}`);
    expect(pair.records.b.current!.skipped).toHaveLength(V2_MAX_SKIP);
    expect(await pair.receive('b', held[0]!)).toBe('m0');
    expect(await pair.receive('b', held[1999]!)).toBe('m1999');
  });

  it('evicts the oldest skipped keys beyond V2_MAX_SKIPPED_KEYS', async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'first'));
    await pair.receive('a', await pair.send('b', 'reply'));
    const chain1: CiphertextMessage[] = [];
    for (let i = 0; i < 1500; i++) chain1.push(await pair.send('a', `c1-${i}`));
    await pair.receive('b', chain1[1499]!);
    await pair.receive('a', await pair.send('b', 'turn'));
    const chain2: CiphertextMessage[] = [];
    for (let i = 0; i < 1000; i++) chain2.push(await pair.send('a', `c2-${i}`));
    await pair.receive('b', chain2[999]!);
    const skipped = pair.records.b.current!.skipped;
    expect(skipped).toHaveLength(V2_MAX_SKIPPED_KEYS);
    const evicted = 1499 + 999 - V2_MAX_SKIPPED_KEYS;
    // Its key is gone: the position is past and keyless, so it is refused as a replay (no reset
    // could bring the key back).
    expect(await pair.refuse('b', chain1[evicted - 1]!)).toBe('ERR_REPLAY');
    expect(await pair.receive('b', chain1[evicted]!)).toBe(`c1-${evicted}`);
    expect(await pair.receive('b', chain2[0]!)).toBe('c2-0');
  });

  it(`drops receiving chains older than the last ${V2_MAX_RECEIVING_CHAINS}`, async () => {
    const pair = await Pair.create(p);
    await pair.receive('b', await pair.send('a', 'first'));
    const held: CiphertextMessage[] = [];
    for (let round = 0; round < V2_MAX_RECEIVING_CHAINS + 1; round++) {
      await pair.receive('a', await pair.send('b', `turn ${round}`));
      held.push(await pair.send('a', `held ${round}`));
      await pair.receive('b', await pair.send('a', `seen ${round}`));
    }
    expect(pair.records.b.current!.receiving).toHaveLength(V2_MAX_RECEIVING_CHAINS);
    // Bob has seen 1 + 6 chains: the first one and the one of held[0] were dropped with their keys.
    expect(await pair.refuse('b', held[0]!)).toBe('ERR_DECRYPTION_FAILED');
    for (let i = 1; i < held.length; i++) expect(await pair.receive('b', held[i]!)).toBe(`held ${i}`);
  });

  it(`recognises duplicates among the last ${V2_RECENT_DIGESTS} messages only`, async () => {
    const pair = await Pair.create(p);
    const first = await pair.send('a', 'm0');
    await pair.receive('b', first);
    for (let i = 1; i < V2_RECENT_DIGESTS; i++) await pair.receive('b', await pair.send('a', `m${i}`));
    expect(await pair.refuse('b', first)).toBe('ERR_REPLAY');
    await pair.receive('b', await pair.send('a', 'one more'));
    // Beyond the digest window the position check still knows it: the chain has passed it.
    expect(await pair.refuse('b', first), 'beyond the window').toBe('ERR_REPLAY');
  });

  it('refuses to send beyond 2^32 - 1 messages on one chain', async () => {
    const pair = await Pair.create(p);
    const s = pair.records.a.current!;
    const exhausted: SessionState = { ...s, sending: { ...s.sending, index: 0xffff_ffff } };
    expect(await code(() => ratchetEncrypt(p, exhausted, utf8('x')))).toBe('ERR_LIMIT');
  });
});

describe('SessionCipher (node provider)', () => {
  const p = createNodeProvider();
  const addrA: DeviceAddress = { userId: 'alice', deviceId: deviceId(1) };
  const addrB: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };

  async function ciphers() {
    const [a, b] = await Promise.all([side(p), side(p)]);
    const sa = new InMemorySessionStore();
    const sb = new InMemorySessionStore();
    const alice = new SessionCipher(p, { ourIdentity: a.identity, remoteAddress: addrB, sessions: sa });
    const bob = new SessionCipher(p, {
      ourIdentity: b.identity,
      remoteAddress: addrA,
      sessions: sb,
      preKeys: b.preKeys,
    });
    await alice.startSession(b.bundle);
    return { alice, bob, sa, sb, a, b };
  }

  it('serialises concurrent operations on one session (Promise.all)', async () => {
    const { alice, bob } = await ciphers();
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => alice.encrypt(utf8(`m${i}`))));
    const numbers = sent.map((m) => ratchetOf(m).header.messageNumber);
    expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const shuffled = [...sent].reverse();
    const got = await Promise.all(shuffled.map((m) => bob.decrypt(m)));
    expect(got.map(text)).toEqual(shuffled.map((_, i) => `m${39 - i}`));
    // Interleaved encrypts and decrypts in both directions.
    const replies = await Promise.all([
      bob.encrypt(utf8('r0')),
      bob.encrypt(utf8('r1')),
      alice.encrypt(utf8('x')),
    ]);
    const back = await Promise.all([
      alice.decrypt(replies[0]!),
      alice.decrypt(replies[1]!),
      bob.decrypt(replies[2]!),
    ]);
    expect(back.map(text)).toEqual(['r0', 'r1', 'x']);
    expect(await alice.hasSession()).toBe(true);
    expect(await alice.remoteIdentity()).toBeDefined();
  });

  it('leaves the stored record unchanged on failure and reports typed errors', async () => {
    const { alice, bob, sb } = await ciphers();
    const m = await alice.encrypt(utf8('hello'));
    expect(text(await bob.decrypt(m))).toBe('hello');
    const before = toHex(serializeSession((await sb.loadSession(addrA))!));
    expect(await code(() => bob.decrypt(m))).toBe('ERR_REPLAY');
    const r = ratchetOf(m);
    expect(
      await code(() => bob.decrypt(withRatchet(m, { ...r, ciphertext: r.ciphertext.map((x) => x ^ 1) }))),
    ).toBe('ERR_REPLAY');
    expect(
      await code(() =>
        bob.decrypt(
          withRatchet(m, { ...r, header: { ...r.header, messageNumber: r.header.messageNumber + 1 } }),
        ),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
    expect(toHex(serializeSession((await sb.loadSession(addrA))!))).toBe(before);
    const noPreKeys = new SessionCipher(p, {
      ourIdentity: (await side(p)).identity,
      remoteAddress: addrA,
      sessions: new InMemorySessionStore(),
    });
    expect(await code(() => noPreKeys.decrypt(m))).toBe('ERR_USAGE');
    expect(await code(() => noPreKeys.encrypt(utf8('x')))).toBe('ERR_USAGE');
  });

  it('wipes the secrets of the records it replaces', async () => {
    const { alice, sa } = await ciphers();
    await alice.encrypt(utf8('one'));
    const old = (await sa.loadSession(addrB))!;
    const oldChainKey = old.current!.sending.chainKey;
    expect(isAllZero(oldChainKey)).toBe(false);
    await alice.encrypt(utf8('two'));
    expect(isAllZero(oldChainKey), 'superseded chain key wiped').toBe(true);
    const now = (await sa.loadSession(addrB))!;
    expect(isAllZero(now.current!.sending.chainKey)).toBe(false);
    expect(isAllZero(now.current!.rootKey), 'shared root key kept').toBe(false);
  });

  it('asks isTrustedIdentity before starting or accepting a session', async () => {
    const [a, b] = await Promise.all([side(p), side(p)]);
    const asked: string[] = [];
    const refuse = new SessionCipher(p, {
      ourIdentity: a.identity,
      remoteAddress: addrB,
      sessions: new InMemorySessionStore(),
      isTrustedIdentity: (id) => {
        asked.push(toHex(id.signingKey));
        return false;
      },
    });
    expect(await code(() => refuse.startSession(b.bundle))).toBe('ERR_INVALID_KEY');
    expect(await refuse.hasSession()).toBe(false);
    expect(asked).toEqual([toHex(b.identity.signingKeyPair.publicKey)]);

    const alice = new SessionCipher(p, {
      ourIdentity: a.identity,
      remoteAddress: addrB,
      sessions: new InMemorySessionStore(),
    });
    await alice.startSession(b.bundle);
    const first = await alice.encrypt(utf8('hello'));
    const bobSessions = new InMemorySessionStore();
    let trusted = false;
    const bob = new SessionCipher(p, {
      ourIdentity: b.identity,
      remoteAddress: addrA,
      sessions: bobSessions,
      preKeys: b.preKeys,
      isTrustedIdentity: async () => trusted,
    });
    expect(await code(() => bob.decrypt(first))).toBe('ERR_INVALID_KEY');
    expect(await b.preKeys.countOneTimePreKeys(), 'no prekey used for an untrusted identity').toBe(4);
    trusted = true;
    expect(text(await bob.decrypt(first))).toBe('hello');
    trusted = false;
    // Later messages of the accepted session are not asked about again.
    expect(text(await bob.decrypt(await alice.encrypt(utf8('again'))))).toBe('again');
  });

  it('does not wipe anything when storing fails', async () => {
    const { a, b } = await ciphers();
    const failing = new InMemorySessionStore();
    let fail = false;
    const store = {
      loadSession: (x: DeviceAddress) => failing.loadSession(x),
      storeSession: async (x: DeviceAddress, r: SessionRecord) => {
        if (fail) throw new Error('disk full');
        await failing.storeSession(x, r);
      },
    };
    const c = new SessionCipher(p, { ourIdentity: a.identity, remoteAddress: addrB, sessions: store });
    await c.startSession(b.bundle);
    const before = (await failing.loadSession(addrB))!;
    fail = true;
    await expect(c.encrypt(utf8('x'))).rejects.toThrow('disk full');
    expect(isAllZero(before.current!.sending.chainKey)).toBe(false);
    fail = false;
    const m = await c.encrypt(utf8('y'));
    expect(ratchetOf(m).header.messageNumber).toBe(0);
  });
});
