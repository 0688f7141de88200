/**
 * Group fan-out: one 100-byte group message to N member devices (N = 10, 100, 1000), as the
 * sender does it: `encryptForGroup` once, then the encoded key wrap encrypted over the sender's
 * established v2 `SessionCipher` with each device and serialised with `encodeDeviceMessage`.
 * Node provider. Each case establishes its N sessions untimed in `prepare` (handshake plus one
 * message each way, so every wrap is a plain ratchet message; all 1000 real sessions take a few
 * seconds, so nothing is scaled). The recipient devices share one identity and long-term prekeys
 * (the work per session is the same as with distinct ones) and each has its own session store.
 */
import {
  type CryptoProvider,
  type DeviceAddress,
  decodeGroupKeyWrap,
  decryptGroupContent,
  deviceId,
  encodeGroupKeyWrap,
  encryptForGroup,
  equalBytes,
  generateDeviceIdentity,
  generateKemPreKey,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  kemPreKeyId,
  registrationId,
  SessionCipher,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  utf8,
} from '@cloister/crypto';
import {
  decodeDeviceMessage,
  decodePreKeyBundle,
  encodeDeviceMessage,
  encodePreKeyBundle,
} from '@cloister/protocol';
import { type BenchCase, check, defineCase, type Tier } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS_WITHOUT_WEBCRYPTO } from '../providers.js';

const AREA = 'groups';
const MESSAGE_BYTES = 100;
const DEVICE_COUNTS: readonly { readonly n: number; readonly tier: Tier }[] = [
  { n: 10, tier: 'light' },
  { n: 100, tier: 'heavy' },
  { n: 1000, tier: 'heavy' },
];
const SENDER: DeviceAddress = { userId: 'sender', deviceId: deviceId(1) };
const GROUP_ID = utf8('bench-group');

/** One member device: the sender's cipher towards it and its own cipher towards the sender. */
interface Member {
  readonly out: SessionCipher;
  readonly into: SessionCipher;
}

async function deliver(from: SessionCipher, to: SessionCipher, plaintext: Uint8Array): Promise<Uint8Array> {
  const parsed = decodeDeviceMessage(
    encodeDeviceMessage({ suite: 'v2', ...(await from.encrypt(plaintext)) }),
  );
  if (parsed.suite !== 'v2') throw new Error('unexpected suite');
  return to.decrypt(parsed);
}

/** Long-term keys of the sender and of the member devices, made once for every case. */
function keyMaterial(load: () => Promise<CryptoProvider>) {
  return once(async () => {
    const p = await load();
    const sender = await generateDeviceIdentity(p);
    const member = await generateDeviceIdentity(p);
    const signed = await generateSignedPreKey(p, member, signedPreKeyId(1));
    const kem = await generateKemPreKey(p, member, kemPreKeyId(1), { lastResort: true });
    const suitesIssuedAt = Date.now();
    const suitesSignature = await signSuites(p, member, ['v2'], {
      signedPreKeyId: signed.id,
      issuedAt: suitesIssuedAt,
    });
    return { p, sender, member, signed, kem, suitesIssuedAt, suitesSignature };
  });
}

/** Establishes sessions from the sender to `n` fresh member devices. */
async function establishMembers(material: ReturnType<typeof keyMaterial>, n: number): Promise<Member[]> {
  const establish = async (index: number): Promise<Member> => {
    const { p, sender, member, signed, kem, suitesIssuedAt, suitesSignature } = await material();
    const address: DeviceAddress = { userId: 'member', deviceId: deviceId(index + 1) };
    const preKeys = new InMemoryPreKeyStore();
    await preKeys.storeSignedPreKey(signed);
    await preKeys.storeKemPreKey(kem);
    const bundle = encodePreKeyBundle({
      registrationId: registrationId(index + 2),
      deviceId: address.deviceId,
      identity: toPublicIdentity(member),
      signedPreKey: toSignedPreKeyPublic(signed),
      kemPreKey: toKemPreKeyPublic(kem),
      suites: ['v2'],
      suitesIssuedAt,
      suitesSignature,
    });
    const out = new SessionCipher(p, {
      ourIdentity: sender,
      remoteAddress: address,
      sessions: new InMemorySessionStore(),
    });
    const into = new SessionCipher(p, {
      ourIdentity: member,
      remoteAddress: SENDER,
      sessions: new InMemorySessionStore(),
      preKeys,
    });
    await out.startSession(decodePreKeyBundle(bundle));
    await deliver(out, into, new Uint8Array(1));
    await deliver(into, out, new Uint8Array(1));
    return { out, into };
  };
  const members: Member[] = [];
  while (members.length < n) members.push(await establish(members.length));
  return members;
}

/** `groups/message/<N>devices/node` for N = 10, 100 and 1000. */
export function groupsCases(): BenchCase[] {
  const node = PROVIDERS_WITHOUT_WEBCRYPTO.find((p) => p.id === 'node');
  if (node === undefined) throw new Error('no node provider');
  const material = keyMaterial(node.load);
  const plaintext = randomInput(MESSAGE_BYTES);
  return DEVICE_COUNTS.map(({ n, tier }) =>
    defineCase({
      area: AREA,
      op: 'message',
      size: `${n}devices`,
      impl: node.id,
      bytes: MESSAGE_BYTES,
      tier,
      async prepare() {
        const provider = await node.load();
        const members = await establishMembers(material, n);
        const fn = async () => {
          const { ciphertext, wrap } = await encryptForGroup(provider, { plaintext, groupId: GROUP_ID });
          const payload = encodeGroupKeyWrap(wrap);
          const wires: Uint8Array[] = [];
          for (const m of members)
            wires.push(encodeDeviceMessage({ suite: 'v2', ...(await m.out.encrypt(payload)) }));
          return { ciphertext, wires };
        };
        const { ciphertext, wires } = await fn();
        check(wires.length === n, `${n} wraps`);
        for (const index of [0, n - 1]) {
          const member = members[index];
          const wire = wires[index];
          if (member === undefined || wire === undefined) throw new Error('missing member');
          const parsed = decodeDeviceMessage(wire);
          if (parsed.suite !== 'v2') throw new Error('unexpected suite');
          const wrap = decodeGroupKeyWrap(await member.into.decrypt(parsed));
          const opened = await decryptGroupContent(provider, { wrap, ciphertext });
          check(equalBytes(opened.plaintext, plaintext), `device ${index + 1} of ${n} decrypts`);
        }
        return { kind: 'async', fn };
      },
    }),
  );
}
