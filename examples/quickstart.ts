/**
 * The README's quick start, compiled by `pnpm typecheck` and run by the tests, so the README
 * cannot drift from the API.
 */
import { getProvider, staticV1Decrypt, staticV1Encrypt, unwrapDataKey, wrapDataKey } from '@cloister/crypto';

export async function quickstart(): Promise<{
  plaintext: Uint8Array;
  dataKey: Uint8Array;
  again: Uint8Array;
}> {
  const provider = await getProvider(); // "node" on Node.js, "webcrypto" in browsers, or "noble"
  const alice = await provider.x25519.generateKeyPair();
  const bob = await provider.x25519.generateKeyPair();

  // static-v1: the product sheet's construction. No forward secrecy; for compatibility only.
  const message = await staticV1Encrypt(provider, {
    sender: alice,
    recipientPublicKey: bob.publicKey,
    plaintext: new TextEncoder().encode('hello'),
  });
  const plaintext = await staticV1Decrypt(provider, {
    recipient: bob,
    senderPublicKey: alice.publicKey,
    message,
  });

  // A random 256-bit data key, wrapped under scrypt(PIN).
  const { dataKey, record } = await wrapDataKey(provider, { pin: '482913' });
  const again = await unwrapDataKey(provider, record, '482913');
  return { plaintext, dataKey, again };
}
