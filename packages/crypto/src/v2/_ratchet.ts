/**
 * The Double Ratchet core of suite `v2`. Inputs are trusted (checked by the public wrappers).
 * Functions never mutate or wipe their inputs: they return new states that share unchanged
 * parts with the old one, and wipe only the temporary secrets they create.
 *
 * ```
 * KDF_RK(rk, dh)  = HKDF-SHA256(salt = rk, ikm = dh, info = "cloister/v2/ratchet/root", 64)
 *                   -> rk' = [0..32), ck = [32..64)
 * KDF_CK(ck)      = HMAC-SHA512(ck, "cloister/v2/ratchet/chain")
 *                   -> mk = [0..32), ck' = [32..64)
 * AEAD keys(mk)   = HMAC-SHA512(mk, "cloister/v2/ratchet/message/aead")
 *                   -> key = [0..32), nonce = [32..44)   (the last 20 bytes are discarded)
 * AD(header)      = "cloister/v2/ratchet/message/ad" | u8 2 | "v2"
 *                   | initiator.signingKey | initiator.dhKey | responder.signingKey | responder.dhKey
 *                   | header(40)
 * digest(message) = SHA-256("cloister/v2/ratchet/message/seen" | header(40) | ciphertext)[0..16)
 * ```
 */
import { equalBytes, utf8, wipe } from '../bytes.js';
import { DecryptionFailed, InvalidKeyError, LimitError, ReplayError } from '../errors.js';
import type { CryptoProvider, KeyPair } from '../provider.js';
import { HEADER_LENGTH, writeHeader } from './_layout.js';
import { UINT32_MAX } from './_validate.js';
import {
  V2_LABELS,
  V2_MAX_RECEIVING_CHAINS,
  V2_MAX_SKIP,
  V2_MAX_SKIPPED_KEYS,
  V2_RECENT_DIGESTS,
  V2_SUITE,
} from './constants.js';
import type {
  PublicIdentity,
  RatchetHeader,
  RatchetMessage,
  ReceivingChain,
  SessionState,
  SkippedMessageKey,
} from './types.js';

/** Receives every intermediate value of a computation (vector generation and tests only). */
export type Trace = (name: string, value: Uint8Array | number) => void;

const ROOT_INFO = utf8(V2_LABELS.root);
const CHAIN_LABEL = utf8(V2_LABELS.chain);
const AEAD_LABEL = utf8(V2_LABELS.messageAead);
const AD_LABEL = utf8(V2_LABELS.messageAd);
const SEEN_LABEL = utf8(V2_LABELS.messageSeen);
const SUITE_BYTES = utf8(V2_SUITE);
export const DIGEST_LENGTH = 16;

/** KDF_RK: the root-key step. */
export async function kdfRk(
  p: CryptoProvider,
  rootKey: Uint8Array,
  dh: Uint8Array,
): Promise<{ rootKey: Uint8Array; chainKey: Uint8Array }> {
  const out = await p.hkdfSha256(dh, rootKey, ROOT_INFO, 64);
  const result = { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
  wipe(out);
  return result;
}

/**
 * KDF_CK: the message key of this position and the next chain key. Each gets its own array (a
 * stored skipped key must not keep the chain key's bytes alive in a shared buffer).
 */
export async function kdfCk(p: CryptoProvider, chainKey: Uint8Array): Promise<[Uint8Array, Uint8Array]> {
  const out = await p.hmacSha512(chainKey, CHAIN_LABEL);
  const result: [Uint8Array, Uint8Array] = [out.slice(0, 32), out.slice(32, 64)];
  wipe(out);
  return result;
}

/** The AD prefix: label, suite, initiator identity, responder identity. */
export function adPrefixLength(): number {
  return AD_LABEL.length + 1 + SUITE_BYTES.length + 128;
}

/** The associated data of a message with `header` in session `s`. */
export function associatedData(s: SessionState, header: RatchetHeader): Uint8Array {
  const [initiator, responder]: [PublicIdentity, PublicIdentity] =
    s.role === 'initiator' ? [s.localIdentity, s.remoteIdentity] : [s.remoteIdentity, s.localIdentity];
  const prefix = adPrefixLength();
  const ad = new Uint8Array(prefix + HEADER_LENGTH);
  let o = 0;
  ad.set(AD_LABEL, o);
  o += AD_LABEL.length;
  ad[o++] = SUITE_BYTES.length;
  ad.set(SUITE_BYTES, o);
  o += SUITE_BYTES.length;
  ad.set(initiator.signingKey, o);
  ad.set(initiator.dhKey, o + 32);
  ad.set(responder.signingKey, o + 64);
  ad.set(responder.dhKey, o + 96);
  writeHeader(ad, prefix, header);
  return ad;
}

/** The 16-byte duplicate digest of a received message. Digests are of public data. */
export async function messageDigest(p: CryptoProvider, message: RatchetMessage): Promise<Uint8Array> {
  const input = new Uint8Array(SEEN_LABEL.length + HEADER_LENGTH + message.ciphertext.length);
  input.set(SEEN_LABEL, 0);
  writeHeader(input, SEEN_LABEL.length, message.header);
  input.set(message.ciphertext, SEEN_LABEL.length + HEADER_LENGTH);
  const full = await p.sha256(input);
  return full.slice(0, DIGEST_LENGTH);
}

/** True when `digest` is one of `digests`. Digests are public, so an early exit is fine. */
function seen(digests: readonly Uint8Array[], digest: Uint8Array): boolean {
  for (const d of digests) {
    if (d[0] === digest[0] && d[1] === digest[1] && equalBytes(d, digest)) return true;
  }
  return false;
}

/** AEAD keys(mk): 64 bytes whose [0..32) is the AES-256-GCM key and [32..44) the nonce. */
function aeadMaterial(p: CryptoProvider, messageKey: Uint8Array): Promise<Uint8Array> {
  return p.hmacSha512(messageKey, AEAD_LABEL);
}

async function seal(
  p: CryptoProvider,
  messageKey: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  trace?: Trace,
): Promise<Uint8Array> {
  const material = await aeadMaterial(p, messageKey);
  const key = material.subarray(0, 32);
  const nonce = material.subarray(32, 44);
  try {
    if (trace) {
      trace('aeadKey', key);
      trace('aeadNonce', nonce);
      trace('associatedData', ad);
    }
    return await p.aes256gcm.encrypt(key, nonce, plaintext, ad);
  } finally {
    wipe(material);
  }
}

async function open(
  p: CryptoProvider,
  messageKey: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array,
  trace?: Trace,
): Promise<Uint8Array> {
  const material = await aeadMaterial(p, messageKey);
  const key = material.subarray(0, 32);
  const nonce = material.subarray(32, 44);
  try {
    if (trace) {
      trace('aeadKey', key);
      trace('aeadNonce', nonce);
      trace('associatedData', ad);
    }
    return await p.aes256gcm.decrypt(key, nonce, ciphertext, ad);
  } finally {
    wipe(material);
  }
}

/** Encrypts one message on the sending chain of `s`. */
export async function encryptState(
  p: CryptoProvider,
  s: SessionState,
  plaintext: Uint8Array,
  trace?: Trace,
): Promise<{ state: SessionState; message: RatchetMessage }> {
  const { sending } = s;
  // The last number a chain may use is 2^32 - 2, so every stored index fits in a u32.
  if (sending.index >= UINT32_MAX) throw new LimitError('sending chain exhausted: start a new session');
  const [messageKey, nextChainKey] = await kdfCk(p, sending.chainKey);
  const header: RatchetHeader = {
    ratchetKey: sending.ratchetKeyPair.publicKey,
    previousChainLength: s.previousSendingLength,
    messageNumber: sending.index,
  };
  let ciphertext: Uint8Array;
  try {
    if (trace) {
      trace('chainKey', sending.chainKey);
      trace('messageKey', messageKey);
      trace('nextChainKey', nextChainKey);
    }
    ciphertext = await seal(p, messageKey, plaintext, associatedData(s, header), trace);
  } catch (e) {
    wipe(nextChainKey);
    throw e;
  } finally {
    wipe(messageKey);
  }
  return {
    state: {
      ...s,
      sending: { ratchetKeyPair: sending.ratchetKeyPair, chainKey: nextChainKey, index: sending.index + 1 },
    },
    message: { header, ciphertext },
  };
}

interface Advanced {
  /** Keys for positions [from, to), in order. */
  readonly skipped: SkippedMessageKey[];
  /** Message key of position `to`. */
  readonly messageKey: Uint8Array;
  /** Chain key of position `to + 1`. */
  readonly chainKey: Uint8Array;
}

/** Walks a chain from position `from` (key `chainKey`) to position `to`. */
async function advance(
  p: CryptoProvider,
  chainKey: Uint8Array,
  from: number,
  to: number,
  ratchetKey: Uint8Array,
): Promise<Advanced> {
  const skipped: SkippedMessageKey[] = [];
  let ck = chainKey;
  try {
    for (let i = from; ; i++) {
      const [mk, next] = await kdfCk(p, ck);
      if (ck !== chainKey) wipe(ck);
      ck = next;
      if (i === to) return { skipped, messageKey: mk, chainKey: ck };
      skipped.push({ ratchetKey, messageNumber: i, messageKey: mk });
    }
  } catch (e) {
    wipeSkipped(skipped);
    if (ck !== chainKey) wipe(ck);
    throw e;
  }
}

function wipeSkipped(keys: readonly SkippedMessageKey[]): void {
  for (const k of keys) wipe(k.messageKey);
}

/** Appends new skipped keys, dropping the oldest beyond the limit; wipes new keys it drops. */
function appendSkipped(
  existing: readonly SkippedMessageKey[],
  added: readonly SkippedMessageKey[],
): SkippedMessageKey[] {
  const all = existing.length === 0 ? [...added] : [...existing, ...added];
  const excess = all.length - V2_MAX_SKIPPED_KEYS;
  if (excess <= 0) return all;
  const fresh = new Set(added);
  wipeSkipped(all.slice(0, excess).filter((k) => fresh.has(k)));
  return all.slice(excess);
}

function withDigest(digests: readonly Uint8Array[], digest: Uint8Array): Uint8Array[] {
  const start = digests.length >= V2_RECENT_DIGESTS ? digests.length - V2_RECENT_DIGESTS + 1 : 0;
  const out = digests.slice(start);
  out.push(digest);
  return out;
}

/** A copy of `s` without its `pending` handshake fields (the peer has answered). */
function answered(s: SessionState): SessionState {
  if (s.pending === undefined) return s;
  const { pending: _pending, ...rest } = s;
  return rest;
}

/**
 * Decrypts `message` in session `s`. Throws `ReplayError` for an exact duplicate of a recently
 * decrypted message and for a position its chain has passed without a kept key, `LimitError` when the header asks to skip more than `V2_MAX_SKIP` keys, and
 * `DecryptionFailed` for everything else; `s` is never changed.
 */
export async function decryptState(
  p: CryptoProvider,
  s: SessionState,
  message: RatchetMessage,
  digest: Uint8Array,
  trace?: Trace,
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  if (seen(s.recentDigests, digest)) throw new ReplayError('message already decrypted in this session');
  const { header } = message;
  if (header.messageNumber >= UINT32_MAX) throw new DecryptionFailed();
  const chainIndex = s.receiving.findIndex((c) => equalBytes(c.ratchetKey, header.ratchetKey));
  const ad = associatedData(s, header);
  if (chainIndex >= 0) {
    const chain = s.receiving[chainIndex]!;
    if (header.messageNumber < chain.index) {
      const k = s.skipped.findIndex(
        (sk) => sk.messageNumber === header.messageNumber && equalBytes(sk.ratchetKey, header.ratchetKey),
      );
      // A position this chain has passed whose key is not kept was delivered already (or never
      // existed): a replay, whatever the ciphertext. Never a reason to doubt the session.
      if (k < 0) throw new ReplayError('message number already used in this chain');
      const key = s.skipped[k]!;
      trace?.('messageKey', key.messageKey);
      const plaintext = await open(p, key.messageKey, message.ciphertext, ad, trace);
      const skipped = s.skipped.slice();
      skipped.splice(k, 1);
      return {
        state: { ...answered(s), skipped, recentDigests: withDigest(s.recentDigests, digest) },
        plaintext,
      };
    }
    if (chain.chainKey === undefined) throw new DecryptionFailed();
    if (header.messageNumber - chain.index > V2_MAX_SKIP) {
      throw new LimitError(`message skips more than ${V2_MAX_SKIP} keys`);
    }
    const adv = await advance(p, chain.chainKey, chain.index, header.messageNumber, header.ratchetKey);
    let plaintext: Uint8Array;
    try {
      if (trace) {
        trace('chainKey', chain.chainKey);
        trace('skippedKeys', adv.skipped.length);
        trace('messageKey', adv.messageKey);
        trace('nextChainKey', adv.chainKey);
      }
      plaintext = await open(p, adv.messageKey, message.ciphertext, ad, trace);
    } catch (e) {
      wipeSkipped(adv.skipped);
      wipe(adv.chainKey);
      throw e;
    } finally {
      wipe(adv.messageKey);
    }
    const receiving = s.receiving.slice();
    receiving[chainIndex] = {
      ratchetKey: chain.ratchetKey,
      chainKey: adv.chainKey,
      index: header.messageNumber + 1,
    };
    return {
      state: {
        ...answered(s),
        receiving,
        skipped: adv.skipped.length === 0 ? s.skipped : appendSkipped(s.skipped, adv.skipped),
        recentDigests: withDigest(s.recentDigests, digest),
      },
      plaintext,
    };
  }
  return ratchetStepDecrypt(p, s, message, ad, digest, trace);
}

/** A message under a ratchet key we have not seen: close the current chain, step the root. */
async function ratchetStepDecrypt(
  p: CryptoProvider,
  s: SessionState,
  message: RatchetMessage,
  ad: Uint8Array,
  digest: Uint8Array,
  trace?: Trace,
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  const { header } = message;
  const current = s.receiving[0];
  if (header.messageNumber > V2_MAX_SKIP) throw new LimitError(`message skips more than ${V2_MAX_SKIP} keys`);
  const closeTo = current?.chainKey !== undefined && header.previousChainLength > current.index;
  if (closeTo && header.previousChainLength - current.index > V2_MAX_SKIP) {
    throw new LimitError(`message skips more than ${V2_MAX_SKIP} keys`);
  }
  const created: Uint8Array[] = [];
  const createdSkipped: SkippedMessageKey[] = [];
  try {
    // Keys left on the current chain up to the peer's previous chain length.
    if (closeTo && current.chainKey !== undefined) {
      const tail = await advance(
        p,
        current.chainKey,
        current.index,
        header.previousChainLength,
        current.ratchetKey,
      );
      createdSkipped.push(...tail.skipped);
      wipe(tail.messageKey, tail.chainKey);
    }
    let dhReceive: Uint8Array;
    try {
      dhReceive = await p.x25519.sharedSecret(s.sending.ratchetKeyPair.privateKey, header.ratchetKey);
    } catch (e) {
      if (e instanceof InvalidKeyError) throw new DecryptionFailed();
      throw e;
    }
    created.push(dhReceive);
    const step1 = await kdfRk(p, s.rootKey, dhReceive);
    created.push(step1.rootKey, step1.chainKey);
    const adv = await advance(p, step1.chainKey, 0, header.messageNumber, header.ratchetKey);
    createdSkipped.push(...adv.skipped);
    created.push(adv.messageKey, adv.chainKey);
    if (trace) {
      trace('previousChainSkippedKeys', createdSkipped.length - adv.skipped.length);
      trace('dhReceive', dhReceive);
      trace('rootKeyBefore', s.rootKey);
      trace('rootKeyAfterReceive', step1.rootKey);
      trace('receivingChainKey', step1.chainKey);
      trace('skippedKeys', adv.skipped.length);
      trace('messageKey', adv.messageKey);
      trace('nextChainKey', adv.chainKey);
    }
    const plaintext = await open(p, adv.messageKey, message.ciphertext, ad, trace);

    // Authenticated: the header is genuine. Start our next sending chain.
    const ratchetKeyPair: KeyPair = await p.x25519.generateKeyPair();
    const dhSend = await p.x25519.sharedSecret(ratchetKeyPair.privateKey, header.ratchetKey);
    const step2 = await kdfRk(p, step1.rootKey, dhSend);
    if (trace) {
      trace('newRatchetPrivateKey', ratchetKeyPair.privateKey);
      trace('newRatchetPublicKey', ratchetKeyPair.publicKey);
      trace('dhSend', dhSend);
      trace('rootKeyAfterSend', step2.rootKey);
      trace('sendingChainKey', step2.chainKey);
    }
    wipe(dhSend);

    const closed: ReceivingChain[] = s.receiving.map((c, i) =>
      i === 0 && c.chainKey !== undefined
        ? { ratchetKey: c.ratchetKey, index: Math.max(c.index, header.previousChainLength) }
        : c,
    );
    const receiving: ReceivingChain[] = [
      { ratchetKey: header.ratchetKey, chainKey: adv.chainKey, index: header.messageNumber + 1 },
      ...closed,
    ].slice(0, V2_MAX_RECEIVING_CHAINS);
    let skipped = appendSkipped(s.skipped, createdSkipped);
    if (receiving.length < closed.length + 1) {
      // The oldest chain was dropped: its skipped keys go with it.
      const droppedKey = closed[closed.length - 1]!.ratchetKey;
      const fresh = new Set(createdSkipped);
      skipped = skipped.filter((k) => {
        if (!equalBytes(k.ratchetKey, droppedKey)) return true;
        if (fresh.has(k)) wipe(k.messageKey);
        return false;
      });
    }
    // Everything created is now either stored or wiped below; keep the stored ones.
    wipe(dhReceive, step1.rootKey, step1.chainKey, adv.messageKey);
    const state: SessionState = {
      ...answered(s),
      rootKey: step2.rootKey,
      sending: { ratchetKeyPair, chainKey: step2.chainKey, index: 0 },
      previousSendingLength: s.sending.index,
      receiving,
      skipped,
      recentDigests: withDigest(s.recentDigests, digest),
    };
    return { state, plaintext };
  } catch (e) {
    wipe(...created);
    wipeSkipped(createdSkipped);
    throw e;
  }
}
