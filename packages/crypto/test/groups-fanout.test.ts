/**
 * Group key fan-out: one content encryption, one small wrap per member device over its pairwise
 * v2 session; tampering, wrong group ids and hostile inputs.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeGroupKeyWrap,
  decryptGroupContent,
  encodeGroupChange,
  encodeGroupKeyWrap,
  encryptForGroup,
  type GroupChange,
  type GroupKeyWrap,
  groupContentDigest,
  verifyGroupChange,
} from '../src/groups/index.js';
import { type CryptoProvider, equalBytes, fromHex, toHex, utf8 } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';
import {
  type DeviceAddress,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  SessionCipher,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '../src/v2/index.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

const GROUP = utf8('group:design-team');

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('group fan-out (%s)', (name, p: CryptoProvider) => {
  const runs = name === 'noble' ? 5 : 20;

  it('round-trips through an encoded wrap, for any content, group id and epoch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 500 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        async (plaintext, groupId, epoch) => {
          const { contentKey, ciphertext, wrap } = await encryptForGroup(p, { plaintext, groupId, epoch });
          expect(equalBytes(wrap.contentKey, contentKey)).toBe(true);
          expect(ciphertext.length).toBe(1 + 4 + 12 + plaintext.length + 16);
          const decoded = decodeGroupKeyWrap(encodeGroupKeyWrap(wrap));
          expect(decoded).toEqual(wrap);
          const out = await decryptGroupContent(p, { wrap: encodeGroupKeyWrap(wrap), ciphertext });
          expect(out.epoch).toBe(epoch);
          expect(equalBytes(out.plaintext, plaintext)).toBe(true);
        },
      ),
      { numRuns: runs },
    );
  });

  it('uses a fresh key and nonce each time', async () => {
    const a = await encryptForGroup(p, { plaintext: utf8('same'), groupId: GROUP });
    const b = await encryptForGroup(p, { plaintext: utf8('same'), groupId: GROUP });
    expect(equalBytes(a.contentKey, b.contentKey)).toBe(false);
    expect(equalBytes(a.ciphertext.subarray(5, 17), b.ciphertext.subarray(5, 17))).toBe(false);
  });

  it('fails after any bit flip of the ciphertext, even with a matching digest', async () => {
    const { ciphertext, wrap } = await encryptForGroup(p, {
      plaintext: utf8('budget 2027'),
      groupId: GROUP,
      epoch: 3,
    });
    for (let i = 0; i < ciphertext.length; i++) {
      const altered = ciphertext.slice();
      altered[i] = (altered[i] as number) ^ (1 << (i % 8));
      expect(await code(() => decryptGroupContent(p, { wrap, ciphertext: altered })), `byte ${i}`).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      // An attacker who also replaces the digest still fails on the AEAD tag.
      const rewrapped: GroupKeyWrap = { ...wrap, contentDigest: await groupContentDigest(p, altered) };
      expect(
        await code(() => decryptGroupContent(p, { wrap: rewrapped, ciphertext: altered })),
        `byte ${i} with digest`,
      ).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('fails with another group id, content key or digest', async () => {
    const { ciphertext, wrap } = await encryptForGroup(p, { plaintext: utf8('x'), groupId: GROUP });
    const variants: [string, GroupKeyWrap][] = [
      ['groupId', { ...wrap, groupId: utf8('group:other') }],
      ['contentKey', { ...wrap, contentKey: p.randomBytes(32) }],
      ['contentDigest', { ...wrap, contentDigest: p.randomBytes(32) }],
    ];
    for (const [field, bad] of variants) {
      expect(await code(() => decryptGroupContent(p, { wrap: bad, ciphertext })), field).toBe(
        'ERR_DECRYPTION_FAILED',
      );
    }
    expect(await code(() => decryptGroupContent(p, { wrap, ciphertext: ciphertext.subarray(0, 20) }))).toBe(
      'ERR_DECRYPTION_FAILED',
    );
  });
});

describe('group fan-out: hostile inputs', () => {
  const p = PROVIDERS[0] as CryptoProvider;

  it('rejects bad arguments with ERR_VALIDATION', async () => {
    const cases: [string, () => Promise<unknown> | unknown][] = [
      ['empty groupId', () => encryptForGroup(p, { plaintext: utf8('x'), groupId: new Uint8Array(0) })],
      ['long groupId', () => encryptForGroup(p, { plaintext: utf8('x'), groupId: new Uint8Array(65) })],
      ['epoch', () => encryptForGroup(p, { plaintext: utf8('x'), groupId: GROUP, epoch: -1 })],
      ['plaintext', () => encryptForGroup(p, { plaintext: 'x' as unknown as Uint8Array, groupId: GROUP })],
      [
        'wrap key',
        () =>
          encodeGroupKeyWrap({
            groupId: GROUP,
            contentKey: new Uint8Array(31),
            contentDigest: new Uint8Array(32),
          }),
      ],
      [
        'wrap object',
        () =>
          decryptGroupContent(p, { wrap: null as unknown as GroupKeyWrap, ciphertext: new Uint8Array(40) }),
      ],
      [
        'ciphertext',
        () =>
          decryptGroupContent(p, {
            wrap: new Uint8Array(0) as Uint8Array,
            ciphertext: 'x' as unknown as Uint8Array,
          }),
      ],
    ];
    for (const [what, fn] of cases) expect(await code(fn), what).toBe('ERR_VALIDATION');
  });

  it('rejects malformed wraps with ERR_DECODE', async () => {
    const { wrap } = await encryptForGroup(p, { plaintext: utf8('x'), groupId: GROUP });
    const good = encodeGroupKeyWrap(wrap);
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['version', Uint8Array.of(2, ...good.subarray(1))],
      ['zero-length group id', Uint8Array.of(1, 0, ...new Uint8Array(64))],
      ['group id too long', Uint8Array.of(1, 65, ...new Uint8Array(200))],
      ['truncated', good.subarray(0, good.length - 1)],
      ['trailing', Uint8Array.of(...good, 0)],
    ];
    for (const [what, bytes] of cases) {
      expect(await code(() => decodeGroupKeyWrap(bytes)), what).toBe('ERR_DECODE');
      expect(
        await code(() => decryptGroupContent(p, { wrap: bytes, ciphertext: new Uint8Array(40) })),
        what,
      ).toBe('ERR_DECODE');
    }
  });
});

interface Device {
  readonly address: DeviceAddress;
  readonly identity: DeviceIdentity;
  readonly preKeys: InMemoryPreKeyStore;
  readonly sessions: InMemorySessionStore;
  readonly bundle: PreKeyBundle;
}

async function device(p: CryptoProvider, userId: string, id: number): Promise<Device> {
  const identity = await generateDeviceIdentity(p);
  const preKeys = new InMemoryPreKeyStore();
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(1));
  const one = await generateOneTimePreKeys(p, oneTimePreKeyId(1), 1);
  const kem = await generateKemPreKey(p, identity, kemPreKeyId(1), { lastResort: true });
  await preKeys.storeSignedPreKey(spk);
  await preKeys.storeOneTimePreKeys(one);
  await preKeys.storeKemPreKey(kem);
  return {
    address: { userId, deviceId: deviceId(id) },
    identity,
    preKeys,
    sessions: new InMemorySessionStore(),
    bundle: {
      registrationId: registrationId(id),
      deviceId: deviceId(id),
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

describe('group fan-out over SessionCipher (node provider)', () => {
  const p = createNodeProvider();

  it('encrypts once, wraps to 3 member devices, and leaves a removed member out', async () => {
    const alice = await device(p, 'alice', 1);
    const members = [await device(p, 'bob', 1), await device(p, 'bob', 2), await device(p, 'carol', 1)];
    const dave = await device(p, 'dave', 1); // removed from the group: has a session, gets no wrap
    const plaintext = utf8('the launch moves to Tuesday');
    const { contentKey, ciphertext, wrap } = await encryptForGroup(p, {
      plaintext,
      groupId: GROUP,
      epoch: 7,
    });
    const payload = encodeGroupKeyWrap(wrap);
    expect(payload.length).toBe(2 + GROUP.length + 64);

    for (const member of [...members, dave]) {
      const sender = new SessionCipher(p, {
        ourIdentity: alice.identity,
        remoteAddress: member.address,
        sessions: alice.sessions,
      });
      await sender.startSession(member.bundle);
      const receiver = new SessionCipher(p, {
        ourIdentity: member.identity,
        remoteAddress: alice.address,
        sessions: member.sessions,
        preKeys: member.preKeys,
      });
      if (member === dave) {
        // Dave sees the (server-stored) ciphertext and pairwise traffic that is not a wrap.
        expect(await receiver.decrypt(await sender.encrypt(utf8('you were removed')))).toEqual(
          utf8('you were removed'),
        );
        const guessed: GroupKeyWrap = {
          groupId: GROUP,
          contentKey: p.randomBytes(32),
          contentDigest: wrap.contentDigest,
        };
        expect(await code(() => decryptGroupContent(p, { wrap: guessed, ciphertext }))).toBe(
          'ERR_DECRYPTION_FAILED',
        );
        continue;
      }
      const message = await sender.encrypt(payload);
      const received = decodeGroupKeyWrap(await receiver.decrypt(message));
      expect(equalBytes(received.contentKey, contentKey), member.address.userId).toBe(true);
      const out = await decryptGroupContent(p, { wrap: received, ciphertext });
      expect(out.epoch).toBe(7);
      expect(
        equalBytes(out.plaintext, plaintext),
        `${member.address.userId}/${member.address.deviceId}`,
      ).toBe(true);
    }
  });
});

interface FanoutVectors {
  content: {
    name: string;
    groupId: string;
    epoch: number;
    plaintext: string;
    ciphertext: string;
    contentDigest: string;
    wrap: string;
  }[];
  signingPublicKey: string;
  changes: {
    groupId: string;
    version: number;
    action: GroupChange['action'];
    members: GroupChange['members'];
    encoded: string;
    signature: string;
  }[];
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('test-vectors/group-fanout.json (%s)', (_n, p) => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../../test-vectors/group-fanout.json', import.meta.url), 'utf8'),
  ) as FanoutVectors;

  it('decrypts every content case through its wrap', async () => {
    expect(vectors.content.length).toBeGreaterThan(0);
    for (const v of vectors.content) {
      const ciphertext = fromHex(v.ciphertext);
      expect(toHex(await groupContentDigest(p, ciphertext)), v.name).toBe(v.contentDigest);
      const wrap = decodeGroupKeyWrap(fromHex(v.wrap));
      expect(toHex(wrap.groupId), v.name).toBe(v.groupId);
      const out = await decryptGroupContent(p, { wrap, ciphertext });
      expect(toHex(out.plaintext), v.name).toBe(v.plaintext);
      expect(out.epoch, v.name).toBe(v.epoch);
    }
  });

  it('encodes and verifies every change case', async () => {
    const identity = {
      signingKey: fromHex(vectors.signingPublicKey),
      dhKey: new Uint8Array(32),
      dhKeySignature: new Uint8Array(64),
    };
    for (const v of vectors.changes) {
      const change: GroupChange = {
        groupId: fromHex(v.groupId),
        version: v.version,
        action: v.action,
        members: v.members,
      };
      const name = `version ${v.version}`;
      expect(toHex(encodeGroupChange(change)), name).toBe(v.encoded);
      expect(await verifyGroupChange(p, identity, change, fromHex(v.signature)), name).toBe(true);
    }
  });
});
