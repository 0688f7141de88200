/**
 * Suite v2 end to end through the wire format: two devices with `@cloister/crypto`'s
 * `SessionCipher` and in-memory stores, the bundle through `encodePreKeyBundle` /
 * `decodePreKeyBundle` and every message through `encodeDeviceMessage` / `decodeDeviceMessage`.
 * Decoded objects go to crypto as they are: one set of domain types.
 *
 * Errors are compared by `code`, never by class: under vitest the crypto module may be loaded
 * twice (through `@cloister/crypto` and through relative paths), and `instanceof` would fail.
 */
import {
  type CiphertextMessage,
  deviceId,
  generateDeviceIdentity,
  type InitialMessage,
  InMemorySessionStore,
  SessionCipher,
  toHex,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type DeviceMessage,
  decodeDeviceMessage,
  decodePreKeyBundle,
  encodeDeviceMessage,
  encodePreKeyBundle,
  negotiateSuiteForBundle,
  SUITES,
} from '../src/index.js';
import { plain } from './arbitraries.js';
import { type Device, makeDevice } from './v2-fixtures.js';

const p = createNodeProvider();
const text = new TextDecoder();

interface Party {
  readonly name: 'alice' | 'bob';
  readonly cipher: SessionCipher;
  readonly signingKey: Uint8Array;
}

let alice: Party;
let bob: Party;
let bobDevice: Device;

/** What goes on the wire for one `SessionCipher.encrypt` output. */
function frame(out: CiphertextMessage): Uint8Array {
  return encodeDeviceMessage({ suite: 'v2', ...out });
}

/** A v2 message from the wire, exactly as `decodeDeviceMessage` returns it. */
function parse(bytes: Uint8Array): Extract<DeviceMessage, { suite: 'v2' }> {
  const m = decodeDeviceMessage(bytes);
  if (m.suite !== 'v2') throw new Error('expected a v2 message');
  return m;
}

async function send(from: Party, to: Party, message: string): Promise<DeviceMessage['type']> {
  const received = parse(frame(await from.cipher.encrypt(utf8(message))));
  // The decoded object goes to crypto as it is: no conversion, no cast.
  expect(text.decode(await to.cipher.decrypt(received)), `${from.name} -> ${to.name}: ${message}`).toBe(
    message,
  );
  return received.type;
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  return 'no error';
}

beforeEach(async () => {
  bobDevice = await makeDevice(p, SUITES);
  const aliceIdentity = await generateDeviceIdentity(p);
  alice = {
    name: 'alice',
    signingKey: aliceIdentity.signingKeyPair.publicKey,
    cipher: new SessionCipher(p, {
      ourIdentity: aliceIdentity,
      remoteAddress: { userId: 'bob', deviceId: bobDevice.bundle.deviceId },
      sessions: new InMemorySessionStore(),
    }),
  };
  bob = {
    name: 'bob',
    signingKey: bobDevice.identity.signingKeyPair.publicKey,
    cipher: new SessionCipher(p, {
      ourIdentity: bobDevice.identity,
      remoteAddress: { userId: 'alice', deviceId: deviceId(1) },
      sessions: new InMemorySessionStore(),
      preKeys: bobDevice.preKeys,
    }),
  };
});

/** Alice fetches Bob's bundle from the wire, negotiates v2 and starts the session. */
async function handshake(): Promise<void> {
  const bundle = decodePreKeyBundle(encodePreKeyBundle(bobDevice.bundle));
  expect(await negotiateSuiteForBundle(p, SUITES, bundle)).toBe('v2');
  await alice.cipher.startSession(bundle);
}

/** Every copy of `bytes` with one bit changed: the `bits` of each byte before `end`. */
function* flips(
  bytes: Uint8Array,
  bits = 0xff,
  end = bytes.length,
): Generator<{ at: string; bytes: Uint8Array }> {
  for (let i = 0; i < end; i++) {
    for (let bit = 0; bit < 8; bit++) {
      if ((bits & (1 << bit)) === 0) continue;
      const out = bytes.slice();
      out[i]! ^= 1 << bit;
      yield { at: `byte ${i} bit ${bit}`, bytes: out };
    }
  }
}

/** Decodes a tampered frame: the message, or the code of the decode error. */
function tryParse(
  bytes: Uint8Array,
): { message: Extract<DeviceMessage, { suite: 'v2' }> } | { code: string } {
  try {
    const message = decodeDeviceMessage(bytes);
    if (message.suite !== 'v2') return { code: 'decoded as static-v1' };
    return { message };
  } catch (e) {
    return { code: String((e as { code?: unknown }).code) };
  }
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(plain(a)) === JSON.stringify(plain(b));

describe('suite v2 through the wire format', () => {
  it('runs a handshake and 20 messages each way, every one encoded and decoded', async () => {
    await handshake();
    // Until Bob answers, Alice's messages carry the handshake.
    expect(await send(alice, bob, 'hello Bob')).toBe('initial');
    expect(await send(alice, bob, 'are you there?')).toBe('initial');
    expect(await send(bob, alice, 'hi Alice')).toBe('ratchet');
    expect(await send(alice, bob, 'now a ratchet message')).toBe('ratchet');
    // 20 messages each way: alternating (a DH ratchet step each time), then bursts.
    for (let i = 0; i < 10; i++) {
      expect(await send(alice, bob, `alternating ${i} from Alice`)).toBe('ratchet');
      expect(await send(bob, alice, `alternating ${i} from Bob`)).toBe('ratchet');
    }
    for (let i = 0; i < 10; i++) await send(bob, alice, `burst ${i} from Bob`);
    for (let i = 0; i < 10; i++) await send(alice, bob, `burst ${i} from Alice`);
    expect(toHex((await alice.cipher.remoteIdentity())!.signingKey)).toBe(toHex(bob.signingKey));
    expect(toHex((await bob.cipher.remoteIdentity())!.signingKey)).toBe(toHex(alice.signingKey));
  });

  it('decrypts messages delivered out of order and refuses a replayed frame', async () => {
    await handshake();
    await send(alice, bob, 'hello Bob');
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) frames.push(frame(await bob.cipher.encrypt(utf8(`late ${i}`))));
    for (const i of [3, 0, 4, 2, 1]) {
      expect(text.decode(await alice.cipher.decrypt(parse(frames[i]!))), `late ${i}`).toBe(`late ${i}`);
    }
    expect(await codeOf(() => alice.cipher.decrypt(parse(frames[2]!)))).toBe('ERR_REPLAY');
  });
});

describe('a tampered wire byte', () => {
  it('in a ratchet message: ERR_DECODE, ERR_DECRYPTION_FAILED or ERR_REPLAY, nothing else, nothing changed', async () => {
    await handshake();
    await send(alice, bob, 'hello Bob');
    await send(bob, alice, 'hi Alice');
    const bytes = frame(await bob.cipher.encrypt(utf8('tamper with me')));
    const original = parse(bytes);
    const codes = new Map<string, number>();
    for (const t of flips(bytes)) {
      const got = tryParse(t.bytes);
      let code: string;
      if ('code' in got) code = got.code;
      else if (same(got.message, original)) {
        // Protobuf is not canonical: a known field sent with another wire type reads the same.
        // Crypto then sees exactly the original fields, so nothing was tampered with.
        code = 'same fields';
      } else {
        code = await codeOf(() => alice.cipher.decrypt(got.message));
      }
      // ERR_REPLAY: a flip that lowers the message number names a position the chain has passed.
      expect(['ERR_DECODE', 'ERR_DECRYPTION_FAILED', 'ERR_REPLAY', 'same fields'], t.at).toContain(code);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get('ERR_DECODE')).toBeGreaterThan(0);
    expect(codes.get('ERR_DECRYPTION_FAILED')).toBeGreaterThan(0);
    // Nothing was consumed: the genuine frame still decrypts.
    expect(text.decode(await alice.cipher.decrypt(original))).toBe('tamper with me');
  });

  it('in an initial message: also ERR_INVALID_KEY when it names another identity or prekey', async () => {
    await handshake();
    const bytes = frame(await alice.cipher.encrypt(utf8('hello Bob')));
    const original = parse(bytes);
    if (original.type !== 'initial') throw new Error('expected an initial message');
    const codes = new Map<string, number>();
    // Bit 0 of every byte, and every bit of the first 48 bytes (tags, lengths, identity).
    for (const t of [...flips(bytes, 0x01), ...flips(bytes, 0xfe, 48)]) {
      const got = tryParse(t.bytes);
      let code: string;
      if ('code' in got) code = got.code;
      else if (same(got.message, original)) code = 'same fields';
      else {
        code = await codeOf(() => bob.cipher.decrypt(got.message));
        if (code === 'ERR_INVALID_KEY') {
          // Documented (spec/v2-sessions.md 5.2): a bad initiator identity or an unknown prekey id.
          expect(namesOtherKeys(got.message, original.message), `${t.at}: ERR_INVALID_KEY`).toBe(true);
        }
      }
      expect(['ERR_DECODE', 'ERR_DECRYPTION_FAILED', 'ERR_INVALID_KEY', 'same fields'], t.at).toContain(code);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get('ERR_DECRYPTION_FAILED')).toBeGreaterThan(0);
    // No prekey was consumed by a failed attempt: the genuine message still starts the session.
    expect(await bobDevice.preKeys.countOneTimePreKeys()).toBe(1);
    expect(text.decode(await bob.cipher.decrypt(original))).toBe('hello Bob');
    expect(await bobDevice.preKeys.countOneTimePreKeys()).toBe(0);
  });
});

/** True when `m` is an initial message naming another initiator identity or prekey than `o`. */
function namesOtherKeys(m: Extract<DeviceMessage, { suite: 'v2' }>, o: InitialMessage): boolean {
  if (m.type !== 'initial') return false;
  const t = m.message;
  return (
    !same(t.initiatorIdentity, o.initiatorIdentity) ||
    t.signedPreKeyId !== o.signedPreKeyId ||
    t.kemPreKeyId !== o.kemPreKeyId ||
    (t.oneTimePreKeyId !== undefined && t.oneTimePreKeyId !== o.oneTimePreKeyId)
  );
}
