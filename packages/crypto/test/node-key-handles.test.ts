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
