import { describe, expect, it } from 'vitest';
import { createNobleProvider, toHex, wipe } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';

// The node provider keeps imported private keys per array object; these tests show it never
// answers with a key the array no longer holds.
const node = createNodeProvider();
const noble = createNobleProvider();

describe('node provider private key handles', () => {
  it('follows an array whose bytes change in place (X25519 and Ed25519)', async () => {
    const peer = await noble.x25519.generateKeyPair();
    const priv = node.randomBytes(32);
    const first = await node.x25519.sharedSecret(priv, peer.publicKey);
    expect(toHex(first)).toBe(toHex(await noble.x25519.sharedSecret(priv, peer.publicKey)));
    priv.set(node.randomBytes(32));
    const second = await node.x25519.sharedSecret(priv, peer.publicKey);
    expect(toHex(second)).toBe(toHex(await noble.x25519.sharedSecret(priv, peer.publicKey)));
    expect(toHex(second)).not.toBe(toHex(first));

    const seed = node.randomBytes(32);
    const message = new Uint8Array([1, 2, 3]);
    expect(toHex(await node.ed25519.sign(seed, message))).toBe(
      toHex(await noble.ed25519.sign(seed, message)),
    );
    seed[0]! ^= 1;
    expect(toHex(await node.ed25519.sign(seed, message))).toBe(
      toHex(await noble.ed25519.sign(seed, message)),
    );
    expect(toHex(await node.ed25519.publicKey(seed))).toBe(toHex(await noble.ed25519.publicKey(seed)));
  });

  it('does not confuse curves for one array', async () => {
    const bytes = node.randomBytes(32);
    const x = await node.x25519.publicKey(bytes);
    const ed = await node.ed25519.publicKey(bytes);
    expect(toHex(x)).toBe(toHex(await noble.x25519.publicKey(bytes)));
    expect(toHex(ed)).toBe(toHex(await noble.ed25519.publicKey(bytes)));
    expect(toHex(await node.x25519.publicKey(bytes))).toBe(toHex(x));
  });

  it('a wiped array is a new (all-zero) key, not the old one', async () => {
    const priv = node.randomBytes(32);
    const before = await node.x25519.publicKey(priv);
    wipe(priv);
    const after = await node.x25519.publicKey(priv);
    expect(toHex(after)).toBe(toHex(await noble.x25519.publicKey(new Uint8Array(32))));
    expect(toHex(after)).not.toBe(toHex(before));
  });
});

// noble and node share the prepared ML-KEM keys, found first by array object: a hit must still
// be for the bytes the array holds now.
describe.each([
  ['noble', noble],
  ['node', node],
] as const)('prepared ML-KEM keys under %s', (_name, provider) => {
  it('follows a decapsulation key array whose bytes change in place', async () => {
    const a = await provider.mlkem768.generateKeyPair();
    const b = await provider.mlkem768.generateKeyPair();
    const toA = await provider.mlkem768.encapsulate(a.publicKey);
    const toB = await provider.mlkem768.encapsulate(b.publicKey);
    const held = a.secretKey.slice();
    expect(toHex(await provider.mlkem768.decapsulate(toA.ciphertext, held))).toBe(toHex(toA.sharedSecret));
    held.set(b.secretKey);
    // With A's prepared key, the re-encryption check would fail and yield an unrelated secret.
    expect(toHex(await provider.mlkem768.decapsulate(toB.ciphertext, held))).toBe(toHex(toB.sharedSecret));
  });

  it('follows an encapsulation key array whose bytes change in place', async () => {
    const a = await provider.mlkem768.generateKeyPair();
    const b = await provider.mlkem768.generateKeyPair();
    const key = a.publicKey.slice();
    const toA = await provider.mlkem768.encapsulate(key);
    expect(toHex(await provider.mlkem768.decapsulate(toA.ciphertext, a.secretKey))).toBe(
      toHex(toA.sharedSecret),
    );
    key.set(b.publicKey);
    const toB = await provider.mlkem768.encapsulate(key);
    expect(toHex(await provider.mlkem768.decapsulate(toB.ciphertext, b.secretKey))).toBe(
      toHex(toB.sharedSecret),
    );
  });
});
